"""The after-ack half of an answer: a few threads that settle acknowledged answers, bounded.

Settling is mostly waiting on Slack: feedback goes to response_url, which answers in 100-300 ms
from afar, so at 100 answers/s per process some 30 posts are in flight at once. With 8 threads
and Slack at 150 ms, acks waited for feedback (p50 154 ms in bench/answers.py
--feedback-latency 150); with 32, 1.7 ms. When the threads fall behind (more than SETTLE_BACKLOG
answers waiting per thread), `offer` says no and the request settles its own answer before it
responds: acknowledgements slow down (Slack sees the load) instead of feedback falling minutes
behind for a few.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial

log = logging.getLogger(__name__)

SETTLE_THREADS = 32  # the production pool (bot.app); 0 settles in the request's own thread
SETTLE_BACKLOG = 8  # answers waiting per settling thread before requests settle their own

Work = Callable[[], None]


_replying = threading.local()  # `works`: what this thread hands over once it has replied


@contextmanager
def after_reply() -> Iterator[None]:
    """What this thread hands to `Settling.settle` inside the block is handed over when the
    block ends: put the reply to Slack inside it, last.

    In Socket Mode the ack is written to the WebSocket only after the listener returns; handed
    over before that, the work wakes a settling thread, which can take the interpreter lock
    (and, on a busy machine, the core) while the ack waits. Handed over after the reply, it
    cannot delay it. Work whose threads are too far behind is then settled in this thread
    after the reply, not before: the next envelopes this process takes wait for it instead.
    Nested blocks hand over at the outer one's end; the work is handed over even if the reply
    failed (the answer is stored).
    """
    if getattr(_replying, "works", None) is not None:
        yield
        return
    works: list[Callable[[], None]] = []
    _replying.works = works
    try:
        yield
    finally:
        _replying.works = None
        for hand_over in works:
            hand_over()


def settle_now(work: Work) -> None:
    """Settle in this thread, after the ack: a failure is logged, the stored answer stands."""
    try:
        work()
    except Exception:
        log.exception("settling an answer failed")


class Settling:
    """A few threads that do what follows acknowledged answers, with a bounded backlog.

    Its whole surface: `settle` (hand over work, or do it here when the threads are too far
    behind or there are none), `offer` (hand over, or say no), `wait_idle` and `close`.
    """

    def __init__(self, threads: int) -> None:
        self._pool = (
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="settle")
            if threads
            else None
        )
        self._limit = threads * (SETTLE_BACKLOG + 1)
        self._pending = 0
        self._idle = threading.Condition()

    def settle(self, work: Work) -> None:
        """Queue the work; when it cannot be queued, settle it in this thread now (inside
        `after_reply`: once the thread has replied)."""
        works: list[Callable[[], None]] | None = getattr(_replying, "works", None)
        if works is not None:
            # In the request's context now: the settling logs carry its ids.
            works.append(partial(contextvars.copy_context().run, self._settle, work))
            return
        self._settle(work)

    def _settle(self, work: Work) -> None:
        if not self.offer(work):
            settle_now(work)

    def offer(self, work: Work) -> bool:
        """Queue the work; False (nothing queued) when the threads are too far behind."""
        if self._pool is None:
            return False
        with self._idle:
            if self._pending >= self._limit:
                return False
            self._pending += 1
        # In a copy of this request's context: the settling logs carry its ids.
        self._pool.submit(contextvars.copy_context().run, self._run, work)
        return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing queued is left to settle; False if `timeout` seconds pass first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def close(self) -> None:
        """Settle what is queued, then stop the threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _run(self, work: Work) -> None:
        try:
            settle_now(work)
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()
