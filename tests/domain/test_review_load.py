"""The daily review cap, most overdue first, and a snooze shifting the reviews it held."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.review_load import DueCard, shift_for_snooze, todays_reviews

NOW = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
DAY = timedelta(days=1)


def test_at_most_the_daily_cap_most_overdue_first_ties_by_id() -> None:
    cards = [
        DueCard(5, NOW - DAY),
        DueCard(2, NOW - 3 * DAY),
        DueCard(9, NOW - 3 * DAY),
        DueCard(1, NOW),  # due exactly now: due
        DueCard(3, NOW + timedelta(seconds=1)),  # not yet
        DueCard(4, NOW - 2 * DAY),
    ]
    assert [c.id for c in todays_reviews(cards, now=NOW, per_day=3)] == [2, 9, 4]
    assert [c.id for c in todays_reviews(reversed(cards), now=NOW, per_day=3)] == [2, 9, 4]
    assert [c.id for c in todays_reviews(cards, now=NOW, per_day=10)] == [2, 9, 4, 5, 1]


def test_reviews_already_sent_today_count_against_the_cap() -> None:
    cards = [DueCard(n, NOW - n * DAY) for n in range(1, 6)]
    assert [c.id for c in todays_reviews(cards, now=NOW, per_day=3, sent_today=2)] == [5]
    assert todays_reviews(cards, now=NOW, per_day=3, sent_today=3) == ()
    assert todays_reviews(cards, now=NOW, per_day=3, sent_today=7) == ()
    assert todays_reviews(cards, now=NOW, per_day=0) == ()
    assert todays_reviews([], now=NOW, per_day=3) == ()


def test_a_snooze_shifts_the_reviews_it_held_by_its_length() -> None:
    start, end = NOW, NOW + 7 * DAY
    wednesday, thursday = start + 2 * DAY, start + 3 * DAY

    def shift(due: datetime, until: datetime = end) -> datetime:
        return shift_for_snooze(due, snooze_start=start, snooze_end=until)

    assert shift(wednesday) == wednesday + 7 * DAY
    assert shift(thursday) - shift(wednesday) == DAY  # the spacing between cards is kept
    assert shift(start) == start + 7 * DAY
    assert shift(start - timedelta(seconds=1)) == start - timedelta(seconds=1)  # due before
    assert shift(end) == end  # due when it ends: not held
    assert shift(end + DAY) == end + DAY
    # Resumed after three days: shifted by the three days really snoozed.
    assert shift(start + DAY, until=start + 3 * DAY) == start + 4 * DAY
    assert shift(shift(wednesday)) == shift(wednesday)  # applying it twice changes nothing
    assert shift(wednesday, until=start) == wednesday  # an empty snooze holds nothing
