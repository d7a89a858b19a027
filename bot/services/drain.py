"""Draining the outbox: claim due deliveries with a lease and keep several in flight until done
or out of time (see `bot.services.inflight`: each recipient's one after another)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from bot.services.inflight import InFlight
from bot.services.logcontext import log_ids
from bot.services.metrics import NO_METRICS, Metrics
from bot.services.planner import Planner
from bot.services.posting import Poster
from bot.storage.outbox import Claimed, Outbox

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class DrainReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    messages: int = 0
    planned: int = 0  # lessons of recorded plan slots written while draining
    moved: int = 0


class Drain:
    def __init__(
        self,
        *,
        outbox: Outbox,
        planner: Planner,
        poster: Poster,
        clock: Callable[[], datetime],
        batch: int = 50,
        threads: int = 1,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._outbox = outbox
        self._planner = planner
        self._poster = poster
        self._clock = clock
        self._batch = batch
        self._threads = max(1, threads)
        self._metrics = metrics

    def drain(self, *, now: datetime, budget: timedelta | None = None) -> DrainReport:
        """Send due deliveries until none are left or `budget` is spent.

        Up to `threads` deliveries are in flight; more are claimed while the last claimed ones
        are still going out, so the threads never wait on a claim. What was claimed is sent
        before this returns, even past the budget (at most a batch: a few seconds).
        """
        deadline = now + budget if budget is not None else None
        tally = _Tally()
        current = now
        more_planned = True
        # Claim again once the queue is down to this: the threads stay busy meanwhile.
        low = max(self._threads, self._batch // 2) if self._threads > 1 else 1
        send = InFlight[Claimed](self._threads, partial(self._send_counted, tally=tally))
        with send as flight:
            while deadline is None or current < deadline:
                claimed = self._outbox.claim(now=current, lease=LEASE, limit=self._batch)
                if len(claimed) < self._batch and more_planned:
                    more_planned = self._apply_planned(tally, now=current)
                    if not claimed and more_planned:
                        current = self._clock()  # the budget counts applying too
                        continue
                if not claimed:
                    if not flight.outstanding:
                        break
                    # What is in flight may queue more (a failure's notice to the lead).
                    flight.wait_below(1)
                    current = self._clock()
                    continue
                for delivery in claimed:
                    flight.submit((delivery.team_id, delivery.recipient), delivery)
                flight.wait_below(low)
                current = self._clock()
        return tally.report()

    def _apply_planned(self, tally: _Tally, *, now: datetime) -> bool:
        """Apply a chunk of the recorded plan as the queue runs low; False when none was left."""
        applied = self._planner.apply(now=now)
        tally.planned += applied.planned
        tally.moved += applied.moved
        return applied.enrolments > 0

    def _send_counted(self, delivery: Claimed, *, tally: _Tally) -> None:
        """Send one delivery on a sending thread, its ids on every log line, and count it."""
        with log_ids(
            team_id=delivery.team_id,
            delivery_id=delivery.id,
            drip_id=delivery.drip_id,
            user_id=delivery.recipient if delivery.recipient_kind == "dm" else None,
        ):
            outcome, posted = self._poster.send(delivery)
            log.debug("delivery %d %s: %d message(s) posted", delivery.id, outcome, posted)
        if outcome == "sent":
            self._metrics.delivery_sent(kind=delivery.kind)
        tally.add(outcome, posted)


class _Tally:
    """What the sending threads did, counted under a lock; what the drain planned, by itself."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outcomes: dict[str, int] = {}
        self._messages = 0
        self.planned = 0  # only the draining thread counts these
        self.moved = 0

    def add(self, outcome: str, posted: int) -> None:
        with self._lock:
            self._outcomes[outcome] = self._outcomes.get(outcome, 0) + 1
            self._messages += posted

    def report(self) -> DrainReport:
        with self._lock:
            return DrainReport(
                sent=self._outcomes.get("sent", 0),
                retried=self._outcomes.get("retry", 0),
                failed=self._outcomes.get("failed", 0),
                messages=self._messages,
                planned=self.planned,
                moved=self.moved,
            )
