"""One rate per workspace for every process on the database: the bucket in `send_bucket`."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from bot.services.pacing import MAX_BATCH, Pacer
from bot.storage.db import Database
from bot.storage.send_rate import SharedSendRate
from tests.flows.test_posts_in_flight import within_bucket
from tests.support.process import ROOT

SHARED_TAKER = textwrap.dedent(
    """
    import json
    import sys

    sys.path.insert(0, sys.argv[2])
    from bot.services.pacing import Pacer
    from bot.storage.db import Database
    from bot.storage.send_rate import SharedSendRate

    db = Database(sys.argv[1])
    pacer = Pacer(rate=50.0, burst=10, shared=SharedSendRate(db))
    now, slots = 1_000.0, []
    for n in range(int(sys.argv[3])):
        now += pacer.reserve("T0001", f"D{n}", now)  # wait as told, then post
        slots.append(now)
    db.dispose()
    print(json.dumps(slots))
    """
)


def test_two_processes_share_one_rate_per_workspace(database_url: str) -> None:
    """Two processes on one database (SQLite: one file) together keep to the rate."""
    posts = 200
    takers = [
        subprocess.Popen(
            [sys.executable, "-c", SHARED_TAKER, database_url, str(ROOT), str(posts)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    slots: list[float] = []
    for taker in takers:
        out, err = taker.communicate(timeout=120)
        assert taker.returncode == 0, err.decode()
        slots += json.loads(out)
    assert len(slots) == 2 * posts
    assert within_bucket(slots, rate=50.0, burst=10)  # alone, each would have taken 50/s
    # Nothing wasted either: the 400 posts span about what 50/s allows after the burst.
    span = max(slots) - min(slots)
    assert (2 * posts - 10) / 50.0 - 0.01 <= span <= (2 * posts) / 50.0 * 1.05


def test_a_429_seen_by_one_process_pauses_every_process(database_url: str) -> None:
    first, second = Database(database_url), Database(database_url)
    try:
        one = Pacer(rate=10, burst=5, shared=SharedSendRate(first), batch=1)
        other = Pacer(rate=10, burst=5, shared=SharedSendRate(second), batch=1)
        assert [one.reserve("T0001", f"D{n}", 100.0) for n in range(3)] == [0.0, 0.0, 0.0]
        one.pause("T0001", until=130.0, now=100.5)  # Retry-After: 30 s
        assert one.paused_until("T0001") == 130.0
        # The other process has not heard of it; its next slots are after the pause all the
        # same, and at the rate from there, not in a burst.
        now, slots = 101.0, []
        for n in range(4):
            now += other.reserve("T0001", f"E{n}", now)
            slots.append(round(now, 6))
        assert slots == [130.1, 130.2, 130.3, 130.4]  # emptied: nothing earned while paused
        assert other.paused_until("T0001") == 130.0  # learnt with its tokens
    finally:
        first.dispose()
        second.dispose()


def test_every_workspace_has_its_own_bucket(db: Database) -> None:
    pacer = Pacer(rate=1, burst=2, shared=SharedSendRate(db), batch=1)
    assert [pacer.reserve("T0001", f"D{n}", 0.0) for n in range(3)] == [0.0, 0.0, 1.0]
    assert [pacer.reserve("T0002", f"D{n}", 0.0) for n in range(2)] == [0.0, 0.0]


def test_a_clock_that_ran_ahead_once_does_not_stop_sending(db: Database) -> None:
    pacer = Pacer(rate=10, burst=5, shared=SharedSendRate(db), batch=1)
    assert pacer.reserve("T0001", "D1", 100_000.0) == 0.0  # a day ahead, then put right
    later = Pacer(rate=10, burst=5, shared=SharedSendRate(db), batch=1)
    assert later.reserve("T0001", "D2", 10.0) < 0.2  # not a day's wait


class _CountingBucket:
    """A shared bucket that grants every token at once and notes how many were asked for."""

    def __init__(self) -> None:
        self.wants: list[int] = []

    def take(
        self, team_id: str, *, want: int, now: float, rate: float, burst: float
    ) -> tuple[tuple[float, ...], float]:
        self.wants.append(want)
        return (now,) * want, 0.0

    def pause(self, team_id: str, *, until: float, now: float, rate: float, burst: float) -> None:
        raise AssertionError("no 429 here")

    def paused_until(self, team_id: str) -> float:
        return 0.0


def test_tokens_are_taken_a_tenth_of_a_second_at_a_time_in_small_batches() -> None:
    for rate, burst, batch in ((100.0, 8, 8), (100.0, 50, 10), (1e6, 10**6, MAX_BATCH)):
        shared = _CountingBucket()
        pacer = Pacer(rate=rate, burst=burst, shared=shared)
        for n in range(batch + 1):
            assert pacer.reserve("T0001", f"D{n}", 5.0) == 0.0
        assert shared.wants == [batch, batch]  # one round trip per batch, the next on its first
