"""Bounded waits on another thread's state: never a pause for timing's sake."""

from __future__ import annotations

import time
from collections.abc import Callable

WAIT = 10.0  # seconds: how long another thread may take before the test fails


def until(condition: Callable[[], bool], *, timeout: float = WAIT) -> bool:
    """Poll `condition` (another thread's state) until it holds; False after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)  # polling another thread's state, not waiting for a scheduled event
    return True
