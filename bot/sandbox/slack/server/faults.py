"""Faults, rate limits, latency, stuck calls and lost answers that tests inject."""

from __future__ import annotations

import math
import threading
import time

from .records import JSON, Fault, LostAnswer, RateLimit, text_of
from .state import StandInState


class FaultsAndLimits(StandInState):
    """What a test makes go wrong, and the token buckets of rate limits."""

    def fail(
        self,
        method: str,
        error: str,
        *,
        times: int | None = 1,
        status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (``None``: until ``clear_faults``)."""
        if status is None:
            if error == "ratelimited":
                status = 429
            elif error in ("internal_error", "fatal_error"):
                status = 500
            else:
                status = 200
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._changed:
            self._faults.setdefault(method, []).append(Fault(error, times, status, retry_after))

    def clear_faults(self) -> None:
        with self._changed:
            self._faults.clear()

    def rate_limit(
        self, method: str, *, per_second: float, burst: int, scope: str = "workspace"
    ) -> None:
        """Emulate a cap with a token bucket per workspace, or per channel (``scope="channel"``)."""
        if scope not in ("workspace", "channel"):
            raise ValueError("scope must be 'workspace' or 'channel'")
        if per_second <= 0 or burst < 1:
            raise ValueError("per_second must be > 0 and burst >= 1")
        with self._changed:
            self._rate_limits[method] = RateLimit(per_second, burst, scope)

    def clear_rate_limits(self) -> None:
        with self._changed:
            self._rate_limits.clear()

    def delay(self, method: str, seconds: float, *, jitter: float = 0.0) -> None:
        """Answer every call of ``method`` late: ``seconds``, give or take up to ``jitter``
        (uniformly spread), as a server far away answers (0 removes it). The call itself is
        carried out on arrival."""
        if jitter < 0 or jitter > seconds:
            raise ValueError("jitter must be between 0 and the latency")
        with self._changed:
            if seconds > 0:
                self._delays[method] = (seconds, jitter)
            else:
                self._delays.pop(method, None)

    def hold(self, method: str) -> threading.Event:
        """Make every call of ``method`` hang until the returned event is set (a stuck call)."""
        gate = threading.Event()
        with self._changed:
            self._holds[method] = gate
        return gate

    def lose_answer(self, method: str, *, how: str = "drop", times: int = 1) -> threading.Event:
        """Carry out the next ``times`` calls of ``method``, then lose their answers.

        ``how="drop"`` closes the connection without an answer; ``how="late"`` answers only once
        the returned event is set (after the client has given up waiting, say).
        """
        if how not in ("drop", "late"):
            raise ValueError("how must be 'drop' or 'late'")
        lost = LostAnswer(how, times)
        with self._changed:
            self._lost.setdefault(method, []).append(lost)
        return lost.released

    def held(self, method: str) -> int:
        """How many calls of ``method`` are hanging on ``hold`` right now."""
        with self._lock:
            return self._held.get(method, 0)

    def _wait_while_held(self, method: str) -> None:
        """Hang while a test holds ``method`` (``hold``), counted in ``held``."""
        with self._changed:
            gate = self._holds.get(method)
            if gate is not None:
                self._held[method] = self._held.get(method, 0) + 1
                self._changed.notify_all()
        if gate is not None:
            gate.wait(timeout=30)  # until the test releases it
            with self._changed:
                self._held[method] -= 1

    def _answer_late(self, method: str) -> None:
        """Wait out the latency ``delay`` set for ``method``."""
        with self._lock:
            latency, jitter = self._delays.get(method, (0.0, 0.0))
            delay = latency + self._jitter.uniform(-jitter, jitter) if jitter else latency
        if delay > 0:
            # Injected latency, not test timing: the call is carried out (and counted against
            # rate limits) when it arrives, as Slack does; its answer takes this long to come.
            time.sleep(delay)

    def _take_lost_answer(self, method: str) -> LostAnswer | None:
        """The ``lose_answer`` this call's answer falls to, if any."""
        with self._lock:
            queue = self._lost.get(method)
            if not queue:
                return None
            lost = queue[0]
            lost.remaining -= 1
            if lost.remaining <= 0:
                queue.pop(0)
            return lost

    def _take_fault(self, method: str) -> Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.pop(0)
        return fault

    def _take_token(self, method: str, params: JSON) -> int | None:
        limit = self._rate_limits.get(method)
        if limit is None:
            return None
        key = "workspace"
        if limit.scope == "channel":
            channel = text_of(params.get("channel") or params.get("channel_id"))
            conv = self._lookup(channel)
            if conv is not None and conv.kind == "im":
                key = f"im:{conv.user}"  # a user id and its D… id share one bucket
            elif channel[:1] in ("U", "W"):
                key = f"im:{channel}"
            else:
                key = conv.id if conv is not None else channel
        now = self._clock()
        tokens, last = limit.buckets.get(key, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + (now - last) * limit.per_second)
        if tokens >= 1.0:
            limit.buckets[key] = (tokens - 1.0, now)
            return None
        limit.buckets[key] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / limit.per_second))
