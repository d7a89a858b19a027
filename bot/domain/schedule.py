"""Drip schedules: which days, what local time, and the next instant that matches, across DST."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))
DEFAULT_AT = time(9, 30)
MAX_START_AHEAD = timedelta(days=366)  # a drip starts within a year, or it is a typo


class TargetKind(StrEnum):
    CHANNEL = "channel"  # post in the channel
    USER = "user"  # DM the person
    USERGROUP = "usergroup"  # DM each member of the user group
    MEMBERS = "members"  # DM each member of the channel


@dataclass(frozen=True)
class Target:
    """A target as typed: the Slack id when the mention carried one, else only the name."""

    kind: TargetKind
    id: str | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.id is None and not self.name:
            raise ValueError("a target needs an id or a name")

    def describe(self) -> str:
        """How Slack shows it: `<#C1>`, `<@U1>`, `<!subteam^S1>`, `members of <#C1>`."""
        if self.id is None:
            mark = "@" if self.kind in (TargetKind.USER, TargetKind.USERGROUP) else "#"
            text = f"{mark}{self.name}"
        elif self.kind is TargetKind.USER:
            text = f"<@{self.id}>"
        elif self.kind is TargetKind.USERGROUP:
            text = f"<!subteam^{self.id}>"
        else:
            text = f"<#{self.id}>"
        return f"members of {text}" if self.kind is TargetKind.MEMBERS else text


@dataclass(frozen=True)
class Days:
    """A set of weekdays, 0 = Monday."""

    days: frozenset[int] = WEEKDAYS

    def __post_init__(self) -> None:
        if not self.days or not self.days <= EVERY_DAY:
            raise ValueError("days must be a non-empty set of 0..6")

    @classmethod
    def parse(cls, text: str) -> Days:
        """`day`/`daily`, `weekday(s)`, `weekend(s)`, or a list like `mon,wed,fri`."""
        word = text.strip().lower()
        if word in ("day", "days", "daily", "everyday", "every day"):
            return cls(EVERY_DAY)
        if word in ("weekday", "weekdays"):
            return cls(WEEKDAYS)
        if word in ("weekend", "weekends"):
            return cls(frozenset({5, 6}))
        chosen: set[int] = set()
        for part in word.replace(" ", ",").split(","):
            if not part:
                continue
            first, dash, last = part.partition("-")
            start = _day_index(first)
            end = _day_index(last) if dash else start
            span = (end - start) % 7
            chosen.update((start + offset) % 7 for offset in range(span + 1))
        if not chosen:
            raise ValueError("no days given")
        return cls(frozenset(chosen))

    def encode(self) -> str:
        """Stored form: `mon,tue,wed`."""
        return ",".join(DAY_NAMES[d] for d in sorted(self.days))

    @classmethod
    def decode(cls, text: str) -> Days:
        return cls(frozenset(DAY_NAMES.index(name) for name in text.split(",") if name))

    def describe(self) -> str:
        if self.days == EVERY_DAY:
            return "every day"
        if self.days == WEEKDAYS:
            return "weekdays"
        return ", ".join(_full_day_name(d).capitalize() for d in sorted(self.days))


_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _full_day_name(index: int) -> str:
    return _FULL_NAMES[index]


def _day_index(word: str) -> int:
    """`mo`, `mon`, `monday` → 0; anything else is an error."""
    word = word.strip().rstrip("s") if word.endswith("days") else word.strip()
    matches = [i for i, name in enumerate(_FULL_NAMES) if len(word) >= 2 and name.startswith(word)]
    if len(matches) != 1:
        raise ValueError(f"{word!r} is not a day (use mon, tue, wed, thu, fri, sat, sun)")
    return matches[0]


def parse_time(text: str) -> time:
    """`HH:MM` (24-hour), also `9:30`, `9am`, `5:15pm`."""
    raw = text.strip().lower().replace(".", ":")
    suffix = ""
    if raw.endswith(("am", "pm")):
        raw, suffix = raw[:-2].strip(), raw[-2:]
    hours, _, minutes = raw.partition(":")
    if not _CLOCK_HOURS.fullmatch(hours) or not _CLOCK_MINUTES.fullmatch(minutes):
        raise ValueError(f"{text!r} is not a time like 09:30")
    hour, minute = int(hours), int(minutes or 0)
    if suffix:
        if not 1 <= hour <= 12:
            raise ValueError(f"{text!r} is not a time like 09:30")
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"{text!r} is not a time like 09:30")
    return time(hour, minute)


_CLOCK_HOURS = re.compile(r"[0-9]{1,2}")
_CLOCK_MINUTES = re.compile(r"([0-9]{2})?")


def stored_days(text: str | None) -> Days | None:
    """Days as stored, or None when there are none or they no longer read as days."""
    try:
        return Days.decode(text) if text else None
    except ValueError:
        return None


def stored_time(text: str | None) -> time | None:
    """A time as stored, or None when there is none or it no longer reads as a time."""
    try:
        return parse_time(text) if text else None
    except ValueError:
        return None


def zone(name: str) -> ZoneInfo:
    """An IANA zone; unknown or empty names fall back to UTC rather than failing a delivery."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """`day` at `at` in `tz`, as UTC.

    In the spring gap the wall time does not exist: it moves forward by the gap (02:30 → 03:30).
    In the autumn repeat it exists twice: the first occurrence is used, so it happens once.
    """
    wall = datetime.combine(day, at).replace(tzinfo=tz, fold=0)
    return wall.astimezone(UTC)


def next_slot(
    days: Days, at: time, tz: ZoneInfo, *, after: datetime, start_on: date | None = None
) -> datetime:
    """The first instant strictly after `after` that falls on `days` at `at` local time."""
    if after.tzinfo is None:
        raise ValueError("`after` must be timezone-aware")
    day = after.astimezone(tz).date()
    if start_on is not None and start_on > day:
        day = start_on
    for _ in range(15):
        if day.weekday() in days.days:
            instant = local_instant(day, at, tz)
            if instant > after:
                return instant
        day += timedelta(days=1)
    raise AssertionError("a non-empty set of weekdays always matches within 15 days")
