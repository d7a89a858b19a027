"""YAML to plain values, remembering the line each key and list item was written on."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml

Path = tuple[str | int, ...]


class YamlProblem(Exception):
    """Unreadable YAML; `line` is 1-based within the parsed text."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class Located:
    """A parsed document and the line of every key and list item in it."""

    value: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line(self, *path: str | int) -> int:
        """The line of `path`, or of its nearest ancestor that has one."""
        key = tuple(path)
        while key and key not in self.lines:
            key = key[:-1]
        return self.lines.get(key, 1)


def load(text: str) -> Located:
    """Parse one YAML document; raise YamlProblem with a line on malformed input."""
    parsed = _parse(text)
    return Located(copy.deepcopy(parsed.value), dict(parsed.lines))


@lru_cache(maxsize=512)
def _parse(text: str) -> Located:
    """`load`, remembered by text: PyYAML's parser (pure Python, for the lines) takes ~7 ms a
    lesson, and a process reads the same lessons again (the test suite, in every test that
    copies the lessons folder; the sandbox, at every edit of one lesson)."""
    try:
        loader = yaml.SafeLoader(text)  # refuses control characters before parsing anything
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        character = f"U+{error.character:04X}" if isinstance(error.character, int) else "a byte"
        raise YamlProblem(line, f"unreadable YAML: {character} is not allowed") from error
    try:
        node = loader.get_single_node()
        if node is None:
            return Located(None)
        located = Located(None)
        located.value = _convert(loader, node, (), located.lines)
        return located
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = " ".join((error.problem or "malformed YAML").split())
        raise YamlProblem(line, f"unreadable YAML: {problem}") from error
    except yaml.YAMLError as error:
        raise YamlProblem(1, f"unreadable YAML: {' '.join(str(error).split())}") from error
    finally:
        loader.dispose()


def _convert(loader: yaml.SafeLoader, node: yaml.Node, path: Path, lines: dict[Path, int]) -> Any:
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) or key is None:
                raise YamlProblem(key_node.start_mark.line + 1, "keys must be plain words")
            if key in result:
                raise YamlProblem(key_node.start_mark.line + 1, f"duplicate key {key!r}")
            child = (*path, str(key))
            lines[child] = key_node.start_mark.line + 1
            result[key] = _convert(loader, value_node, child, lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            items.append(_convert(loader, item, child, lines))
        return items
    return loader.construct_object(node, deep=True)
