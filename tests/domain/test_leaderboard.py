"""Leaderboard periods in the viewer's calendar, shared ranks, the viewer's place, hidden people."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.leaderboard import Board, Period, Place, Score, leaderboard, period_window
from bot.domain.periods import Window, local_days


def utc(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_the_week_is_the_iso_week_in_the_viewers_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    week = period_window(Period.WEEK, now=utc(11, 25, 10), tz=berlin)  # a Wednesday
    assert week == Window(utc(11, 22, 23), utc(11, 29, 23))  # Monday 00:00 CET to Monday
    # 20:00 UTC on Sunday is already Monday 01:30 in Kolkata: a new week there.
    kolkata = period_window(Period.WEEK, now=utc(11, 29, 20), tz=ZoneInfo("Asia/Kolkata"))
    assert kolkata == Window(utc(11, 29, 18, 30), utc(12, 6, 18, 30))
    assert utc(11, 29, 20) in kolkata and utc(11, 29, 18, 29) not in kolkata
    # The week Berlin springs forward has 167 hours.
    spring = period_window(Period.WEEK, now=utc(3, 25, 12), tz=berlin)
    assert spring == Window(utc(3, 22, 23), utc(3, 29, 22))
    assert spring.start and spring.end and spring.end - spring.start == timedelta(hours=167)


def test_the_month_and_all_time() -> None:
    new_york = ZoneInfo("America/New_York")
    november = period_window(Period.MONTH, now=utc(11, 15, 12), tz=new_york)
    assert november == Window(utc(11, 1, 4), utc(12, 1, 5))  # EDT in, EST out
    # 1 January 03:00 UTC is still New Year's Eve in New York: December's board.
    december = period_window(Period.MONTH, now=utc(1, 1, 3, year=2027), tz=new_york)
    assert december == Window(utc(12, 1, 5), utc(1, 1, 5, year=2027))
    everything = period_window(Period.ALL, now=utc(11, 15), tz=new_york)
    assert everything == Window() and utc(1, 1, year=2001) in everything


def test_a_day_whose_midnight_is_skipped_starts_at_its_first_instant() -> None:
    # Beirut springs forward at midnight on 29 March 2026: that day starts at 01:00 local.
    beirut = local_days(date(2026, 3, 29), date(2026, 3, 30), ZoneInfo("Asia/Beirut"))
    assert beirut == Window(utc(3, 28, 22), utc(3, 29, 21))


def test_equal_points_share_a_rank_listed_by_user_id() -> None:
    scores = [Score("U4", 20), Score("U3", 30), Score("U1", 50), Score("U2", 30), Score("U5", 0)]
    board = leaderboard(scores, viewer="U4")
    assert board == Board(
        top=(Place(1, "U1", 50), Place(2, "U2", 30), Place(2, "U3", 30), Place(4, "U4", 20)),
        you=Place(4, "U4", 20),
        ranked=4,  # U5 has no points this period
    )
    assert leaderboard(reversed(scores), viewer="U4") == board
    assert leaderboard(scores, viewer="U5").you is None


def test_top_ten_exactly_and_the_viewer_far_below() -> None:
    scores = [Score(f"U{n:02}", 100 - n) for n in range(20)]
    scores += [Score("U98", 91), Score("U99", 91)]  # tie with U09 for 10th place
    board = leaderboard(scores, viewer="U15")
    assert [p.user_id for p in board.top] == [f"U{n:02}" for n in range(10)]
    assert board.top[-1] == Place(10, "U09", 91)
    assert board.you == Place(18, "U15", 85)  # 10 above 91, plus the two at 91, …
    assert board.ranked == 22


def test_hidden_people_are_neither_listed_nor_counted() -> None:
    scores = [
        Score("U1", 90, hidden=True),
        Score("U2", 80),
        Score("U3", 70, hidden=True),
        Score("U4", 60),
    ]
    board = leaderboard(scores, viewer="U4")
    assert board.top == (Place(1, "U2", 80), Place(2, "U4", 60))
    assert board.you == Place(2, "U4", 60) and board.ranked == 2
    # A hidden viewer sees where they would stand among the visible people, and is not listed.
    hidden = leaderboard(scores, viewer="U3")
    assert hidden.you == Place(2, "U3", 70)
    assert "U3" not in {p.user_id for p in hidden.top}
    assert leaderboard([], viewer="U1") == Board(top=(), you=None, ranked=0)


def test_one_score_per_person() -> None:
    with pytest.raises(ValueError, match="one score per person"):
        leaderboard([Score("U1", 5), Score("U1", 7)], viewer="U1")
