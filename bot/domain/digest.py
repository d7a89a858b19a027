"""The weekly digest's timing: the `MICROLEARN_DIGEST` setting, the next instant, the week key.

A digest covers whole local days: "this week" is the 7 days before the digest's local date
(Monday to Sunday for a Monday digest), the weeks before it likewise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.periods import Window, local_days
from bot.domain.schedule import DAY_NAMES, Days, next_slot, parse_time

SETTING = "MICROLEARN_DIGEST"
DEFAULT = "mon 09:00"
TREND_WEEKS = 8
_FORM = 'a day and a time like "mon 09:00", or "off"'
_CLOCK = re.compile(r"[0-9]{1,2}:[0-9]{2}")


@dataclass(frozen=True)
class DigestTime:
    """When digests go out: a weekday (0 = Monday) at a local time."""

    weekday: int
    at: time

    def describe(self) -> str:
        return f"{DAY_NAMES[self.weekday]} {self.at:%H:%M}"


def parse_digest(text: str) -> DigestTime | None:
    """`mon 09:00` (any day name, HH:MM) → DigestTime; `off` → None; else ValueError saying why."""
    words = text.split()
    if len(words) == 1 and words[0].lower() == "off":
        return None
    if len(words) != 2:
        raise ValueError(f"{SETTING} must be {_FORM}, got {text!r}")
    day_word, time_word = words
    try:
        days = Days.parse(day_word)
    except ValueError:
        raise ValueError(
            f"{SETTING} must start with a day (mon, tue, wed, thu, fri, sat or sun), "
            f"got {day_word!r} in {text!r}"
        ) from None
    if len(days.days) != 1:
        raise ValueError(f"{SETTING} takes one day a week, got {day_word!r} in {text!r}")
    at = _clock(time_word)
    if at is None:
        raise ValueError(
            f"{SETTING} needs a 24-hour time like 09:00, got {time_word!r} in {text!r}"
        )
    (weekday,) = days.days
    return DigestTime(weekday=weekday, at=at)


def _clock(word: str) -> time | None:
    """`HH:MM` on the 24-hour clock (`9:00` too), or None."""
    if not _CLOCK.fullmatch(word):
        return None
    try:
        return parse_time(word)
    except ValueError:
        return None


def next_digest(setting: DigestTime, tz: ZoneInfo, *, after: datetime) -> datetime:
    """The first digest instant strictly after `after`, in the lead's zone (DST-safe)."""
    return next_slot(Days(frozenset({setting.weekday})), setting.at, tz, after=after)


def week_key(digest_at: datetime, tz: ZoneInfo) -> str:
    """`YYYY-MM-DD`, the digest's local date: with the lead, its exactly-once key for the week."""
    return digest_at.astimezone(tz).date().isoformat()


def digest_weeks(digest_at: datetime, tz: ZoneInfo, *, count: int = TREND_WEEKS) -> list[Window]:
    """The `count` whole local weeks before the digest's date, oldest first, this week last."""
    end = digest_at.astimezone(tz).date()
    return [_week_ending(end - timedelta(days=7 * back), tz) for back in reversed(range(count))]


def _week_ending(end: date, tz: ZoneInfo) -> Window:
    return local_days(end - timedelta(days=7), end, tz)
