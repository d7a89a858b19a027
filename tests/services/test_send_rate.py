"""One rate per workspace for every process on the database: the bucket in `send_bucket`."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable

import pytest

from bot.services.pacing import Pacer
from bot.storage.db import Database
from bot.storage.send_rate import SharedSendRate
from tests.flows.test_posts_in_flight import within_bucket
from tests.services import send_rate_taker


def test_two_processes_share_one_rate_per_workspace(database_url: str) -> None:
    """Two processes on one database (SQLite: one file) together keep to the rate."""
    posts = 200
    # Forked from a server that has the bot's storage imported (started once per test process),
    # not two new interpreters importing it: 0.6 s of CPU each, more than the posts themselves.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([send_rate_taker.__name__])
    start = context.Barrier(2)
    pipes = [context.Pipe(duplex=False) for _ in range(2)]
    takers = [
        context.Process(target=send_rate_taker.take, args=(database_url, posts, start, sending))
        for _, sending in pipes
    ]
    for taker in takers:
        taker.start()
    slots: list[float] = []
    try:
        for (receiving, sending), taker in zip(pipes, takers, strict=True):
            sending.close()
            assert receiving.poll(120), f"no slots from {taker.name} ({taker.exitcode})"
            slots += receiving.recv()
    finally:
        for taker in takers:
            taker.join(timeout=30)
    assert [taker.exitcode for taker in takers] == [0, 0]
    assert len(slots) == 2 * posts
    assert within_bucket(slots, rate=50.0, burst=10)  # alone, each would have taken 50/s
    # Nothing wasted either: the 400 posts span about what 50/s allows after the burst.
    span = max(slots) - min(slots)
    assert (2 * posts - 10) / 50.0 - 0.01 <= span <= (2 * posts) / 50.0 * 1.05


def test_a_429_seen_by_one_process_pauses_every_process(database_url: str) -> None:
    first, second = Database(database_url), Database(database_url)
    try:
        one = Pacer(rate=10, burst=5, shared=SharedSendRate(first))
        other = Pacer(rate=10, burst=5, shared=SharedSendRate(second))
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
    pacer = Pacer(rate=1, burst=2, shared=SharedSendRate(db))
    assert [pacer.reserve("T0001", f"D{n}", 0.0) for n in range(3)] == [0.0, 0.0, 1.0]
    assert [pacer.reserve("T0002", f"D{n}", 0.0) for n in range(2)] == [0.0, 0.0]


def test_a_clock_that_ran_ahead_once_does_not_stop_sending(db: Database) -> None:
    pacer = Pacer(rate=10, burst=5, shared=SharedSendRate(db))
    assert pacer.reserve("T0001", "D1", 100_000.0) == 0.0  # a day ahead, then put right
    later = Pacer(rate=10, burst=5, shared=SharedSendRate(db))
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


def test_each_post_takes_its_own_slot_when_it_is_ready_to_go() -> None:
    """No stock of tokens held by one process that its busy threads might spend late."""
    shared = _CountingBucket()
    pacer = Pacer(rate=100.0, burst=8, shared=shared)
    for n in range(12):
        assert pacer.reserve("T0001", f"D{n}", 5.0) == 0.0
    assert shared.wants == [1] * 12


class _SlowBucket:
    """A shared bucket whose first round trip hangs until released, handing out 1/R slots."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.wants: list[int] = []
        self.gate = threading.Event()
        self.taken = 0

    def take(
        self, team_id: str, *, want: int, now: float, rate: float, burst: float
    ) -> tuple[tuple[float, ...], float]:
        self.wants.append(want)
        if len(self.wants) == 1:
            assert self.gate.wait(timeout=30)
        first, self.taken = self.taken, self.taken + want
        return tuple(now + n / self.rate for n in range(first, first + want)), 0.0

    def pause(self, team_id: str, *, until: float, now: float, rate: float, burst: float) -> None:
        raise AssertionError("no 429 here")

    def paused_until(self, team_id: str) -> float:
        return 0.0


def test_posts_asking_while_a_round_trip_is_under_way_share_the_next_one() -> None:
    """A process's threads do not each hold a connection waiting for the row: those that ask
    meanwhile get their slots, one each and all different, from a single round trip."""
    shared = _SlowBucket(rate=10.0)
    pacer = Pacer(rate=10.0, burst=1, shared=shared)
    waits: dict[int, float] = {}

    def post(n: int) -> None:
        waits[n] = pacer.reserve("T0001", f"D{n}", 100.0)

    first = threading.Thread(target=post, args=(0,))
    first.start()
    assert _until(lambda: shared.wants == [1])  # its round trip hangs
    others = [threading.Thread(target=post, args=(n,)) for n in range(1, 6)]
    for thread in others:
        thread.start()
    assert _until(lambda: len(pacer._asks.get("T0001", [])) == 5)  # all five wait for it
    shared.gate.set()
    for thread in [first, *others]:
        thread.join(timeout=30)
    assert shared.wants == [1, 5]
    assert sorted(waits.values()) == pytest.approx([n / 10 for n in range(6)])


def _until(condition: Callable[[], bool]) -> bool:
    """Whether `condition` holds within ten seconds (other threads are getting there)."""
    deadline = time.monotonic() + 10
    while not condition():
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.001)
    return True


def test_two_processes_asking_in_turn_get_evenly_spaced_slots(database_url: str) -> None:
    """Whichever process sends, the deployment's posts are 1/R apart after the burst: two
    pacers on one database, three sending threads each, asked in turn as their posts finish."""
    rate, burst = 20.0, 4
    databases = [Database(database_url), Database(database_url)]
    try:
        pacers = [Pacer(rate=rate, burst=burst, shared=SharedSendRate(db)) for db in databases]
        # Each thread's own clock: it waits for its slot, posts, and Slack answers 150 ms later.
        clocks = {(p, t): 1_000.0 + 0.01 * t for p in range(2) for t in range(3)}
        slots: list[float] = []
        for n in range(40):
            for (p, t), now in sorted(clocks.items(), key=lambda item: item[1]):
                at = now + pacers[p].reserve("T0001", f"D{p}{t}{n}", now)  # a DM each
                slots.append(at)
                clocks[(p, t)] = at + 0.15
        assert len(slots) == 240
        assert within_bucket(slots, rate=rate, burst=burst)
        gaps = [b - a for a, b in zip(sorted(slots), sorted(slots)[1:], strict=False)]
        assert min(gaps[burst:]) == pytest.approx(1 / rate, abs=1e-6)  # never two at once
        # ... and none left unused: the posts span what the rate allows after the burst.
        assert max(slots) - min(slots) == pytest.approx((len(slots) - burst) / rate, abs=1e-6)
    finally:
        for db in databases:
            db.dispose()


def test_a_post_whose_slot_another_process_paused_waits_for_the_pause(
    database_url: str,
) -> None:
    """Slots handed out before a 429 elsewhere: the pause is read right before posting, the
    slots inside it are void and forgiven, and posting resumes at its end, at the rate."""
    first, second = Database(database_url), Database(database_url)
    try:
        one = Pacer(rate=10, burst=1, shared=SharedSendRate(first))
        other = Pacer(rate=10, burst=1, shared=SharedSendRate(second))
        slots = [100.0 + other.reserve("T0001", f"E{n}", 100.0) for n in range(11)]
        assert slots == pytest.approx([100.0 + n / 10 for n in range(11)])  # up to 101.0
        one.pause("T0001", until=100.55, now=100.05)  # 429 seen by the first process
        assert other.paused_until("T0001") == 100.55  # it never took a token since: read
        # The slots from 100.1 to 100.5 fell in the pause; their posts take new ones, after
        # those beyond the pause (100.6 to 101.0), which stand: no gap, no bunch.
        retaken = [100.6 + other.reserve("T0001", f"E{n}", 100.6) for n in range(1, 6)]
        assert retaken == pytest.approx([101.1, 101.2, 101.3, 101.4, 101.5])
        assert within_bucket(slots[:1] + slots[6:] + retaken, rate=10, burst=1)
    finally:
        first.dispose()
        second.dispose()
