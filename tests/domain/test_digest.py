"""Digest timing: the setting, the next instant in the lead's zone, the week key and windows."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.digest import (
    DEFAULT,
    DigestTime,
    digest_weeks,
    next_digest,
    parse_digest,
    week_key,
)
from bot.domain.periods import Window

MONDAY_NINE = DigestTime(0, time(9, 0))


def utc(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (DEFAULT, MONDAY_NINE),
        ("Monday 9:00", MONDAY_NINE),
        ("  FRI   17:30 ", DigestTime(4, time(17, 30))),
        ("sun 00:00", DigestTime(6, time(0, 0))),
        ("off", None),
        ("OFF", None),
    ],
)
def test_the_setting_reads_a_day_and_a_time_or_off(text: str, expected: DigestTime | None) -> None:
    assert parse_digest(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'MICROLEARN_DIGEST must be a day and a time like "mon 09:00", or "off", got \'\''),
        ("mon", "MICROLEARN_DIGEST must be a day and a time like"),
        ("mon 09:00 utc", "MICROLEARN_DIGEST must be a day and a time like"),
        (
            "funday 09:00",
            "must start with a day (mon, tue, wed, thu, fri, sat or sun), got 'funday'",
        ),
        ("weekdays 09:00", "takes one day a week, got 'weekdays'"),
        ("mon-fri 09:00", "takes one day a week, got 'mon-fri'"),
        ("mon 9am", "needs a 24-hour time like 09:00, got '9am'"),
        ("mon 24:00", "needs a 24-hour time like 09:00, got '24:00'"),
        ("mon 09:60", "needs a 24-hour time like 09:00, got '09:60'"),
        ("09:00 mon", "must start with a day"),
    ],
)
def test_bad_settings_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_digest(text)
    assert message in str(raised.value)
    assert str(raised.value).startswith("MICROLEARN_DIGEST ")


def test_the_next_digest_is_monday_nine_in_each_leads_zone() -> None:
    berlin, kolkata = ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Kolkata")
    wednesday = utc(11, 25, 12)
    assert next_digest(MONDAY_NINE, berlin, after=wednesday) == utc(11, 30, 8)
    assert next_digest(MONDAY_NINE, kolkata, after=wednesday) == utc(11, 30, 3, 30)
    # At the very instant it is due, the next one is a week later: one per week.
    assert next_digest(MONDAY_NINE, berlin, after=utc(11, 30, 8)) == utc(12, 7, 8)
    assert next_digest(MONDAY_NINE, berlin, after=utc(11, 30, 7, 59)) == utc(11, 30, 8)


def test_across_dst_the_digest_keeps_nine_local() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    before = next_digest(MONDAY_NINE, berlin, after=utc(3, 25))
    after = next_digest(MONDAY_NINE, berlin, after=before)
    assert (before, after) == (utc(3, 30, 7), utc(4, 6, 7))  # CEST both: summer time began 29th
    autumn = next_digest(MONDAY_NINE, berlin, after=utc(10, 20))
    assert autumn == utc(10, 26, 8)  # CET again
    # 01:30 on the New York autumn Sunday happens twice: the digest goes at the first only.
    sunday = DigestTime(6, time(1, 30))
    new_york = ZoneInfo("America/New_York")
    first = next_digest(sunday, new_york, after=utc(10, 31))
    assert first == utc(11, 1, 5, 30)
    assert next_digest(sunday, new_york, after=first) == utc(11, 8, 6, 30)


def test_the_week_key_is_the_digests_local_date() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")
    monday_ist = next_digest(DigestTime(0, time(1, 0)), kolkata, after=utc(11, 25))
    assert monday_ist == utc(11, 29, 19, 30)  # still Sunday in UTC
    assert week_key(monday_ist, kolkata) == "2026-11-30"
    assert week_key(monday_ist, ZoneInfo("UTC")) == "2026-11-29"


def test_the_trend_weeks_are_whole_local_weeks_before_the_digest() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    monday = utc(4, 6, 7)  # Monday 6 April 09:00 CEST
    weeks = digest_weeks(monday, berlin)
    assert len(weeks) == 8
    assert weeks[-1] == Window(utc(3, 29, 22), utc(4, 5, 22))  # Mon 30 March to Sun 5 April
    assert weeks[-2] == Window(utc(3, 22, 23), utc(3, 29, 22))  # the 167-hour week
    assert weeks[0].start == utc(2, 8, 23)
    assert all(a.end == b.start for a, b in zip(weeks, weeks[1:], strict=False))
    assert monday not in weeks[-1] and monday - timedelta(hours=9, seconds=1) in weeks[-1]
