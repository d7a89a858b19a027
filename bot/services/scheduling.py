"""Scheduling: a lead's `/learn schedule` and `/learn send`; members joining a drip's channel."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time

from bot.domain.lesson import Course, Lesson
from bot.domain.schedule import (
    DEFAULT_AT,
    MAX_START_AHEAD,
    Days,
    Target,
    next_slot,
    parse_time,
    zone,
)
from bot.services.catalog import CatalogService
from bot.services.notices import Notices
from bot.services.people import People
from bot.services.ports import SlackError
from bot.services.refused import Refused
from bot.services.roles import Roles
from bot.services.slots import dm_plan
from bot.services.targets import Recipients, Targets
from bot.storage.db import Transaction
from bot.storage.drips import DripRecord, DripRepository
from bot.storage.enrolments import EnrolmentRepository, NewEnrolment
from bot.storage.learners import LearnerRecord, LearnerRepository
from bot.storage.outbox import Outbox

log = logging.getLogger(__name__)

SYNC_PROFILES = 20  # look up at most this many unknown time zones while the lead waits


@dataclass(frozen=True)
class ScheduleRequest:
    course: str
    targets: tuple[Target, ...]
    days: Days = field(default_factory=Days)
    at: time | None = None
    start_on: date | None = None
    discuss_in: Target | None = None


@dataclass(frozen=True)
class ScheduleResult:
    drip_id: int
    course: Course
    users: int
    channels: tuple[str, ...]
    already: int  # recipients who were enrolled before
    waiting: int  # people whose time zone is still being looked up
    first_at: datetime | None
    days: Days
    at: time
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SendResult:
    lesson: Lesson
    users: int
    channels: tuple[str, ...]


class Scheduling:
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
        roles: Roles,
        targets: Targets,
        bot_user_id: Callable[[str], str],
        kick: Callable[[], None] = lambda: None,
    ) -> None:
        self._repository = repository
        self._learners = learners
        self._enrolments = enrolments
        self._outbox = outbox
        self._notices = notices
        self._catalog = catalog
        self._people = people
        self._roles = roles
        self._targets = targets
        self._bot_user_id = bot_user_id
        self.kick = kick

    def schedule(
        self, *, team_id: str, lead_id: str, request: ScheduleRequest, now: datetime
    ) -> ScheduleResult:
        """Create a drip: resolve the targets, enrol everyone, and tell them (once) by DM."""
        self._roles.require_lead(team_id, lead_id, doing="schedule courses", now=now)
        course = self._catalog.require_course(request.course)
        recipients = self._targets.resolve(team_id, request.targets)
        discuss_channel, warnings = self._discussion_channel(team_id, request.discuss_in)
        lead = self._people.learner(team_id, lead_id, now=now)
        _check_start(request.start_on, today=now.astimezone(zone(lead.tz)).date())
        at = request.at or DEFAULT_AT
        # Every enrolment is planned before the drip exists: a failure leaves nothing behind.
        plans = [
            _channel_plan(channel.id, request, at=at, tz=lead.tz, now=now)
            for channel in recipients.channels
        ]
        plans += self._dm_enrolments(
            team_id, recipients.users, days=request.days, at=at, start_on=request.start_on, now=now
        )
        # The drip, its enrolments and their welcome notices commit together, or not at all.
        with self._repository.transaction() as tx:
            drip_id = self._repository.create_drip(
                team_id=team_id,
                course=course.id,
                created_by=lead_id,
                days=request.days.encode(),
                at_time=at.strftime("%H:%M"),
                start_on=request.start_on,
                channel_tz=lead.tz,
                discuss_channel=discuss_channel,
                targets=recipients.labels,
                now=now,
                tx=tx,
            )
            created = set(
                self._enrolments.enrol(
                    team_id=team_id,
                    drip_id=drip_id,
                    enrolled_by=lead_id,
                    enrolments=plans,
                    now=now,
                    tx=tx,
                )
            )
            for plan in plans:
                if plan.recipient_kind == "dm" and plan.recipient in created:
                    self._welcome(team_id, drip_id, lead_id, course, plan, now=now, tx=tx)
        self.kick()
        return _result(drip_id, course, recipients, plans, created, request, at, warnings)

    def _discussion_channel(
        self, team_id: str, discuss_in: Target | None
    ) -> tuple[str | None, list[str]]:
        """The channel a drip discusses in, and a warning when the bot cannot open threads there."""
        if discuss_in is None:
            return None, []
        info = self._targets.channel(team_id, discuss_in, require_member=False)
        if info.is_member:
            return info.id, []
        return info.id, [
            f"I'm not in <#{info.id}>, so I can't open discussion threads there yet: "
            f"invite me with `/invite @microlearn` in <#{info.id}>."
        ]

    def _dm_enrolments(
        self,
        team_id: str,
        users: Iterable[str],
        *,
        days: Days,
        at: time,
        start_on: date | None,
        now: datetime,
    ) -> list[NewEnrolment]:
        plans: list[NewEnrolment] = []
        lookups = 0
        for user_id in users:
            learner = self._learners.learner(team_id, user_id)
            if (learner is None or learner.tz_checked_at is None) and lookups < SYNC_PROFILES:
                lookups += 1
                learner = self._looked_up(team_id, user_id, learner, now=now)
            if learner is not None and learner.deactivated:
                continue
            plans.append(dm_plan(learner, user_id, days=days, at=at, start_on=start_on, now=now))
        return plans

    def _looked_up(
        self, team_id: str, user_id: str, known: LearnerRecord | None, *, now: datetime
    ) -> LearnerRecord | None:
        try:
            return self._people.learner(team_id, user_id, now=now)
        except SlackError as error:
            log.warning("profile of %s not available yet: %s", user_id, error.code)
            return known

    def _welcome(
        self,
        team_id: str,
        drip_id: int,
        lead_id: str,
        course: Course,
        plan: NewEnrolment,
        *,
        now: datetime,
        tx: Transaction,
    ) -> None:
        if plan.recipient == lead_id:
            return
        days = Days.decode(plan.days).describe()
        count = len(course.lessons)
        who = f"<@{lead_id}>" if lead_id else "Your team"  # blank: the lead was forgotten
        text = (
            f":wave: {who} enrolled you in *{course.title}*: {count} short "
            f"lesson{'s' if count != 1 else ''}, {days} at {plan.at_time} your time"
            + (f", starting {plan.start_on:%a %d %b}" if plan.start_on else "")
            + ". Each takes a few minutes, and the quiz is one tap.\n"
            f"Need a break? `/learn snooze 7` pauses your lessons for a week and `/learn resume` "
            f"brings them back. To stop this course: `/learn leave {course.id}`."
        )
        self._notices.dm(
            team_id=team_id,
            user_id=plan.recipient,
            key=f"welcome:{drip_id}:{plan.recipient}",
            text=text,
            now=now,
            drip_id=drip_id,
            tx=tx,
        )

    # -- sending now --------------------------------------------------------------------------

    def send_now(
        self,
        *,
        team_id: str,
        lead_id: str,
        address: str,
        targets: tuple[Target, ...],
        now: datetime,
    ) -> SendResult:
        """One lesson to the targets now, outside any drip (`/learn send`)."""
        self._roles.require_lead(team_id, lead_id, doing="send lessons", now=now)
        lesson = self._catalog.find_lesson(address)
        recipients = self._targets.resolve(team_id, targets)
        batch = uuid.uuid4().hex[:12]
        destinations = [(user, "dm") for user in recipients.users] + [
            (channel.id, "channel") for channel in recipients.channels
        ]
        self._outbox.enqueue_lessons(
            team_id=team_id,
            lesson=(lesson.course_id, lesson.id),
            recipients=[
                (f"send:{batch}:{recipient}", recipient, kind) for recipient, kind in destinations
            ],
            due_at=now,
            now=now,
            payload={"sent_by": lead_id},
        )
        self.kick()
        return SendResult(lesson, len(recipients.users), tuple(c.id for c in recipients.channels))

    # -- members of a channel -----------------------------------------------------------------

    def member_joined(self, *, team_id: str, user_id: str, channel_id: str, now: datetime) -> int:
        """Someone joined a channel: enrol them in live "members of" drips of that channel."""
        if user_id == self._bot_user_id(team_id):
            return 0
        joined = 0
        for drip in self._repository.drips(team_id, live_only=True):
            if ("members", channel_id) in {(kind, ref) for kind, ref, _ in drip.targets}:
                joined += self._enrol_member(team_id, user_id, drip, now=now)
        if joined:
            self.kick()
        return joined

    def _enrol_member(self, team_id: str, user_id: str, drip: DripRecord, *, now: datetime) -> bool:
        learner = self._learners.learner(team_id, user_id)
        plan = dm_plan(
            learner,
            user_id,
            days=Days.decode(drip.days),
            at=parse_time(drip.at_time),
            start_on=drip.start_on,
            now=now,
        )
        if plan.status == "active" and drip.status == "paused":
            plan = replace(plan, status="paused")
        course = self._catalog.course(drip.course)
        with self._repository.transaction() as tx:  # the enrolment and its welcome, together
            created = self._enrolments.enrol(
                team_id=team_id,
                drip_id=drip.id,
                enrolled_by=drip.created_by,
                enrolments=[plan],
                now=now,
                tx=tx,
            )
            if created and course is not None:
                self._welcome(team_id, drip.id, drip.created_by, course, plan, now=now, tx=tx)
        return bool(created)


def _check_start(start_on: date | None, *, today: date) -> None:
    if start_on is not None and start_on < today:
        raise Refused(f"The start date {start_on} has passed: pick today or later.")
    if start_on is not None and start_on > today + MAX_START_AHEAD:
        raise Refused(f"The start date {start_on} is too far ahead: pick one within a year.")


def _channel_plan(
    channel_id: str, request: ScheduleRequest, *, at: time, tz: str, now: datetime
) -> NewEnrolment:
    """A channel's enrolment: the drip's days and time in the lead's zone."""
    return NewEnrolment(
        recipient=channel_id,
        recipient_kind="channel",
        tz=tz,
        days=request.days.encode(),
        at_time=at.strftime("%H:%M"),
        start_on=request.start_on,
        next_due_at=next_slot(request.days, at, zone(tz), after=now, start_on=request.start_on),
        status="active",
    )


def _result(
    drip_id: int,
    course: Course,
    recipients: Recipients,
    plans: list[NewEnrolment],
    created: set[str],
    request: ScheduleRequest,
    at: time,
    warnings: list[str],
) -> ScheduleResult:
    due = [p.next_due_at for p in plans if p.next_due_at is not None]
    return ScheduleResult(
        drip_id=drip_id,
        course=course,
        users=len(recipients.users),
        channels=tuple(channel.id for channel in recipients.channels),
        already=len(plans) - len(created),
        waiting=sum(1 for p in plans if p.status == "waiting"),
        first_at=min(due) if due else None,
        days=request.days,
        at=at,
        warnings=tuple(warnings),
    )
