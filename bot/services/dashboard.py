"""App Home's dashboard: what a learner (and a lead) sees, gathered as plain data.

Rendering is bot/slack/render_home.py's; this module only reads (and, for Review now, queues the
learner's due reviews through the outbox, each claimed once however often the button is clicked).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot.domain.mastery import Mastery
from bot.domain.recommend import Recommendation
from bot.domain.schedule import Days, stored_days, stored_time, zone
from bot.services.catalog import CatalogService
from bot.services.gamify import GamifyService, Standing
from bot.services.leaderboards import LeaderboardService
from bot.services.people import People
from bot.services.reviews import ReviewService
from bot.services.skills import SkillService
from bot.storage.cards import CardRepository
from bot.storage.dashboard import DashboardRepository, DripProgress
from bot.storage.drips import DripRecord, DripRepository
from bot.storage.enrolments import EnrolmentRepository
from bot.storage.gamify import GamifyRepository
from bot.storage.learners import LearnerRepository
from bot.storage.reminders import DripAttention

_SHOWN_STATUSES = ("waiting", "active", "paused", "finished")


@dataclass(frozen=True)
class CourseProgress:
    """One course the learner takes: lessons done of total and what comes next."""

    course_id: str
    title: str
    done: int
    total: int
    status: str  # waiting | active | paused | finished (the enrolment's)
    next_title: str | None
    next_at: datetime | None


@dataclass(frozen=True)
class ReviewsDue:
    due: int  # scheduled by the end of the learner's day and not sent yet: Review now sends them
    waiting: int  # sent and not answered yet
    next_at: datetime | None  # the first one scheduled later


@dataclass(frozen=True)
class Settings:
    tz: str
    days: Days | None  # the learner's own delivery days (None: each drip's)
    at: time | None
    snoozed_until: datetime | None  # only while it lasts
    visible: bool  # shows on leaderboards


@dataclass(frozen=True)
class LearnerDashboard:
    courses: tuple[CourseProgress, ...]
    standing: Standing
    reviews: ReviewsDue
    mastery: tuple[Mastery, ...]
    recommendations: tuple[Recommendation, ...]
    settings: Settings


@dataclass(frozen=True)
class DripSummary:
    """One drip a lead runs, with its DM learners' progress."""

    drip: DripRecord
    title: str
    learners: int
    completion: int | None  # percent of the learners' lessons done; None without learners
    accuracy: int | None  # percent of first tries right; None before any graded answer
    waiting: int
    paused: int
    reminded: tuple[str, ...] = ()  # reminded about a lesson and not answering yet (user ids)
    paused_themselves: tuple[str, ...] = ()  # missed lessons in a row and paused (user ids)


# Per drip: who paused themselves and who was reminded without answering (ReminderService).
Attention = Callable[[str, list[int]], Sequence[DripAttention]]


class DashboardService:
    def __init__(
        self,
        *,
        repository: DashboardRepository,
        drips: DripRepository,
        learners: LearnerRepository,
        enrolments: EnrolmentRepository,
        cards: CardRepository,
        game: GamifyRepository,
        catalog: CatalogService,
        people: People,
        gamify: GamifyService,
        leaderboards: LeaderboardService,
        skills: SkillService,
        reviews: ReviewService,
        kick: Callable[[], None] = lambda: None,
        attention: Attention | None = None,
    ) -> None:
        self._attention = attention
        self._repository = repository
        self._drips = drips
        self._learners = learners
        self._enrolments = enrolments
        self._cards = cards
        self._game = game
        self._catalog = catalog
        self._people = people
        self._gamify = gamify
        self._leaderboards = leaderboards
        self._skills = skills
        self._reviews = reviews
        self._kick = kick
        self.homes = HomeWatch()

    # -- the learner ----------------------------------------------------------------------------

    def learner(self, *, team_id: str, user_id: str, now: datetime) -> LearnerDashboard:
        record = self._people.learner(team_id, user_id, now=now)
        return LearnerDashboard(
            courses=self.courses(team_id=team_id, user_id=user_id),
            standing=self._gamify.standing(team_id=team_id, user_id=user_id, now=now),
            reviews=self.reviews_due(team_id=team_id, user_id=user_id, now=now),
            mastery=self._skills.mastery(team_id=team_id, user_id=user_id, now=now),
            recommendations=self._skills.recommendations(team_id=team_id, user_id=user_id, now=now),
            settings=Settings(
                tz=record.tz,
                days=stored_days(record.pref_days),
                at=stored_time(record.pref_at),
                snoozed_until=(
                    record.snoozed_until
                    if record.snoozed_until and record.snoozed_until > now
                    else None
                ),
                visible=self._leaderboards.visible(team_id=team_id, user_id=user_id),
            ),
        )

    def courses(self, *, team_id: str, user_id: str) -> tuple[CourseProgress, ...]:
        """Each course the learner takes by DM (live ones first), once per course."""
        done: dict[str, set[str]] = {}
        for course_id, lesson_id, _ in self._game.completions(team_id, user_id):
            done.setdefault(course_id, set()).add(lesson_id)
        enrolments = [
            e
            for e in self._enrolments.enrolments(
                team_id, recipient=user_id, statuses=_SHOWN_STATUSES
            )
            if e.recipient_kind == "dm"
        ]
        enrolments.sort(key=lambda e: (e.status == "finished", e.id))
        found: dict[str, CourseProgress] = {}
        for enrolment in enrolments:
            if enrolment.course in found:
                continue
            course = self._catalog.course(enrolment.course)
            lessons = course.lessons if course else ()
            finished = enrolment.status == "finished"
            upcoming = (
                lessons[enrolment.next_position - 1]
                if not finished and 0 < enrolment.next_position <= len(lessons)
                else None
            )
            found[enrolment.course] = CourseProgress(
                course_id=enrolment.course,
                title=course.title if course else enrolment.course,
                done=len({lesson.id for lesson in lessons} & done.get(enrolment.course, set())),
                total=len(lessons),
                status=enrolment.status,
                next_title=upcoming.title if upcoming else None,
                next_at=enrolment.next_due_at if upcoming else None,
            )
        return tuple(found.values())

    def reviews_due(self, *, team_id: str, user_id: str, now: datetime) -> ReviewsDue:
        until = self._end_of_day(team_id, user_id, now=now)
        cards = self._cards.cards_of(team_id, user_id)
        later = [c.due_at for c in cards if c.status == "active" and c.due_at > until]
        return ReviewsDue(
            due=sum(1 for c in cards if c.status == "active" and c.due_at <= until),
            waiting=sum(1 for c in cards if c.status == "sent"),
            next_at=min(later) if later else None,
        )

    def review_now(self, *, team_id: str, user_id: str, now: datetime) -> int:
        """Queue the learner's reviews due today at once; how many were queued (0 on a repeat)."""
        until = self._end_of_day(team_id, user_id, now=now)
        queued = self._reviews.send_due_now(team_id, user_id, until=until, now=now)
        if queued:
            self._kick()
        return queued

    def _end_of_day(self, team_id: str, user_id: str, *, now: datetime) -> datetime:
        learner = self._learners.learner(team_id, user_id)
        tz = zone(learner.tz if learner else "UTC")
        tomorrow = now.astimezone(tz).date() + timedelta(days=1)
        return datetime.combine(tomorrow, time(0, 0), tzinfo=tz) - timedelta(microseconds=1)

    # -- the lead -------------------------------------------------------------------------------

    def lead_drips(self, *, team_id: str, user_id: str) -> tuple[DripSummary, ...]:
        """The live drips this person scheduled (not courses they joined for themselves)."""
        drips = [
            drip
            for drip in self._drips.drips(team_id, live_only=True)
            if drip.created_by == user_id
            and not (len(drip.targets) == 1 and drip.targets[0][:2] == ("user", user_id))
        ]
        progress = self._repository.drip_progress(team_id, [drip.id for drip in drips])
        attention = {
            item.drip_id: item
            for item in (
                self._attention(team_id, [drip.id for drip in drips])
                if self._attention and drips
                else ()
            )
        }
        return tuple(
            self._summary(drip, progress[drip.id], attention.get(drip.id)) for drip in drips
        )

    def _summary(
        self, drip: DripRecord, stats: DripProgress, attention: DripAttention | None
    ) -> DripSummary:
        course = self._catalog.course(drip.course)
        lessons = len(course.lessons) if course else 0
        possible = stats.learners * lessons
        return DripSummary(
            drip=drip,
            title=course.title if course else drip.course,
            learners=stats.learners,
            completion=(
                round(100 * min(stats.lessons_done, possible) / possible) if possible else None
            ),
            accuracy=(
                round(100 * stats.first_tries_right / stats.first_tries)
                if stats.first_tries
                else None
            ),
            waiting=stats.waiting,
            paused=stats.paused,
            reminded=attention.waiting if attention is not None else (),
            paused_themselves=attention.auto_paused if attention is not None else (),
        )


class HomeWatch:
    """Who has a dashboard published by this process, and refreshes coalesced per person.

    Refreshing after an answer, Done, join or snooze costs a views.publish: it is done only for
    people whose Home this process published (others get theirs fresh when they open it), and
    refreshes asked for while one is under way for the same person fold into one more.
    """

    def __init__(self, *, remember: int = 10_000) -> None:
        self._remember = remember
        self._lock = threading.Lock()
        self._published: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._running: set[tuple[str, str]] = set()
        self._again: set[tuple[str, str]] = set()

    def published(self, team_id: str, user_id: str) -> None:
        key = (team_id, user_id)
        with self._lock:
            self._published[key] = None
            self._published.move_to_end(key)
            while len(self._published) > self._remember:
                self._published.popitem(last=False)

    def refresh(self, team_id: str, user_id: str, publish: Callable[[], None]) -> bool:
        """Run `publish` for a person with a published Home; False when there is none."""
        key = (team_id, user_id)
        with self._lock:
            if key not in self._published:
                return False
            if key in self._running:
                self._again.add(key)  # the running refresh publishes once more
                return True
            self._running.add(key)
        try:
            while True:
                publish()
                with self._lock:
                    if key not in self._again:
                        return True
                    self._again.discard(key)
        finally:
            with self._lock:
                self._running.discard(key)
                self._again.discard(key)
