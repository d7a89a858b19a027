"""Bounded waits on another thread's or process's state: never a pause for timing's sake."""

from __future__ import annotations

import time
from collections.abc import Callable

WAIT = 10.0  # seconds: how long another thread may take before the test fails


def until(condition: Callable[[], bool], *, timeout: float = WAIT, every: float = 0.005) -> bool:
    """Poll `condition` (another thread's or process's state) every `every` seconds until it
    holds; False after `timeout`. A condition that costs a request (a scrape) polls less often."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)  # polling another thread's state, not waiting for a scheduled event
    return True
