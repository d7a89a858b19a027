"""Reminders for an unanswered DM lesson, kept to working hours, and when to pause a learner.

The working window of a day the learner's drip delivers runs from their slot time to 20:00
local (evening starts at 20:00: no reminder at night). A learner whose slot is after 19:00 chose
the evening, so their window is the hour after their slot instead (ending at midnight at the
latest). Days the drip skips have no window at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.schedule import Days, local_instant

EVENING = time(20, 0)
LATE_SLOT = time(19, 0)  # a slot after this gets LATE_WINDOW instead of running to EVENING
LATE_WINDOW = timedelta(hours=1)
DEFAULT_REMIND_HOURS = 24.0
DEFAULT_REMINDERS = 2
DEFAULT_AUTO_PAUSE_AFTER = 3


def next_reminder(
    *,
    delivered_at: datetime,
    hours: float,
    limit: int,
    sent: int,
    tz: ZoneInfo,
    at: time,
    days: Days,
) -> datetime | None:
    """When reminder number `sent + 1` is due, or None when `limit` (0 = off) are sent already.

    Each reminder comes at the earliest `hours` after the previous one's due instant (the first
    `hours` after delivery), moved forward into the next working window. Chaining from the
    previous reminder, not from delivery, keeps a weekend-delayed reminder from bunching up
    with the next one. The result depends only on the arguments, so it is the same however
    often it is computed.
    """
    if delivered_at.tzinfo is None:
        raise ValueError("`delivered_at` must be timezone-aware")
    if not hours > 0:
        raise ValueError("reminders need a positive number of hours")
    if sent < 0:
        raise ValueError("`sent` counts reminders already sent, from 0")
    if sent >= limit:
        return None
    due = delivered_at
    for _ in range(sent + 1):
        due = in_working_hours(due + timedelta(hours=hours), tz=tz, at=at, days=days)
    return due


def in_working_hours(instant: datetime, *, tz: ZoneInfo, at: time, days: Days) -> datetime:
    """`instant` if it lies in a working window, else the start of the next window."""
    day = instant.astimezone(tz).date()  # a window never crosses midnight
    for _ in range(8):
        if day.weekday() in days.days:
            start, end = _window(day, tz=tz, at=at)
            if instant < start:
                return start
            if instant < end:
                return instant
        day += timedelta(days=1)
    raise AssertionError("a non-empty set of weekdays has a window within 8 days")


def _window(day: date, *, tz: ZoneInfo, at: time) -> tuple[datetime, datetime]:
    """`day`'s working window in UTC: slot time to 20:00, or an hour from a slot after 19:00."""
    start = local_instant(day, at, tz)
    if at <= LATE_SLOT:
        return start, local_instant(day, EVENING, tz)
    midnight = local_instant(day + timedelta(days=1), time(0, 0), tz)
    return start, min(start + LATE_WINDOW, midnight)


def should_pause(answered: Sequence[bool], *, after: int) -> bool:
    """Whether the last `after` lessons (oldest first; True = answered) all went unanswered.

    `after` = 0 turns auto-pause off. Pass only lessons delivered since the enrolment last
    started or resumed, each once its outcome is final, so a resumed learner starts afresh.
    """
    if after <= 0 or len(answered) < after:
        return False
    return not any(answered[-after:])
