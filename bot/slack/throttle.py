"""Throttled updates of shared channel messages (chat.update is Tier 3: about 50 a minute).

Clicks only mark a message dirty; one background thread rewrites each dirty message at most
once per `per_message` seconds and spaces all updates `spacing` seconds apart. `stop` ends it:
no rewrite starts after it returns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

Update = Callable[[], None]


class Throttle:
    def __init__(self, *, per_message: float = 5.0, spacing: float | None = None) -> None:
        self._per_message = per_message
        self._spacing = min(1.3, per_message) if spacing is None else spacing
        self._pending: dict[tuple[str, str], Update] = {}
        self._last: dict[tuple[str, str], float] = {}
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def mark(self, channel: str, ts: str, update: Update) -> None:
        """Rewrite this message soon with `update` (the latest one marked wins)."""
        with self._wake:
            if self._stopped:  # the app is closing: the next answer marks it again
                return
            self._pending[(channel, ts)] = update
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="throttle", daemon=True)
                self._thread.start()
            self._wake.notify()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop rewriting. What is pending is dropped (a counter is cosmetic, and the next answer
        marks it again); an update under way is waited for, up to `timeout` seconds."""
        with self._wake:
            self._stopped = True
            self._pending.clear()
            self._wake.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _next(self) -> tuple[tuple[str, str], Update] | None:
        with self._wake:
            while not self._stopped:
                now = time.monotonic()
                ready = [
                    key
                    for key in self._pending
                    if now - self._last.get(key, 0.0) >= self._per_message
                ]
                if ready:
                    key = ready[0]
                    self._last[key] = now
                    return key, self._pending.pop(key)
                waits = [self._per_message - (now - self._last.get(k, 0.0)) for k in self._pending]
                self._wake.wait(timeout=min(waits) if waits else None)
            return None

    def _run(self) -> None:
        while (item := self._next()) is not None:
            key, update = item
            try:
                update()
            except Exception:  # a failed counter update is cosmetic: log it and go on
                log.warning("could not update %s", key, exc_info=True)
            if self._spacing:  # this thread paces Tier 3 calls; no listener waits
                with self._wake:
                    self._wake.wait_for(lambda: self._stopped, timeout=self._spacing)
