"""Shared channel messages are rewritten at most once per interval, whatever the click rate."""

from __future__ import annotations

import threading
import time

from bot.slack.throttle import Throttle


def test_many_marks_become_few_updates_with_the_latest_state() -> None:
    throttle = Throttle(per_message=0.2, spacing=0)
    done = threading.Event()
    seen: list[int] = []

    def update_for(value: int) -> None:
        seen.append(value)
        if value == 49:
            done.set()

    started = time.monotonic()
    for value in range(50):  # fifty clicks in a burst
        throttle.mark("C1", "1.0", lambda v=value: update_for(v))  # type: ignore[misc]
    assert done.wait(timeout=5)
    throttle.stop()
    assert seen[-1] == 49  # the last state is what ends up shown
    assert len(seen) <= 2  # the first click, then one update for the rest of the burst
    assert time.monotonic() - started >= 0.2 or len(seen) == 1


def test_different_messages_do_not_wait_for_each_other() -> None:
    throttle = Throttle(per_message=10.0, spacing=0)
    both = threading.Event()
    updated: list[str] = []

    def update(channel: str) -> None:
        updated.append(channel)
        if len(updated) == 2:
            both.set()

    throttle.mark("C1", "1.0", lambda: update("C1"))
    throttle.mark("C2", "2.0", lambda: update("C2"))
    assert both.wait(timeout=5)  # not ten seconds apart: each message has its own interval
    throttle.stop()
    assert sorted(updated) == ["C1", "C2"]


def test_stop_waits_for_the_update_under_way_and_starts_no_other() -> None:
    throttle = Throttle(per_message=60.0, spacing=0)
    running, release = threading.Event(), threading.Event()
    seen: list[str] = []

    def slow() -> None:
        running.set()
        release.wait(timeout=5)
        seen.append("C1 first")

    throttle.mark("C1", "1.0", slow)
    assert running.wait(timeout=5)
    throttle.mark("C1", "1.0", lambda: seen.append("C1 again"))  # once a minute: pending
    throttle.mark("C2", "2.0", lambda: seen.append("C2"))  # ready once C1's update is done
    release.set()
    throttle.stop()
    assert seen == ["C1 first"]  # finished before stop returned; nothing started after it
    throttle.mark("C3", "3.0", lambda: seen.append("C3"))  # a click while the app closes
    throttle.stop()
    assert seen == ["C1 first"]
