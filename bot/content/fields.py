"""Front-matter fields read with their problems placed on their lines: text, choices, keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bot.content.yamlines import Located
from bot.domain.lesson import LessonFormat, MediaKind, QuestionKind, Source

E = TypeVar("E", LessonFormat, MediaKind, QuestionKind)


@dataclass(frozen=True, order=True)
class Problem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class Reporter:
    """Problems for one file, placed on the line of the key they are about."""

    def __init__(self, path: Path, problems: list[Problem], offset: int = 0) -> None:
        self.path = path
        self.problems = problems
        self.offset = offset
        self.doc = Located(None)
        self.count = 0

    def at(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))
        self.count += 1

    def key(self, path: tuple[str | int, ...], message: str) -> None:
        self.at(self.doc.line(*path) + self.offset, message)

    def source(self, *path: str | int) -> Source:
        return Source(self.path, self.doc.line(*path) + self.offset)


def unknown_keys(
    report: Reporter,
    data: dict[Any, Any],
    path: tuple[str | int, ...],
    allowed: set[str],
    what: str,
) -> None:
    for key in data:
        if key not in allowed:
            hint = closest(str(key), allowed)
            suggestion = f" (did you mean {hint!r}?)" if hint else ""
            keys = ", ".join(sorted(allowed))
            report.key((*path, str(key)), f"unknown key {key!r}{suggestion}; {what} takes {keys}")


def closest(word: str, candidates: set[str]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def text_field(
    report: Reporter,
    data: dict[str, Any],
    path: tuple[str | int, ...],
    *,
    required: bool = False,
    limit: int | None = None,
) -> str:
    name = str(path[-1])
    value = data.get(name)
    if value is None:
        if required:
            where = path[:-1] if name not in data else path
            report.key(where, f"missing {name!r}")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        report.key(path, f"{name!r} must be text")
        return ""
    text = str(value).strip()
    if required and not text:
        report.key(path, f"{name!r} is empty")
    if limit is not None and len(text) > limit:
        report.key(path, f"{name!r} is {len(text)} characters; at most {limit} fit")
    return text


def choice_field(
    report: Reporter,
    data: dict[str, Any],
    path: tuple[str | int, ...],
    kind: Callable[[str], E],
    default: E,
) -> E:
    name = str(path[-1])
    value = data.get(name)
    if value is None:
        return default
    try:
        return kind(str(value))
    except ValueError:
        choices = " | ".join(member.value for member in type(default))
        report.key(path, f"{name!r} must be one of {choices}, got {value!r}")
        return default
