"""What learners do for themselves: join and leave a course, pull the next lesson, snooze,
resume, and set their own days and time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot.domain.lesson import Course, Lesson
from bot.domain.schedule import DEFAULT_AT, Days, next_slot, parse_time, zone
from bot.services.catalog import CatalogService
from bot.services.notices import Notices, announce_finished
from bot.services.people import People
from bot.services.refused import Refused
from bot.services.reviews import ReviewService
from bot.services.slots import dm_plan, next_due
from bot.services.wording import when
from bot.storage.drips import DripRepository
from bot.storage.enrolments import EnrolmentRecord, EnrolmentRepository
from bot.storage.learners import LearnerRepository
from bot.storage.outbox import Outbox

LIVE = ("waiting", "active", "paused")


@dataclass(frozen=True)
class JoinResult:
    course: Course
    drip_id: int
    first_at: datetime | None
    days: Days
    at: time
    tz: str


@dataclass(frozen=True)
class NextResult:
    lesson: Lesson
    course: Course


class SelfService:
    def __init__(
        self,
        *,
        repository: DripRepository,
        learners: LearnerRepository,
        enrolments: EnrolmentRepository,
        outbox: Outbox,
        notices: Notices,
        catalog: CatalogService,
        people: People,
        kick: Callable[[], None] = lambda: None,
        reviews: ReviewService | None = None,
    ) -> None:
        self._repository = repository
        self._learners = learners
        self._enrolments = enrolments
        self._outbox = outbox
        self._notices = notices
        self._catalog = catalog
        self._people = people
        self._reviews = reviews
        self.kick = kick

    def join(self, *, team_id: str, user_id: str, course_id: str, now: datetime) -> JoinResult:
        """Self-enrol: a personal DM drip at the learner's own settings."""
        course = self._catalog.require_course(course_id)
        for enrolment in self._taking(team_id, user_id, course.id):
            raise Refused(
                f"You're already taking *{course.title}*"
                + (f" (next lesson {when(enrolment.next_due_at)})" if enrolment.next_due_at else "")
                + ". `/learn next` sends the next lesson now."
            )
        learner = self._people.learner(team_id, user_id, now=now)
        plan = dm_plan(learner, user_id, days=Days(), at=DEFAULT_AT, start_on=None, now=now)
        with self._repository.transaction() as tx:  # the drip and its enrolment, together
            drip_id = self._repository.create_drip(
                team_id=team_id,
                course=course.id,
                created_by=user_id,
                days=plan.days,
                at_time=plan.at_time,
                start_on=None,
                channel_tz=learner.tz,
                discuss_channel=None,
                targets=[("user", user_id, learner.name)],
                now=now,
                tx=tx,
            )
            self._enrolments.enrol(
                team_id=team_id,
                drip_id=drip_id,
                enrolled_by=user_id,
                enrolments=[plan],
                now=now,
                tx=tx,
            )
        self.kick()
        return JoinResult(
            course,
            drip_id,
            plan.next_due_at,
            Days.decode(plan.days),
            parse_time(plan.at_time),
            plan.tz,
        )

    def leave(self, *, team_id: str, user_id: str, course_id: str, now: datetime) -> Course:
        course = self._catalog.require_course(course_id)
        left = self._taking(team_id, user_id, course.id)
        if not left:
            raise Refused(f"You're not taking *{course.title}*, so there is nothing to leave.")
        for enrolment in left:
            self._enrolments.reschedule(enrolment.id, next_due_at=None, status="left")
            self._enrolments.finish_drip(team_id, enrolment.drip_id, now=now)
        return course

    def _taking(self, team_id: str, user_id: str, course_id: str) -> list[EnrolmentRecord]:
        """The learner's live enrolments in a course."""
        return [
            enrolment
            for enrolment in self._enrolments.enrolments(team_id, recipient=user_id, statuses=LIVE)
            if enrolment.course == course_id
        ]

    def next_lesson(self, *, team_id: str, user_id: str, now: datetime) -> NextResult:
        """Send the learner's next lesson now; the drip then continues from the one after."""
        live = self._enrolments.enrolments(
            team_id, recipient=user_id, statuses=("active", "waiting")
        )
        for enrolment in live:
            pulled = self._pull(team_id, user_id, enrolment, now=now)
            if pulled is not None:
                self.kick()
                return pulled
        if self._enrolments.enrolments(team_id, recipient=user_id, statuses=("finished",)):
            raise Refused(
                "You've finished every course you joined. :tada: `/learn courses` lists more."
            )
        raise Refused(
            "You're not taking a course yet. `/learn courses` lists them; "
            "`/learn join <course>` starts one."
        )

    def _pull(
        self, team_id: str, user_id: str, enrolment: EnrolmentRecord, *, now: datetime
    ) -> NextResult | None:
        """Queue the enrolment's next lesson, unless it has none left or the tick took it."""
        course = self._catalog.course(enrolment.course)
        if course is None or enrolment.next_position > len(course.lessons):
            return None
        lesson = course.lessons[enrolment.next_position - 1]
        if not self._enrolments.advance(
            enrolment.id, position=enrolment.next_position, lesson_count=len(course.lessons)
        ):
            return None  # a scheduled delivery took this lesson a moment ago
        self._outbox.enqueue(
            team_id=team_id,
            dedupe_key=f"lesson:{enrolment.id}:{enrolment.next_position}",
            kind="lesson",
            recipient=user_id,
            recipient_kind="dm",
            due_at=now,
            now=now,
            lesson=(course.id, lesson.id),
            drip_id=enrolment.drip_id,
            enrolment_id=enrolment.id,
            payload={"pulled_by": user_id},  # asked for: it goes out even during a snooze
        )
        with self._repository.transaction() as tx:  # finished and announced, together
            if self._enrolments.finish_drip(team_id, enrolment.drip_id, now=now, tx=tx):
                announce_finished(
                    self._notices,
                    self._repository,
                    self._catalog,
                    team_id=team_id,
                    drip_id=enrolment.drip_id,
                    now=now,
                    tx=tx,
                )
        return NextResult(lesson, course)

    def snooze(self, *, team_id: str, user_id: str, days: int, now: datetime) -> datetime:
        """Hold the learner's DM lessons for `days` days; return when they start again."""
        learner = self._people.learner(team_id, user_id, now=now)
        today = datetime.combine(
            now.astimezone(zone(learner.tz)).date(), time(0, 0), tzinfo=zone(learner.tz)
        )
        local_midnight = datetime.combine(
            today.date() + timedelta(days=days), time(0, 0), tzinfo=zone(learner.tz)
        )
        until = local_midnight.astimezone(now.tzinfo)
        self._learners.set_snooze(team_id, user_id, until)
        if self._reviews is not None:  # reviews wait too, keeping their spacing
            # Counted from the start of today, the shift is the snooze's whole days: a review
            # due Tuesday at the learner's slot comes `days` days later, at the slot again.
            self._reviews.hold_for_snooze(
                team_id=team_id, user_id=user_id, start=today.astimezone(now.tzinfo), end=until
            )
        for enrolment in self._enrolments.enrolments(
            team_id, recipient=user_id, statuses=("active",)
        ):
            self._enrolments.reschedule(enrolment.id, next_due_at=next_due(enrolment, after=until))
        return until

    def resume_own(self, *, team_id: str, user_id: str, now: datetime) -> datetime | None:
        """End a snooze; return when the next lesson comes."""
        self._learners.set_snooze(team_id, user_id, None)
        upcoming: list[datetime] = []
        for enrolment in self._enrolments.enrolments(
            team_id, recipient=user_id, statuses=("active",)
        ):
            due = next_due(enrolment, after=now)
            self._enrolments.reschedule(enrolment.id, next_due_at=due)
            upcoming.append(due)
        return min(upcoming) if upcoming else None

    def set_preferences(
        self, *, team_id: str, user_id: str, days: Days, at: time, now: datetime
    ) -> None:
        """The learner's own days and time for every DM lesson, from now on."""
        self._people.learner(team_id, user_id, now=now)
        at_time = at.strftime("%H:%M")
        self._learners.set_learner_prefs(team_id, user_id, days=days.encode(), at_time=at_time)
        learner = self._learners.learner(team_id, user_id)
        after = max(now, learner.snoozed_until) if learner and learner.snoozed_until else now
        for enrolment in self._enrolments.enrolments(
            team_id, recipient=user_id, statuses=("active", "paused")
        ):
            if enrolment.recipient_kind != "dm":
                continue
            due = next_slot(days, at, zone(enrolment.tz), after=after)
            self._enrolments.reschedule(
                enrolment.id, next_due_at=due, days=days.encode(), at_time=at_time
            )
