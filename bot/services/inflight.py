"""Posts in flight: the drain sends several deliveries at once, each on a thread of its own.

Slack answers a post in 100–300 ms from afar; sent one at a time, a workspace gets 4–10 messages
a second whatever its cap. Keeping N posts in flight multiplies that by N (Little's law: 100/s at
200 ms needs 20 in flight).

Threads, not asyncio: the Slack client (slack_sdk's `WebClient`), the database layer (SQLAlchemy
sessions, psycopg, sqlite3) and everything a delivery touches (composing, recording each part,
the lookups that keep sending exactly-once) are blocking code already used from many threads by
Bolt's listeners. An event loop would need a second, async copy of that path (an async Slack
client, an async driver, async sessions) to do what threads do here with the same code: the work
is waiting on the network, during which a thread holds no GIL, and the rate is a hundred or so
posts a second, far from where a thread per post in flight costs anything that matters.

Order: each delivery runs start to end on one thread, its parts one after the other. Deliveries
to one recipient (a channel, or a person's DM) form a lane and run one after the other, in the
order claimed (due time, then id), so two lessons for one channel never interleave and its
notices follow in order. Claims and leases are the outbox's as before: each delivery still
records every part as it goes, and a lease that runs out mid-send makes the next claim look for
what was posted before posting again.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")


class InFlight(Generic[Item]):
    """Runs `work(item)` on up to `threads` threads, items of one lane one after the other.

    With one thread, `submit` runs the work at once in the caller's thread.
    """

    def __init__(self, threads: int, work: Callable[[Item], object], *, name: str = "send") -> None:
        self._threads = max(1, threads)
        self._work = work
        self._name = name
        self._lanes: dict[Hashable, deque[Item]] = {}
        self._outstanding = 0
        self._changed = threading.Condition()
        self._executor: ThreadPoolExecutor | None = None

    def __enter__(self) -> InFlight[Item]:
        if self._threads > 1:
            self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix=self._name)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)  # everything submitted finishes before we return

    @property
    def outstanding(self) -> int:
        """Items submitted and not finished (running or waiting in their lane)."""
        with self._changed:
            return self._outstanding

    def submit(self, lane: Hashable, item: Item) -> None:
        if self._executor is None:
            self._run_one(item)
            return
        with self._changed:
            self._outstanding += 1
            queue = self._lanes.get(lane)
            if queue is not None:  # the lane is busy: this item follows what it is doing
                queue.append(item)
                return
            self._lanes[lane] = deque()
        self._executor.submit(self._run_lane, lane, item)

    def wait_below(self, count: int) -> None:
        """Block until fewer than `count` items are outstanding (a finished one wakes it)."""
        with self._changed:
            self._changed.wait_for(lambda: self._outstanding < count)

    def _run_lane(self, lane: Hashable, item: Item) -> None:
        while True:
            self._run_one(item)
            with self._changed:
                self._outstanding -= 1
                self._changed.notify_all()
                queue = self._lanes[lane]
                if not queue:
                    del self._lanes[lane]
                    return
                item = queue.popleft()

    def _run_one(self, item: Item) -> None:
        try:
            self._work(item)
        except Exception:  # its claim runs out and the next drain resumes it (found, not resent)
            log.exception("a send failed; its claim runs out and a later drain resumes it")
