"""Streaks: runs of learning days with a lesson done, skipped days neither counting nor breaking."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.schedule import EVERY_DAY, Days
from bot.domain.streaks import Streak, learning_days, local_dates, streak

WEEKDAYS = Days()
MON = date(2026, 3, 2)  # a Monday


def days_from(start: date, *offsets: int) -> set[date]:
    return {start + timedelta(days=offset) for offset in offsets}


def test_a_weekend_neither_breaks_nor_counts_and_today_not_done_keeps_the_run() -> None:
    week = days_from(MON, 0, 1, 2, 3, 4)
    next_monday = MON + timedelta(days=7)
    assert streak(week, [WEEKDAYS], today=MON + timedelta(days=5)) == Streak(5, 5)  # Saturday
    assert streak(week, [WEEKDAYS], today=next_monday) == Streak(5, 5)  # not done yet
    assert streak(week | {next_monday}, [WEEKDAYS], today=next_monday) == Streak(6, 6)


def test_a_missed_learning_day_breaks_the_run_once_it_is_over() -> None:
    done = days_from(MON, 0, 1, 3)  # Wednesday missed
    assert streak(done, [WEEKDAYS], today=MON + timedelta(days=3)) == Streak(1, 2)
    # Friday not done, then the weekend: the run through Thursday is alive until Friday ends.
    assert streak(done, [WEEKDAYS], today=MON + timedelta(days=4)) == Streak(1, 2)
    assert streak(done, [WEEKDAYS], today=MON + timedelta(days=7)) == Streak(0, 2)


def test_a_lesson_on_a_skipped_day_does_not_count() -> None:
    saturday = MON + timedelta(days=5)
    assert streak({saturday}, [WEEKDAYS], today=saturday) == Streak(0, 0)
    assert streak({saturday}, [Days(EVERY_DAY)], today=saturday) == Streak(1, 1)


def test_several_drips_schedule_the_union_of_their_days() -> None:
    mon_wed, tue = Days.parse("mon,wed"), Days.parse("tue")
    assert learning_days([mon_wed, tue]) == frozenset({0, 1, 2})
    done = days_from(MON, 0, 1, 2, 7)  # Mon Tue Wed, then next Monday
    today = MON + timedelta(days=7)
    assert streak(done, [mon_wed, tue], today=today) == Streak(4, 4)
    # With the Tuesday drip alone, only the Tuesday counts, and next Tuesday is still ahead.
    assert streak(done, [tue], today=today) == Streak(1, 1)


def test_no_drip_means_every_day_is_a_learning_day() -> None:
    assert learning_days([]) == EVERY_DAY
    done = days_from(MON, 4, 5, 6)  # Friday to Sunday
    assert streak(done, [], today=MON + timedelta(days=6)) == Streak(3, 3)


def test_best_outlives_the_current_run_and_future_dates_are_ignored() -> None:
    done = days_from(MON, 0, 1, 2, 3, 4, 7, 14, 15, 30)
    assert streak(done, [WEEKDAYS], today=MON + timedelta(days=15)) == Streak(2, 6)
    assert streak(set(), [WEEKDAYS], today=MON) == Streak(0, 0)


def test_runs_cross_the_year_end_and_a_leap_day() -> None:
    new_year = days_from(date(2026, 12, 28), 0, 1, 2, 3, 4, 7)  # Mon 28 Dec … Mon 4 Jan
    assert streak(new_year, [WEEKDAYS], today=date(2027, 1, 4)) == Streak(6, 6)
    leap = days_from(date(2028, 2, 27), 0, 1, 2, 3)  # 27, 28, 29 Feb, 1 Mar 2028
    assert streak(leap, [Days(EVERY_DAY)], today=date(2028, 3, 1)) == Streak(4, 4)


def test_completion_instants_become_the_learners_local_dates() -> None:
    kolkata, berlin = ZoneInfo("Asia/Kolkata"), ZoneInfo("Europe/Berlin")
    late = datetime(2026, 3, 1, 19, 0, tzinfo=UTC)  # 00:30 on 2 March in Kolkata
    assert local_dates([late], kolkata) == {date(2026, 3, 2)}
    # Berlin springs forward on 29 March 2026: 23:30 local either side is still its own date.
    before = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)  # 23:30 CET on 28 March
    after = datetime(2026, 3, 29, 21, 30, tzinfo=UTC)  # 23:30 CEST on 29 March
    dates = local_dates([before, after], berlin)
    assert dates == {date(2026, 3, 28), date(2026, 3, 29)}
    assert streak(dates, [Days(EVERY_DAY)], today=date(2026, 3, 30)) == Streak(2, 2)


def naive(done: set[date], weekdays: frozenset[int], today: date) -> Streak:
    """Day by day from the first date: the rules read literally."""
    best = run = 0
    day = min(done, default=today)
    while day <= today:
        if day.weekday() in weekdays:
            if day in done:
                run += 1
            elif day != today:
                run = 0
        best = max(best, run)
        day += timedelta(days=1)
    return Streak(run, best)


@given(
    offsets=st.sets(st.integers(min_value=0, max_value=60), max_size=40),
    weekdays=st.frozensets(st.integers(min_value=0, max_value=6), min_size=1),
    today_offset=st.integers(min_value=0, max_value=70),
)
def test_agrees_with_counting_day_by_day(
    offsets: set[int], weekdays: frozenset[int], today_offset: int
) -> None:
    start = date(2026, 1, 1)
    done = {start + timedelta(days=o) for o in offsets}
    today = start + timedelta(days=today_offset)
    relevant = {d for d in done if d <= today}
    assert streak(done, [Days(weekdays)], today=today) == naive(relevant, weekdays, today)
