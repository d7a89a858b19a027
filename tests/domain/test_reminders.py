"""Reminder timing in the learner's working hours, at most N, and auto-pause after N misses."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.domain.reminders import in_working_hours, next_reminder, should_pause
from bot.domain.schedule import EVERY_DAY, Days

BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")
WEEKDAYS = Days()


def berlin(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def reminders(
    delivered: datetime,
    *,
    hours: float = 24,
    limit: int = 2,
    tz: ZoneInfo = BERLIN,
    at: time = time(9, 30),
    days: Days = WEEKDAYS,
) -> list[datetime | None]:
    """Every reminder's due instant in the learner's zone, then what comes after the last."""
    found = [
        next_reminder(
            delivered_at=delivered.astimezone(UTC),
            hours=hours,
            limit=limit,
            sent=sent,
            tz=tz,
            at=at,
            days=days,
        )
        for sent in range(limit + 1)
    ]
    return [instant.astimezone(tz) if instant else None for instant in found]


def test_a_day_later_in_the_slot_at_most_n_times() -> None:
    monday = berlin(11, 23, 9, 30)
    assert reminders(monday) == [berlin(11, 24, 9, 30), berlin(11, 25, 9, 30), None]
    assert reminders(monday, limit=0) == [None]
    assert reminders(monday, limit=5)[4] == berlin(11, 30, 9, 30)  # Fri, then Mon after the weekend


def test_the_weekend_is_skipped_and_the_next_reminder_does_not_bunch_up() -> None:
    friday = berlin(11, 27, 9, 30)
    # Counted from delivery both would land on Monday 09:30; chained, they are a day apart.
    assert reminders(friday) == [berlin(11, 30, 9, 30), berlin(12, 1, 9, 30), None]


def test_decimal_hours_and_never_at_night() -> None:
    morning = berlin(11, 23, 9, 30)
    assert reminders(morning, hours=1.5, limit=1) == [berlin(11, 23, 11, 0), None]
    # 12 hours after a morning lesson is 21:30: night, so the next morning's slot.
    assert reminders(morning, hours=12, limit=1) == [berlin(11, 24, 9, 30), None]
    # 19:59 is still working time; 20:00 is not.
    assert reminders(berlin(11, 23, 18, 29), hours=1.5, limit=1)[0] == berlin(11, 23, 19, 59)
    assert reminders(berlin(11, 23, 18, 30), hours=1.5, limit=1)[0] == berlin(11, 24, 9, 30)


def test_not_before_the_slot_time() -> None:
    pulled_early = berlin(11, 23, 7, 0)  # a lesson pulled with /learn next before work
    assert reminders(pulled_early, hours=0.5, limit=1)[0] == berlin(11, 23, 9, 30)


def test_a_lesson_pulled_on_a_skipped_day_is_reminded_on_the_next_learning_day() -> None:
    saturday = berlin(11, 28, 10, 0)
    assert reminders(saturday, hours=2, limit=1)[0] == berlin(11, 30, 9, 30)


def test_a_learner_in_kolkata() -> None:
    ist = datetime(2026, 11, 23, 9, 0, tzinfo=KOLKATA)  # 03:30 UTC
    found = reminders(ist, hours=4, tz=KOLKATA, at=time(9, 0))
    assert found[0] == datetime(2026, 11, 23, 13, 0, tzinfo=KOLKATA)
    assert found[0] is not None and found[0].astimezone(UTC).time() == time(7, 30)
    assert found[1] == datetime(2026, 11, 23, 17, 0, tzinfo=KOLKATA)


def test_hours_are_real_hours_across_a_dst_change() -> None:
    # Berlin springs forward on Sunday 29 March 2026: 24 real hours after Saturday 09:30 CET
    # is Sunday 10:30 CEST, inside the window.
    saturday = berlin(3, 28, 9, 30)
    daily = Days(EVERY_DAY)
    assert reminders(saturday, limit=1, days=daily)[0] == berlin(3, 29, 10, 30)
    # Moved to the next morning, the window opens at the slot's local time, whatever the offset.
    assert reminders(berlin(3, 28, 19, 0), hours=1.5, limit=1, days=daily)[0] == berlin(
        3, 29, 9, 30
    )


def test_an_evening_slot_gets_one_hour_ending_by_midnight() -> None:
    evening = berlin(11, 23, 21, 0)
    late = time(21, 0)
    assert reminders(evening, hours=0.5, limit=1, at=late)[0] == berlin(11, 23, 21, 30)
    assert reminders(evening, hours=2, limit=1, at=late)[0] == berlin(11, 24, 21, 0)
    at = time(23, 30)
    inside = berlin(11, 23, 23, 45)
    assert in_working_hours(inside, tz=BERLIN, at=at, days=WEEKDAYS) == inside
    after_midnight = berlin(11, 24, 0, 5)
    assert in_working_hours(after_midnight, tz=BERLIN, at=at, days=WEEKDAYS) == berlin(
        11, 24, 23, 30
    )


def test_bad_arguments_are_refused() -> None:
    def remind(delivered_at: datetime, hours: float, sent: int = 0) -> datetime | None:
        return next_reminder(
            delivered_at=delivered_at,
            hours=hours,
            limit=2,
            sent=sent,
            tz=BERLIN,
            at=time(9, 30),
            days=WEEKDAYS,
        )

    with pytest.raises(ValueError, match="timezone-aware"):
        remind(datetime(2026, 11, 23, 9, 30), 24)  # noqa: DTZ001 - naive on purpose
    with pytest.raises(ValueError, match="positive"):
        remind(berlin(11, 23, 9), 0)
    with pytest.raises(ValueError, match="from 0"):
        remind(berlin(11, 23, 9), 24, sent=-1)


@pytest.mark.parametrize(
    ("answered", "after", "pause"),
    [
        ([True, False, False, False], 3, True),
        ([False, False, False, False, False], 3, True),  # checked late: still pauses
        ([False, False, True], 3, False),
        ([False, True, False, False], 3, False),
        ([False, False], 3, False),
        ([], 3, False),
        ([False], 1, True),
        ([False, False, False], 0, False),  # 0 turns it off
    ],
)
def test_auto_pause_after_n_unanswered_in_a_row(
    answered: list[bool], after: int, pause: bool
) -> None:
    assert should_pause(answered, after=after) is pause
