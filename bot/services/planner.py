"""Planning: what fell due goes into the outbox, a chunk per short transaction; finished drips are
announced."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.schedule import Days, next_slot, parse_time, zone
from bot.services.catalog import CatalogService
from bot.services.discussions import DiscussionService
from bot.services.notices import Notices, announce_finished
from bot.services.reminders import ReminderService
from bot.services.reviews import ReviewService
from bot.storage.drips import DripRepository
from bot.storage.plan import DueGroup, PlanApplied, PlanReport, PlanRepository

log = logging.getLogger(__name__)

# Enrolments per plan-applying transaction: short enough never to hold rows (or SQLite's write
# lock) for long, big enough to stay far ahead of what Slack lets us send.
PLAN_CHUNK = 1_000


@dataclass(frozen=True)
class PlanOutcome:
    """The plan step: what it recorded, and the first chunk of it already applied."""

    recorded: PlanReport
    applied: PlanApplied

    @property
    def planned(self) -> int:
        return self.applied.planned

    @property
    def moved(self) -> int:
        return self.applied.moved


class Planner:
    def __init__(
        self,
        *,
        plans: PlanRepository,
        repository: DripRepository,
        notices: Notices,
        catalog: CatalogService,
        grace: timedelta,
        reviews: ReviewService | None = None,
        discussions: DiscussionService | None = None,
        reminders: ReminderService | None = None,
        chunk: int | None = None,
    ) -> None:
        self._plans = plans
        self._repository = repository
        self._notices = notices
        self._catalog = catalog
        self._grace = grace
        self._reviews = reviews
        self._discussions = discussions
        self._reminders = reminders
        self._chunk = chunk

    def plan(self, *, now: datetime) -> PlanOutcome:
        """Record what is due, group by group, and apply the first chunk of it.

        The rest is applied by the drain as its queue runs low, a chunk per short transaction.
        """
        if self._reviews is not None:
            self._reviews.plan(now=now)
        if self._discussions is not None:
            self._discussions.nudge(now=now)
        if self._reminders is not None:
            self._reminders.follow_up(now=now)
        recorded = self._plans.plan(now=now, grace=self._grace, next_slot=group_next_slot)
        return PlanOutcome(recorded, self.apply(now=now))

    def apply(self, *, now: datetime) -> PlanApplied:
        """Apply one chunk of what was recorded: deliveries queued, next slots set."""
        applied = self._plans.apply_planned(now=now, limit=self._chunk or PLAN_CHUNK)
        for team_id, drip_id in applied.finished_drips:
            announce_finished(
                self._notices,
                self._repository,
                self._catalog,
                team_id=team_id,
                drip_id=drip_id,
                now=now,
            )
        if applied.planned or applied.moved:
            log.info(
                "planned %d lessons, moved %d missed ones to their next slot",
                applied.planned,
                applied.moved,
            )
        return applied


def group_next_slot(group: DueGroup, after: datetime) -> datetime:
    """A due group's next slot after `after`, at its days and time in its zone."""
    return next_slot(
        Days.decode(group.days), parse_time(group.at_time), zone(group.tz), after=after
    )
