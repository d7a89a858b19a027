"""One process's posts through the workspace's shared send rate: what tests/services/
test_send_rate.py runs in two processes at once, forked from a server that has this module (and
so the bot's storage) imported already, instead of two interpreters importing it each time."""

from __future__ import annotations

from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier

from bot.services.pacing import Pacer
from bot.storage.db import Database
from bot.storage.send_rate import SharedSendRate


def take(database_url: str, posts: int, start: Barrier, out: Connection) -> None:
    """Ask for `posts` slots at 50/s (burst 10) on simulated time, waiting as told before each
    post; send the slots back. Both processes start asking at the same moment (`start`)."""
    db = Database(database_url)
    try:
        pacer = Pacer(rate=50.0, burst=10, shared=SharedSendRate(db))
        now, slots = 1_000.0, []
        start.wait(timeout=60)
        for n in range(posts):
            now += pacer.reserve("T0001", f"D{n}", now)  # wait as told, then post
            slots.append(now)
        out.send(slots)
    finally:
        db.dispose()
        out.close()
