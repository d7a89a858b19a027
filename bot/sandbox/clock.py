"""The sandbox's clock: the wall clock plus an offset that only moves forward (time travel)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.scheduler import utc_now


class SandboxClock:
    """Now, for the bot and the local Slack alike; `jump_to` moves every later reading too."""

    def __init__(
        self, *, offset: timedelta = timedelta(0), wall: Callable[[], datetime] = utc_now
    ) -> None:
        self._offset = offset
        self._wall = wall
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._wall() + self._offset

    @property
    def offset(self) -> timedelta:
        with self._lock:
            return self._offset

    def timestamp(self) -> float:
        """Now as seconds since the epoch (Slack's message timestamps)."""
        return self().timestamp()

    def jump_to(self, instant: datetime) -> datetime:
        """Move to `instant` if it is ahead (time never runs backwards); returns the new now."""
        with self._lock:
            now = self._wall() + self._offset
            if instant > now:
                self._offset += instant - now
                now = instant
            return now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta` (a negative one is ignored)."""
        return self.jump_to(self() + max(delta, timedelta(0)))
