"""Rows into records by column label: one checked way to build a record from a query's row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

R = TypeVar("R")

# (record class, row labels, extra names) already found to fit: checked once, not per row.
_FITS: set[tuple[type[Any], tuple[str, ...], tuple[str, ...]]] = set()


def record(cls: type[R], row: Mapping[Any, Any], **extra: Any) -> R:
    """`cls` (a dataclass) from a row keyed by column label, plus `extra` fields not read from it.

    The labels and `extra` must name every field of `cls` exactly once: a missing or an unexpected
    label raises TypeError, so a SELECT whose columns change fails loudly instead of filling
    fields in the wrong order (as `cls(*row)` would) or leaving a default in place.
    """
    key = (cls, tuple(row), tuple(extra))
    if key not in _FITS:
        _check(cls, key[1], key[2])
        _FITS.add(key)
    return cls(**row, **extra)


def _check(cls: type[Any], labels: tuple[str, ...], extra: tuple[str, ...]) -> None:
    wanted = {field.name for field in fields(cls)}
    given = [*labels, *extra]
    twice = sorted({name for name in given if given.count(name) > 1})
    missing = sorted(wanted - set(given))
    unexpected = sorted(set(given) - wanted)
    if twice or missing or unexpected:
        raise TypeError(
            f"{cls.__name__} from labels {list(labels)} and {list(extra)}: "
            f"missing {missing}, unexpected {unexpected}, given twice {twice}"
        )
