"""The delivery tick: a kick during a running pass is never lost."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

import pytest

from bot.scheduler import Ticker
from tests.support.waiting import WAIT, until


def test_a_kick_during_a_running_tick_runs_another_pass_right_after_it() -> None:
    passes = [threading.Event(), threading.Event()]
    release = threading.Event()
    count = 0

    def tick(_now: datetime) -> None:
        nonlocal count
        count += 1
        passes[min(count, 2) - 1].set()
        if count == 1:
            assert release.wait(WAIT)

    ticker = Ticker(tick, seconds=3600)  # the next scheduled pass is an hour away
    ticker.start()
    try:
        ticker.kick()
        assert passes[0].wait(WAIT), "the kick did not start a pass"
        scheduled = ticker.next_run_at()
        assert scheduled is not None
        ticker.kick()  # new work was queued while the pass runs
        ticker.kick()  # and more: one more pass covers all of it
        # Let the scheduler act on the kicks while the pass still runs (it may drop a run it
        # was asked for then, and go back to the hourly schedule).
        assert until(lambda: (ticker.next_run_at() or scheduled) >= scheduled)
        release.set()
        assert passes[1].wait(WAIT), "the kick during the pass was dropped"
    finally:
        release.set()
        ticker.stop()
    assert count == 2


def test_a_kick_when_idle_runs_a_pass_at_once() -> None:
    ran = threading.Event()
    ticker = Ticker(lambda _now: ran.set(), seconds=3600)
    ticker.start()
    try:
        ticker.kick()
        assert ran.wait(WAIT)
    finally:
        ticker.stop()


def test_time_zones_are_looked_up_beside_the_tick_and_neither_waits_for_the_other() -> None:
    """Reading a large workspace's directory takes seconds: sending must not wait for it, and
    a long tick must not hold up the lookup (each has a thread of its own)."""
    lookup_started, lookup_release = threading.Event(), threading.Event()
    ticked, tick_release = threading.Event(), threading.Event()
    lookups: list[datetime] = []

    def tick(_now: datetime) -> None:
        ticked.set()
        assert tick_release.wait(WAIT)

    def profiles(now: datetime) -> None:
        lookups.append(now)
        lookup_started.set()
        assert lookup_release.wait(WAIT)

    ticker = Ticker(tick, seconds=3600, profiles=profiles)
    ticker.start()
    try:
        assert lookup_started.wait(WAIT), "the time-zone lookup did not start with the ticker"
        ticker.kick()  # something to send, while the lookup is still reading
        assert ticked.wait(WAIT), "the tick waited for the time-zone lookup"
        # Both are running now, each blocked in the other's presence: neither waits.
        assert not lookup_release.is_set() and not tick_release.is_set()
    finally:
        lookup_release.set()
        tick_release.set()
        ticker.stop()
    assert len(lookups) == 1


def test_runs_skipped_while_a_long_tick_goes_on_are_debug_lines_not_warnings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A drain may run for a minute: each second's run it collapses into is expected, not a
    WARNING line in the operator's log every second."""
    release = threading.Event()

    def tick(_now: datetime) -> None:
        assert release.wait(WAIT)

    def skips(level: int) -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.levelno == level and "skipped" in r.getMessage()]

    ticker = Ticker(tick, seconds=0.02)
    caplog.set_level(logging.DEBUG)
    ticker.start()
    try:
        ticker.kick()
        assert until(lambda: bool(skips(logging.DEBUG))), "no run was skipped during the tick"
    finally:
        release.set()
        ticker.stop()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_kick_during_a_time_zone_lookup_runs_another_right_after_it() -> None:
    """New work may bring people whose time zone is unknown: a lookup that began before them
    is followed at once by another, not by the next interval's."""
    lookups: list[datetime] = []
    looked_up = [threading.Event(), threading.Event()]
    kicked = threading.Event()

    def profiles(now: datetime) -> None:
        lookups.append(now)
        looked_up[min(len(lookups), 2) - 1].set()
        if len(lookups) == 1:
            assert kicked.wait(WAIT)

    ticker = Ticker(lambda _now: None, seconds=3600, profiles=profiles)
    ticker.start()
    try:
        assert looked_up[0].wait(WAIT), "no lookup when the ticker started"
        ticker.kick()  # e.g. `/learn schedule` for more people than it looks up itself
        kicked.set()
        assert looked_up[1].wait(WAIT), "the kick during the lookup was dropped"
    finally:
        kicked.set()
        ticker.stop()
    assert len(lookups) == 2
