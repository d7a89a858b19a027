"""Whole numbers that people type or click: ASCII digits only, of bounded length.

`str.isdigit` accepts superscripts (`²`), which `int` then rejects, and `int` accepts other
scripts' digits (`٣`): neither belongs in a command or a button value.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]{1,30}")


def whole_number(text: str) -> int | None:
    """The number written in `text` (ASCII digits, at most 30), or None."""
    return int(text) if _DIGITS.fullmatch(text) else None


def number_between(text: str, low: int, high: int) -> int | None:
    """The number in `text` when it lies in [low, high], else None."""
    number = whole_number(text)
    return number if number is not None and low <= number <= high else None
