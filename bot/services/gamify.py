"""Points, streaks and badges: what a learner has earned, and milestones celebrated once each.

Points are written by the use cases that cause them (an answer, a lesson done, a first reply in a
discussion thread), in the same transaction, through the ledger in bot/storage/gamify.py. This
service reads the ledger and measures milestones: each one reached is stored as a badge and its
DM queued in the outbox in one transaction, so retries and concurrent clicks celebrate it once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.domain import milestones
from bot.domain.milestones import FinishedCourse, LearnerState, Milestone
from bot.domain.schedule import Days, zone
from bot.domain.streaks import Streak, local_dates, streak
from bot.services.catalog import CatalogService
from bot.storage.enrolments import EnrolmentRepository
from bot.storage.gamify import BadgeRecord, GamifyRepository, MilestoneFacts
from bot.storage.learners import LearnerRepository

log = logging.getLogger(__name__)

# Enrolments whose schedule says which days are learning days (a finished course's too).
_SCHEDULED = ("waiting", "active", "paused", "finished")


@dataclass(frozen=True)
class Standing:
    """What a learner has earned: points, current and best streak, badges (oldest first)."""

    points: int
    streak: int
    best_streak: int
    badges: tuple[BadgeRecord, ...]


class GamifyService:
    def __init__(
        self,
        *,
        repository: GamifyRepository,
        learners: LearnerRepository,
        enrolments: EnrolmentRepository,
        catalog: CatalogService,
        kick: Callable[[], None] = lambda: None,
    ) -> None:
        self._repository = repository
        self._learners = learners
        self._enrolments = enrolments
        self._catalog = catalog
        self._kick = kick

    def points(self, *, team_id: str, user_id: str) -> int:
        """The learner's points, all time."""
        return self._repository.total(team_id, user_id)

    def streak(self, *, team_id: str, user_id: str, now: datetime) -> Streak:
        """Learning days in a row with a lesson done, and the best run (bot/domain/streaks.py)."""
        done = [at for _, _, at in self._repository.completions(team_id, user_id)]
        return self._streak(team_id, user_id, done, now=now)

    def standing(self, *, team_id: str, user_id: str, now: datetime) -> Standing:
        """Points, streak, best streak and badges: for `/learn progress` and App Home."""
        run = self.streak(team_id=team_id, user_id=user_id, now=now)
        return Standing(
            points=self.points(team_id=team_id, user_id=user_id),
            streak=run.current,
            best_streak=run.best,
            badges=tuple(self._repository.badges(team_id, user_id)),
        )

    def badges(self, *, team_id: str, user_id: str) -> list[BadgeRecord]:
        return self._repository.badges(team_id, user_id)

    def check_milestones(self, *, team_id: str, user_id: str, now: datetime) -> list[Milestone]:
        """Store and celebrate (by DM, through the outbox) milestones reached and not yet had.

        Idempotent: a milestone's badge key is unique per learner, so calling this again, from a
        retried click or another process at the same moment, celebrates nothing twice.
        """
        facts = self._repository.milestone_facts(team_id, user_id)
        state = self._state(team_id, user_id, facts, now=now)
        known = facts.badges
        new = []
        for milestone in milestones.reached(LearnerState(), state):
            if milestone.key in known:
                continue
            if self._repository.reach(
                team_id=team_id,
                user_id=user_id,
                key=milestone.key,
                kind=milestone.kind.value,
                title=milestone.badge,
                text=milestones.celebration(milestone),
                now=now,
            ):
                new.append(milestone)
        if new:
            log.info("%s reached %s", user_id, ", ".join(m.key for m in new))
            self._kick()
        return new

    def _state(
        self, team_id: str, user_id: str, facts: MilestoneFacts, *, now: datetime
    ) -> LearnerState:
        completions = facts.completions
        done_at = [at for _, _, at in completions]
        if facts.schedules is None:  # the learner is not stored: their enrolments say
            run = self._streak(team_id, user_id, done_at, now=now)
        else:
            run = _run(
                done_at,
                facts.tz,
                [days for status, days in facts.schedules if status in _SCHEDULED],
                now=now,
            )
        done: dict[str, set[str]] = {}
        for course, lesson, _ in completions:
            done.setdefault(course, set()).add(lesson)
        finished = frozenset(
            FinishedCourse(course.id, course.title)
            for course in self._catalog.catalog.courses
            if course.lessons
            and {lesson.id for lesson in course.lessons} <= done.get(course.id, set())
        )
        return LearnerState(
            best_streak=run.best, courses=finished, reviews_right=facts.reviews_right
        )

    def _streak(self, team_id: str, user_id: str, done: list[datetime], *, now: datetime) -> Streak:
        learner = self._learners.learner(team_id, user_id)
        schedules = [
            e.days
            for e in self._enrolments.enrolments(team_id, recipient=user_id, statuses=_SCHEDULED)
            if e.recipient_kind == "dm"
        ]
        return _run(done, learner.tz if learner else None, schedules, now=now)


def _run(done: list[datetime], tz_name: str | None, days: list[str], *, now: datetime) -> Streak:
    """The streak of lessons done at `done`, counted in the learner's zone on the learning days
    of their DM enrolments' schedules."""
    tz = zone(tz_name or "UTC")
    schedules = [Days.decode(each) for each in days]
    return streak(local_dates(done, tz), schedules, today=now.astimezone(tz).date())
