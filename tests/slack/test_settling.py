"""What follows an acknowledged answer runs on a few threads, with a bounded backlog."""

from __future__ import annotations

import threading
from functools import partial

import pytest

from bot.slack.listeners.quiz import SETTLE_BACKLOG, _Settling


def test_when_the_settling_threads_fall_behind_the_listener_settles_its_own_answer() -> None:
    settling = _Settling(1)
    release = threading.Event()
    done: list[int] = []

    def work(number: int) -> None:
        release.wait(timeout=10)
        done.append(number)

    queued = [settling.offer(partial(work, number)) for number in range(SETTLE_BACKLOG + 3)]
    # one running and SETTLE_BACKLOG waiting; the rest are handed back to their listeners
    assert queued == [True] * (SETTLE_BACKLOG + 1) + [False, False]
    release.set()
    settling._pool.shutdown(wait=True)
    assert sorted(done) == list(range(SETTLE_BACKLOG + 1))


def test_a_failure_is_logged_and_frees_its_place(caplog: pytest.LogCaptureFixture) -> None:
    settling = _Settling(1)

    def fail() -> None:
        raise RuntimeError("response URL down")

    for _ in range(3 * (SETTLE_BACKLOG + 1)):  # more than the backlog, one after another
        assert settling.offer(fail)
        settling._pool.submit(lambda: None).result(timeout=10)  # wait for it to finish
    settling._pool.shutdown(wait=True)
    assert "settling an answer failed" in caplog.text
