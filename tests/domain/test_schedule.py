"""Next delivery instants: the learner's local time, across DST, on the chosen days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.schedule import EVERY_DAY, Days, local_instant, next_slot, parse_time

DAILY = Days(EVERY_DAY)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def slots(tz: str, at: str, start: datetime, count: int, days: Days = DAILY) -> list[datetime]:
    zone = ZoneInfo(tz)
    found: list[datetime] = []
    after = start
    for _ in range(count):
        after = next_slot(days, parse_time(at), zone, after=after)
        found.append(after)
    return found


def test_today_if_the_time_is_still_ahead_else_tomorrow() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    morning = utc(2026, 11, 25, 7, 0)  # 08:00 in Berlin
    assert next_slot(DAILY, time(9, 30), berlin, after=morning) == utc(2026, 11, 25, 8, 30)
    evening = utc(2026, 11, 25, 9, 0)  # 10:00 in Berlin
    assert next_slot(DAILY, time(9, 30), berlin, after=evening) == utc(2026, 11, 26, 8, 30)


def test_weekdays_skip_the_weekend() -> None:
    friday_evening = utc(2026, 11, 27, 18, 0)
    found = slots("Europe/Berlin", "09:30", friday_evening, 2, Days())
    assert [d.astimezone(ZoneInfo("Europe/Berlin")).strftime("%a %H:%M") for d in found] == [
        "Mon 09:30",
        "Tue 09:30",
    ]


def test_start_date_is_respected_in_the_learners_calendar() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    found = next_slot(DAILY, time(9, 0), tokyo, after=utc(2026, 11, 25), start_on=date(2026, 12, 1))
    assert found == utc(2026, 12, 1, 0, 0)  # 09:00 JST on 1 December


@pytest.mark.parametrize(
    ("tz", "at", "start", "expected_local"),
    [
        # Berlin: 29 March 2026 02:00 → 03:00. 02:30 does not exist that day: it moves forward.
        (
            "Europe/Berlin",
            "02:30",
            utc(2026, 3, 27, 12),
            ["03-28 02:30", "03-29 03:30", "03-30 02:30"],
        ),
        # Berlin: 25 October 2026 03:00 → 02:00. 02:30 happens twice: used once (the first).
        (
            "Europe/Berlin",
            "02:30",
            utc(2026, 10, 23, 12),
            ["10-24 02:30", "10-25 02:30", "10-26 02:30"],
        ),
        # New York: 8 March 2026 02:00 → 03:00, and 1 November 2026 02:00 → 01:00.
        (
            "America/New_York",
            "02:15",
            utc(2026, 3, 6, 12),
            ["03-07 02:15", "03-08 03:15", "03-09 02:15"],
        ),
        ("America/New_York", "01:30", utc(2026, 10, 31, 12), ["11-01 01:30", "11-02 01:30"]),
        # Lord Howe shifts by 30 minutes: 4 October 2026 02:00 → 02:30; 5 April 2026 02:00 → 01:30.
        (
            "Australia/Lord_Howe",
            "02:10",
            utc(2026, 10, 2),
            ["10-03 02:10", "10-04 02:40", "10-05 02:10"],
        ),
        (
            "Australia/Lord_Howe",
            "01:45",
            utc(2026, 4, 3),
            ["04-04 01:45", "04-05 01:45", "04-06 01:45"],
        ),
        # Kolkata (+05:30, no DST) and Chatham (+13:45 / +12:45) keep their odd offsets.
        ("Asia/Kolkata", "09:30", utc(2026, 11, 25), ["11-25 09:30", "11-26 09:30"]),
        (
            "Pacific/Chatham",
            "02:50",
            utc(2026, 9, 25),
            ["09-26 02:50", "09-27 03:50", "09-28 02:50"],
        ),
        (
            "Pacific/Chatham",
            "03:00",
            utc(2026, 4, 3),
            ["04-04 03:00", "04-05 03:00", "04-06 03:00"],
        ),
    ],
)
def test_dst_transitions(tz: str, at: str, start: datetime, expected_local: list[str]) -> None:
    found = slots(tz, at, start, len(expected_local))
    zone = ZoneInfo(tz)
    assert [d.astimezone(zone).strftime("%m-%d %H:%M") for d in found] == expected_local
    gaps = [b - a for a, b in zip(found, found[1:], strict=False)]
    assert all(timedelta(hours=22) <= gap <= timedelta(hours=26) for gap in gaps)  # one per day


def test_the_repeated_autumn_hour_is_the_first_occurrence() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    first = local_instant(date(2026, 10, 25), time(2, 30), berlin)
    assert first == utc(2026, 10, 25, 0, 30)  # 02:30 CEST, not 02:30 CET an hour later
    assert next_slot(DAILY, time(2, 30), berlin, after=first) == utc(2026, 10, 26, 1, 30)


def test_odd_offsets_land_on_the_local_time() -> None:
    assert local_instant(date(2026, 11, 25), time(9, 30), ZoneInfo("Asia/Kolkata")) == utc(
        2026, 11, 25, 4, 0
    )
    assert local_instant(date(2026, 11, 25), time(9, 30), ZoneInfo("Pacific/Chatham")) == utc(
        2026, 11, 24, 19, 45
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:30", time(9, 30)),
        ("9:05", time(9, 5)),
        ("17", time(17, 0)),
        ("9am", time(9, 0)),
        ("12am", time(0, 0)),
        ("5:15pm", time(17, 15)),
        ("23.45", time(23, 45)),
    ],
)
def test_times(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["24:00", "9:5", "noon", "13pm", "-1", "9:60", ""])
def test_bad_times(text: str) -> None:
    with pytest.raises(ValueError, match="is not a time like 09:30"):
        parse_time(text)


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("day", "mon,tue,wed,thu,fri,sat,sun"),
        ("weekdays", "mon,tue,wed,thu,fri"),
        ("mon,wed,fri", "mon,wed,fri"),
        ("Tuesday, Thursday", "tue,thu"),
        ("fri-mon", "mon,fri,sat,sun"),
    ],
)
def test_days(text: str, encoded: str) -> None:
    days = Days.parse(text)
    assert days.encode() == encoded
    assert Days.decode(encoded) == days


@pytest.mark.parametrize("text", ["someday", "m", "mon,xyz", ","])
def test_bad_days(text: str) -> None:
    with pytest.raises(ValueError):
        Days.parse(text)
