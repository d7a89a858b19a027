"""What follows an acknowledged answer runs on a few threads, with a bounded backlog."""

from __future__ import annotations

import threading
from functools import partial

import pytest

from bot.slack.settling import SETTLE_BACKLOG, Settling


def test_when_the_settling_threads_fall_behind_the_listener_settles_its_own_answer() -> None:
    settling = Settling(1)
    release = threading.Event()
    done: list[int] = []

    def work(number: int) -> None:
        release.wait(timeout=10)
        done.append(number)

    queued = [settling.offer(partial(work, number)) for number in range(SETTLE_BACKLOG + 3)]
    # one running and SETTLE_BACKLOG waiting; the rest are handed back to their listeners
    assert queued == [True] * (SETTLE_BACKLOG + 1) + [False, False]
    assert not settling.wait_idle(timeout=0.01)
    release.set()
    assert settling.wait_idle(timeout=10)
    settling.close()
    assert sorted(done) == list(range(SETTLE_BACKLOG + 1))


def test_work_that_cannot_be_queued_is_settled_in_the_callers_thread() -> None:
    settling = Settling(1)
    release = threading.Event()
    threads: list[str] = []

    def block() -> None:
        release.wait(timeout=10)

    for _ in range(SETTLE_BACKLOG + 1):
        settling.settle(block)
    settling.settle(lambda: threads.append(threading.current_thread().name))
    assert threads == [threading.current_thread().name]  # done before settle returned
    release.set()
    settling.close()


def test_without_threads_everything_settles_in_the_callers_thread() -> None:
    settling = Settling(0)
    done: list[str] = []
    assert not settling.offer(lambda: None)
    settling.settle(lambda: done.append(threading.current_thread().name))
    assert done == [threading.current_thread().name]
    assert settling.wait_idle(timeout=0)


def test_a_failure_is_logged_and_frees_its_place(caplog: pytest.LogCaptureFixture) -> None:
    settling = Settling(1)

    def fail() -> None:
        raise RuntimeError("response URL down")

    for _ in range(3):  # three full backlogs, one after another: every place comes back
        assert all(settling.offer(fail) for _ in range(SETTLE_BACKLOG + 1))
        assert settling.wait_idle(timeout=10)
    settling.close()
    assert caplog.text.count("settling an answer failed") == 3 * (SETTLE_BACKLOG + 1)
