"""Periods in a person's own calendar (a week, a month, a run of days) as UTC instants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.schedule import local_instant


@dataclass(frozen=True)
class Window:
    """From `start` (inclusive) to `end` (exclusive); None leaves that side open."""

    start: datetime | None = None
    end: datetime | None = None

    def __contains__(self, instant: object) -> bool:
        if not isinstance(instant, datetime):
            return False
        return (self.start is None or self.start <= instant) and (
            self.end is None or instant < self.end
        )


def local_days(first: date, end: date, tz: ZoneInfo) -> Window:
    """Local days `first` up to but not including `end`: local midnight to local midnight.

    Where a clock change skips midnight, the day starts at its first existing instant.
    """
    return Window(local_instant(first, time(0, 0), tz), local_instant(end, time(0, 0), tz))


def week_of(now: datetime, tz: ZoneInfo) -> Window:
    """The ISO week (Monday to Sunday) holding `now` in `tz`."""
    monday = _local_date(now, tz) - timedelta(days=now.astimezone(tz).weekday())
    return local_days(monday, monday + timedelta(days=7), tz)


def month_of(now: datetime, tz: ZoneInfo) -> Window:
    """The calendar month holding `now` in `tz`."""
    first = _local_date(now, tz).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return local_days(first, following, tz)


def _local_date(now: datetime, tz: ZoneInfo) -> date:
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    return now.astimezone(tz).date()
