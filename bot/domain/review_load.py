"""Review load: a few due cards a day, most overdue first, and due dates shifted by a snooze."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

DEFAULT_REVIEWS_PER_DAY = 3


@dataclass(frozen=True)
class DueCard:
    """A review card: a stable id (ties are broken by it) and when it falls due."""

    id: int
    due: datetime


def todays_reviews(
    cards: Iterable[DueCard], *, now: datetime, per_day: int, sent_today: int = 0
) -> tuple[DueCard, ...]:
    """Cards due by `now`, most overdue first (then by id), at most `per_day - sent_today`."""
    room = max(0, per_day - sent_today)
    due = sorted((card for card in cards if card.due <= now), key=lambda c: (c.due, c.id))
    return tuple(due[:room])


def shift_for_snooze(due: datetime, *, snooze_start: datetime, snooze_end: datetime) -> datetime:
    """`due` moved on by the snooze's length when it falls inside the snooze, else unchanged.

    Shifting by the time snoozed (not to the first slot after the snooze) keeps the intervals
    between the learner's cards: cards due on consecutive days of a holiday come back on
    consecutive days after it instead of all on the first morning back, where the daily cap
    would leave them overdue anyway. A card already due before the snooze keeps its due date and
    so comes first when the snooze ends. `snooze_end` is when the snooze really ended (a
    `/learn resume` ends it early); a shifted date lies at or after it, so applying the shift
    twice changes nothing. The caller snaps the result to the learner's slot, as for any due.
    """
    if snooze_end <= snooze_start:
        return due
    if snooze_start <= due < snooze_end:
        return due + (snooze_end - snooze_start)
    return due
