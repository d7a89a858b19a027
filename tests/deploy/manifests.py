"""The deploy/ files as data: YAML documents, Dockerfile stages, and the .dockerignore rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dockerfile
import yaml

from tests.support.process import ROOT

DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERIGNORE = ROOT / ".dockerignore"

JSON = dict[str, Any]


def yaml_documents(path: Path) -> list[JSON]:
    """Every non-empty YAML document in `path`."""
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def yaml_document(path: Path) -> JSON:
    (document,) = yaml_documents(path)
    return document


# -- Dockerfile --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    command: str  # FROM, RUN, COPY … in upper case
    arguments: tuple[str, ...]  # as Docker's own parser splits them (JSON form: the list)
    flags: tuple[str, ...]  # --from=build, --interval=30s …
    json_form: bool
    line: int


@dataclass(frozen=True)
class Stage:
    base: str  # the image, with ARG defaults filled in
    name: str | None
    instructions: tuple[Instruction, ...]

    def all(self, command: str) -> list[Instruction]:
        return [item for item in self.instructions if item.command == command]

    def last(self, command: str) -> Instruction | None:
        found = self.all(command)
        return found[-1] if found else None


def dockerfile_stages(path: Path = DOCKERFILE) -> list[Stage]:
    """The Dockerfile's stages, parsed by BuildKit's own parser (the `dockerfile` package)."""
    parsed = [
        Instruction(
            command=item.cmd.upper(),
            arguments=tuple(item.value),
            flags=tuple(item.flags),
            json_form=item.json,
            line=item.start_line,
        )
        for item in dockerfile.parse_file(str(path))
    ]
    defaults: dict[str, str] = {}
    stages: list[tuple[str, str | None, list[Instruction]]] = []
    for item in parsed:
        if item.command == "FROM":
            image, *rest = item.arguments
            name = rest[1] if len(rest) == 2 and rest[0].upper() == "AS" else None
            stages.append((_expand(image, defaults), name, []))
        elif not stages and item.command == "ARG":
            for argument in item.arguments:
                key, _, value = argument.partition("=")
                defaults[key] = value
        elif stages:
            stages[-1][2].append(item)
    return [Stage(base, name, tuple(items)) for base, name, items in stages]


def _expand(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda match: values.get(match.group(1), ""), text)


# -- .dockerignore -----------------------------------------------------------------------------


def dockerignore_rules(path: Path = DOCKERIGNORE) -> list[tuple[bool, re.Pattern[str]]]:
    """(excludes?, pattern) per line, in order, the way Docker reads .dockerignore."""
    rules = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        pattern = line[1:].strip() if exception else line
        rules.append((not exception, _pattern(pattern.strip("/"))))
    return rules


def _pattern(glob: str) -> re.Pattern[str]:
    """Docker's pattern syntax: `**` any number of folders, `*` and `?` within one name."""
    out = ""
    index = 0
    while index < len(glob):
        if glob.startswith("**/", index):
            out, index = out + "(?:.*/)?", index + 3
        elif glob.startswith("**", index):
            out, index = out + ".*", index + 2
        elif glob[index] == "*":
            out, index = out + "[^/]*", index + 1
        elif glob[index] == "?":
            out, index = out + "[^/]", index + 1
        elif glob[index] == "[":
            end = glob.index("]", index)
            out, index = out + glob[index : end + 1], end + 1
        else:
            out, index = out + re.escape(glob[index]), index + 1
    return re.compile(out)


def in_build_context(relative: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether a file (path relative to the context, with /) is sent to the builder.

    The last rule that matches the path or one of its parent folders decides.
    """
    parts = relative.split("/")
    candidates = ["/".join(parts[: depth + 1]) for depth in range(len(parts))]
    included = True
    for excludes, pattern in rules:
        if any(pattern.fullmatch(candidate) for candidate in candidates):
            included = not excludes
    return included
