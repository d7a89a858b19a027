"""Which digest instant is due: the latest at or before now, in the lead's zone, DST included."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from bot.domain.digest import DigestTime
from bot.services.digests import last_digest

MONDAY_0900 = DigestTime(weekday=0, at=time(9, 0))
BERLIN = ZoneInfo("Europe/Berlin")


def test_the_due_digest_is_the_latest_at_or_before_now() -> None:
    at_nine = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
    assert last_digest(MONDAY_0900, BERLIN, now=at_nine) == at_nine
    before = datetime(2026, 11, 30, 7, 59, tzinfo=UTC)
    assert last_digest(MONDAY_0900, BERLIN, now=before) == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_after_a_clock_change_the_digest_stays_at_nine_local_time() -> None:
    # Berlin moves to summer time on Sunday 29 March 2026: Monday 09:00 is 07:00 UTC.
    now = datetime(2026, 3, 30, 7, 30, tzinfo=UTC)
    assert last_digest(MONDAY_0900, BERLIN, now=now) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    new_york = ZoneInfo("America/New_York")
    now = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    assert last_digest(MONDAY_0900, new_york, now=now) == now
