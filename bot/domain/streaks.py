"""Streaks: a learner's run of scheduled days with a lesson done, and their best run ever."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.domain.schedule import EVERY_DAY, Days

# Day counting runs on proleptic ordinals (`date.toordinal`), never on datetimes: a local date
# has no DST, so a streak cannot gain or lose a day at a clock change. Ordinal 1 (1 Jan of year
# 1) is a Monday, so `(ordinal - 1) % 7` is the weekday and `(ordinal - 1) // 7` the week.


@dataclass(frozen=True)
class Streak:
    """The current run (0 when broken) and the longest run so far, in scheduled days."""

    current: int
    best: int


def learning_days(drips: Iterable[Days]) -> frozenset[int]:
    """Weekdays (0 = Monday) on which any of the learner's drips delivers; every day if none."""
    union: frozenset[int] = frozenset()
    for days in drips:
        union |= days.days
    return union or EVERY_DAY


def local_dates(instants: Iterable[datetime], tz: ZoneInfo) -> frozenset[date]:
    """The learner's local calendar dates of the given timezone-aware instants."""
    found: set[date] = set()
    for instant in instants:
        if instant.tzinfo is None:
            raise ValueError("instants must be timezone-aware")
        found.add(instant.astimezone(tz).date())
    return frozenset(found)


def streak(done: Iterable[date], drips: Iterable[Days], *, today: date) -> Streak:
    """Current and best runs of consecutive learning days with a lesson done, up to `today`.

    A learning day is one on which any drip delivers (every day for a learner without a drip).
    Other days neither count nor break a run; a lesson done on them is not counted. Today not
    done yet leaves a run that reached the previous learning day alive; dates after `today`
    are ignored.
    """
    weekdays = learning_days(drips)
    ranks = sorted(
        {_rank(day, weekdays) for day in done if day <= today and day.weekday() in weekdays}
    )
    best, run, previous = 0, 0, None
    for rank in ranks:
        run = run + 1 if previous is not None and rank == previous + 1 else 1
        best, previous = max(best, run), rank
    alive_until = _rank(today, weekdays)
    if today.weekday() in weekdays and (previous is None or previous < alive_until):
        alive_until -= 1  # today is a learning day not done yet: yesterday's run still counts
    current = run if previous is not None and previous == alive_until else 0
    return Streak(current=current, best=best)


def _rank(day: date, weekdays: frozenset[int]) -> int:
    """How many learning days there are from the calendar's start up to and including `day`."""
    ordinal = day.toordinal() - 1
    weeks, weekday = divmod(ordinal, 7)
    return weeks * len(weekdays) + sum(1 for d in weekdays if d <= weekday)
