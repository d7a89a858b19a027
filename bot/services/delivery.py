"""The delivery tick, the one entry point the scheduler calls: time zones, planning, then sending.

Each step is its own service: `profiles` (time zones), `planner` (what fell due into the outbox),
`drain` (claiming and sending at our pace), with `posting`, `compose` and `failures` for one
delivery's posts, messages and failures.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.services.discussions import DiscussionService
from bot.services.drain import Drain, DrainReport
from bot.services.planner import Planner, PlanOutcome
from bot.services.privacy import PrivacyService
from bot.services.profiles import ProfileRefresh

log = logging.getLogger(__name__)

# A tick that takes longer than this before it starts sending says so (at WARNING).
SLOW_BEFORE_SENDING = 2.0


@dataclass(frozen=True)
class TickReport:
    profiles: int
    plan: PlanOutcome
    drain: DrainReport

    @property
    def planned(self) -> int:
        """Lessons planned in this tick, by the plan step and the drain."""
        return self.plan.planned + self.drain.planned

    @property
    def moved(self) -> int:
        return self.plan.moved + self.drain.moved


class DeliveryService:
    def __init__(
        self,
        *,
        profiles: ProfileRefresh,
        planner: Planner,
        drain: Drain,
        discussions: DiscussionService | None = None,
        privacy: PrivacyService | None = None,
        steps: Sequence[Callable[[datetime], object]] = (),
    ) -> None:
        self._profiles = profiles
        self._planner = planner
        self._drain = drain
        self._discussions = discussions
        self._privacy = privacy
        # More tick steps, each queueing into the outbox given `now` (the weekly digests).
        self._steps = tuple(steps)

    def tick(
        self, now: datetime, *, budget: timedelta | None = None, profiles: bool = True
    ) -> TickReport:
        """One pass: time zones, planning, then sending until done or out of `budget`.

        `profiles=False` leaves time zones to `refresh_profiles`, run on its own (a serving
        process does: reading a large workspace's directory takes seconds, and what is due
        would wait for it)."""
        started = time.monotonic()
        if self._discussions is not None:
            self._discussions.forget_events(now=now)
        if self._privacy is not None:
            self._privacy.expire(now=now)  # MICROLEARN_RETENTION_DAYS
        upkeep = time.monotonic()
        looked_up = self._profiles.refresh(now=now) if profiles else 0
        refreshed = time.monotonic()
        plan = self._planner.plan(now=now)
        for step in self._steps:
            step(now)
        sending = time.monotonic()
        if sending - started > SLOW_BEFORE_SENDING:  # what is due waits for these steps
            log.warning(
                "tick: %.1f s before sending (upkeep %.1f s, time zones of %d people %.1f s, "
                "planning %.1f s)",
                sending - started,
                upkeep - started,
                looked_up,
                refreshed - upkeep,
                sending - refreshed,
            )
        drain = self._drain.drain(now=now, budget=budget)
        return TickReport(looked_up, plan, drain)

    def refresh_profiles(self, *, now: datetime) -> int:
        """Only the time-zone step: people waiting for theirs, and stale ones re-checked."""
        return self._profiles.refresh(now=now)

    def plan(self, *, now: datetime) -> PlanOutcome:
        """Only the plan step (operators' `deliver-due` and tests run it alone)."""
        return self._planner.plan(now=now)

    def drain(self, *, now: datetime, budget: timedelta | None = None) -> DrainReport:
        """Only the sending step."""
        return self._drain.drain(now=now, budget=budget)
