"""Drips: leads schedule courses to people and channels; learners join, pull, snooze and leave."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import TypeVar

from bot.domain.lesson import Course, Lesson
from bot.domain.schedule import (
    DEFAULT_AT,
    MAX_START_AHEAD,
    Days,
    Target,
    TargetKind,
    next_slot,
    parse_time,
    stored_days,
    stored_time,
    zone,
)
from bot.services.catalog import CatalogService
from bot.services.notices import announce_finished
from bot.services.people import People
from bot.services.ports import ChannelInfo, Messenger, SlackError
from bot.services.refused import Refused
from bot.services.reviews import ReviewService
from bot.services.wording import when
from bot.storage.db import Transaction
from bot.storage.drips import DripRecord, DripRepository
from bot.storage.enrolments import EnrolmentRecord, EnrolmentRepository, NewEnrolment
from bot.storage.learners import LearnerRecord, LearnerRepository
from bot.storage.outbox import Outbox

log = logging.getLogger(__name__)
T = TypeVar("T")

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
class Recipients:
    users: tuple[str, ...]
    channels: tuple[ChannelInfo, ...]
    labels: tuple[tuple[str, str, str], ...]  # (kind, ref, label) of each target


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


class DripService:
    def __init__(
        self,
        *,
        repository: DripRepository,
        learners: LearnerRepository,
        enrolments: EnrolmentRepository,
        outbox: Outbox,
        catalog: CatalogService,
        people: People,
        messenger: Messenger,
        bot_user_id: Callable[[str], str],
        kick: Callable[[], None] = lambda: None,
        reviews: ReviewService | None = None,
    ) -> None:
        self._reviews = reviews
        self._repository = repository
        self._learners = learners
        self._enrolments = enrolments
        self._outbox = outbox
        self._catalog = catalog
        self._people = people
        self._messenger = messenger
        self._bot_user_id = bot_user_id
        self.kick = kick

    # -- leads --------------------------------------------------------------------------------

    def require_lead(self, team_id: str, user_id: str, *, doing: str, now: datetime) -> None:
        if not self._role_check(self._people.is_lead, team_id, user_id, now=now):
            raise Refused(
                f"Only leads can {doing}. Ask a workspace admin to make you one "
                f"(`/learn leads add @you`)."
            )

    def require_admin(self, team_id: str, user_id: str, *, doing: str, now: datetime) -> None:
        if not self._role_check(self._people.is_admin, team_id, user_id, now=now):
            raise Refused(
                f"Only admins can {doing}: workspace admins and owners, "
                "and the people listed in MICROLEARN_ADMINS."
            )

    @staticmethod
    def _role_check(
        check: Callable[..., bool], team_id: str, user_id: str, *, now: datetime
    ) -> bool:
        try:
            return check(team_id, user_id, now=now)
        except SlackError as error:  # refuse rather than trust a stale role
            log.warning("role of %s not checked: %s", user_id, error.code)
            raise Refused(
                "I couldn't check your role with Slack just now, so nothing was changed. "
                "Please try again in a minute."
            ) from error

    def course(self, course_id: str) -> Course:
        course = self._catalog.course(course_id)
        if course is None:
            known = ", ".join(f"`{c.id}`" for c in self._catalog.catalog.courses) or "none yet"
            raise Refused(f"There is no course `{course_id}`. The courses are {known}.")
        if not course.lessons:
            raise Refused(f"The course `{course_id}` has no lessons yet.")
        return course

    def schedule(
        self, *, team_id: str, lead_id: str, request: ScheduleRequest, now: datetime
    ) -> ScheduleResult:
        """Create a drip: resolve the targets, enrol everyone, and tell them (once) by DM."""
        self.require_lead(team_id, lead_id, doing="schedule courses", now=now)
        course = self.course(request.course)
        recipients = self.resolve(team_id, request.targets)
        warnings: list[str] = []
        discuss_channel = None
        if request.discuss_in is not None:
            info = self._channel(team_id, request.discuss_in, require_member=False)
            discuss_channel = info.id
            if not info.is_member:
                warnings.append(
                    f"I'm not in <#{info.id}>, so I can't open discussion threads there yet: "
                    f"invite me with `/invite @microlearn` in <#{info.id}>."
                )
        lead = self._people.learner(team_id, lead_id, now=now)
        today = now.astimezone(zone(lead.tz)).date()
        if request.start_on is not None and request.start_on < today:
            raise Refused(f"The start date {request.start_on} has passed: pick today or later.")
        if request.start_on is not None and request.start_on > today + MAX_START_AHEAD:
            raise Refused(
                f"The start date {request.start_on} is too far ahead: pick one within a year."
            )
        at = request.at or DEFAULT_AT
        # Every enrolment is planned before the drip exists: a failure leaves nothing behind.
        plans = [
            NewEnrolment(
                recipient=channel.id,
                recipient_kind="channel",
                tz=lead.tz,
                days=request.days.encode(),
                at_time=at.strftime("%H:%M"),
                start_on=request.start_on,
                next_due_at=next_slot(
                    request.days, at, zone(lead.tz), after=now, start_on=request.start_on
                ),
                status="active",
            )
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
                    self._welcome(
                        team_id, drip_id, plan.recipient, lead_id, course, plan, now=now, tx=tx
                    )
        self.kick()
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
                try:
                    learner = self._people.learner(team_id, user_id, now=now)
                except SlackError as error:
                    log.warning("profile of %s not available yet: %s", user_id, error.code)
            if learner is not None and learner.deactivated:
                continue
            plans.append(
                self.dm_plan(learner, user_id, days=days, at=at, start_on=start_on, now=now)
            )
        return plans

    @staticmethod
    def dm_plan(
        learner: LearnerRecord | None,
        user_id: str,
        *,
        days: Days,
        at: time,
        start_on: date | None,
        now: datetime,
    ) -> NewEnrolment:
        """A DM enrolment in the learner's zone, at their own days and time if they set them."""
        # A preference that no longer reads (stored before forms were checked) is ignored.
        if learner is not None:
            days = stored_days(learner.pref_days) or days
            at = stored_time(learner.pref_at) or at
        known = learner is not None and learner.tz_checked_at is not None
        tz = learner.tz if learner is not None and known else "UTC"
        after = max(now, learner.snoozed_until) if learner and learner.snoozed_until else now
        return NewEnrolment(
            recipient=user_id,
            recipient_kind="dm",
            tz=tz,
            days=days.encode(),
            at_time=at.strftime("%H:%M"),
            start_on=start_on,
            next_due_at=next_slot(days, at, zone(tz), after=after, start_on=start_on)
            if known
            else None,
            status="active" if known else "waiting",
        )

    def _welcome(
        self,
        team_id: str,
        drip_id: int,
        user_id: str,
        lead_id: str,
        course: Course,
        plan: NewEnrolment,
        *,
        now: datetime,
        tx: Transaction,
    ) -> None:
        if user_id == lead_id:
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
        self._outbox.enqueue(
            team_id=team_id,
            dedupe_key=f"welcome:{drip_id}:{user_id}",
            kind="notice",
            recipient=user_id,
            recipient_kind="dm",
            due_at=now,
            now=now,
            drip_id=drip_id,
            payload={"text": text},
            tx=tx,
        )

    # -- targets ------------------------------------------------------------------------------

    def resolve(self, team_id: str, targets: Iterable[Target]) -> Recipients:
        """Turn typed targets into user ids to DM and channels to post in."""
        users: dict[str, None] = {}
        channels: dict[str, ChannelInfo] = {}
        labels: list[tuple[str, str, str]] = []
        bot = self._bot_user_id(team_id)
        for target in targets:
            if target.kind is TargetKind.USER and target.id is None:
                # A plain @name may be a person or a user group.
                group = None
                if self._messenger.find_user(team_id, target.name) is None:
                    group = self._messenger.find_usergroup(team_id, target.name)
                    if group is None:
                        raise Refused(
                            f"I can't find anyone or any group called @{target.name} "
                            "in this workspace."
                        )
                    target = Target(TargetKind.USERGROUP, group, target.name)
            if target.kind is TargetKind.USER:
                user_id = target.id or self._messenger.find_user(team_id, target.name)
                if user_id is None:
                    raise Refused(f"I can't find anyone called @{target.name} in this workspace.")
                if user_id != bot:
                    users[user_id] = None
                labels.append((target.kind.value, user_id, target.name))
            elif target.kind is TargetKind.CHANNEL:
                info = self._channel(team_id, target, require_member=True)
                channels[info.id] = info
                labels.append((target.kind.value, info.id, info.name))
            elif target.kind is TargetKind.USERGROUP:
                group = target.id or self._messenger.find_usergroup(team_id, target.name)
                if group is None:
                    raise Refused(f"I can't find a user group called @{target.name}.")
                members = self._call(
                    partial(self._messenger.usergroup_members, team_id, group),
                    missing=f"I can't find the user group @{target.name or group}.",
                )
                users.update((m, None) for m in members if m != bot)
                labels.append((target.kind.value, group, target.name))
            else:
                info = self._channel(team_id, target, require_member=False)
                members = self._call(
                    partial(self._messenger.channel_members, team_id, info.id),
                    missing=f"I can't see the members of <#{info.id}>: invite me there first.",
                )
                users.update((m, None) for m in members if m != bot)
                labels.append((target.kind.value, info.id, info.name))
        if not users and not channels:
            raise Refused("Those targets have nobody in them (apart from me).")
        return Recipients(tuple(users), tuple(channels.values()), tuple(labels))

    def _channel(self, team_id: str, target: Target, *, require_member: bool) -> ChannelInfo:
        shown = f"#{target.name}" if target.name else f"<#{target.id}>"
        if target.id is None:
            found = self._messenger.find_channel(team_id, target.name)
            if found is None:
                raise Refused(
                    f"I can't find a channel called {shown}. If it's private, invite me "
                    f"to it first (`/invite @microlearn`)."
                )
            channel_id = found.id
        else:
            channel_id = target.id
        info = self._call(
            lambda: self._messenger.channel(team_id, channel_id),
            missing=f"I can't find {shown}. If it's private, invite me to it first "
            "(`/invite @microlearn`).",
        )
        if info.is_archived:
            raise Refused(f"<#{info.id}> is archived.")
        if require_member and not info.is_member:
            raise Refused(
                f"I'm not in <#{info.id}> yet. Invite me with `/invite @microlearn` "
                f"in <#{info.id}>, then try again."
            )
        return info

    @staticmethod
    def _call(call: Callable[[], T], *, missing: str) -> T:
        try:
            return call()
        except SlackError as error:
            if error.code in ("channel_not_found", "no_such_subteam", "not_in_channel"):
                raise Refused(missing) from error
            raise

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
        self.require_lead(team_id, lead_id, doing="send lessons", now=now)
        lesson = self.find_lesson(address)
        recipients = self.resolve(team_id, targets)
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

    def find_lesson(self, address: str) -> Lesson:
        """A lesson by `<course>/<lesson>`, a unique lesson id, or a course (its first lesson)."""
        course = self._catalog.course(address)
        if course is not None and course.lessons:
            return course.lessons[0]
        found = self._catalog.find_lessons(address)
        if len(found) == 1:
            return found[0]
        if found:
            options = ", ".join(f"`{lesson.key}`" for lesson in found)
            raise Refused(f"`{address}` is in several courses: say which one, e.g. {options}.")
        raise Refused(
            f"There is no lesson or course `{address}`. `/learn courses` lists the courses; "
            "a lesson is `<course>/<lesson>`."
        )

    # -- managing drips -----------------------------------------------------------------------

    def list_drips(self, *, team_id: str, lead_id: str, now: datetime) -> list[DripRecord]:
        self.require_lead(team_id, lead_id, doing="list drips", now=now)
        return self._repository.drips(team_id)

    def change(
        self, *, team_id: str, lead_id: str, drip_id: int, action: str, now: datetime
    ) -> DripRecord:
        """Pause, resume or cancel a drip."""
        self.require_lead(team_id, lead_id, doing=f"{action} drips", now=now)
        drip = self._repository.drip(team_id, drip_id)
        if drip is None:
            raise Refused(f"There is no drip #{drip_id}. `/learn schedules` lists them.")
        allowed = {"pause": ("active",), "resume": ("paused",), "cancel": ("active", "paused")}
        stalled = (
            action == "resume"
            and drip.status in ("active", "finished")
            and any(
                e.status == "paused" for e in self._enrolments.enrolments(team_id, drip_id=drip_id)
            )
        )
        if drip.status not in allowed[action] and not stalled:
            raise Refused(f"Drip #{drip_id} is {drip.status}, so it can't be {_past(action)}.")
        status = {"pause": "paused", "resume": "active", "cancel": "cancelled"}[action]
        self._repository.set_drip_status(team_id, drip_id, status, now=now)
        if action == "cancel":
            self._enrolments.cancel_pending(team_id, drip_id)
        if action == "resume":
            for enrolment in self._enrolments.enrolments(
                team_id, drip_id=drip_id, statuses=("active",)
            ):
                self._catch_up(enrolment, now=now)
            self.kick()
        updated = self._repository.drip(team_id, drip_id)
        assert updated is not None
        return updated

    def _catch_up(self, enrolment: EnrolmentRecord, *, now: datetime) -> None:
        """After a pause, a lesson whose slot has passed moves to the next slot."""
        if enrolment.next_due_at is not None and enrolment.next_due_at <= now:
            self._enrolments.reschedule(enrolment.id, next_due_at=self._next(enrolment, after=now))

    @staticmethod
    def _next(enrolment: EnrolmentRecord, *, after: datetime) -> datetime:
        return next_slot(
            Days.decode(enrolment.days),
            parse_time(enrolment.at_time),
            zone(enrolment.tz),
            after=after,
            start_on=enrolment.start_on,
        )

    # -- learners -----------------------------------------------------------------------------

    def join(self, *, team_id: str, user_id: str, course_id: str, now: datetime) -> JoinResult:
        """Self-enrol: a personal DM drip at the learner's own settings."""
        course = self.course(course_id)
        for enrolment in self._enrolments.enrolments(
            team_id, recipient=user_id, statuses=("waiting", "active", "paused")
        ):
            if enrolment.course == course.id:
                raise Refused(
                    f"You're already taking *{course.title}*"
                    + (
                        f" (next lesson {when(enrolment.next_due_at)})"
                        if enrolment.next_due_at
                        else ""
                    )
                    + ". `/learn next` sends the next lesson now."
                )
        learner = self._people.learner(team_id, user_id, now=now)
        plan = self.dm_plan(learner, user_id, days=Days(), at=DEFAULT_AT, start_on=None, now=now)
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
        course = self.course(course_id)
        left = [
            enrolment
            for enrolment in self._enrolments.enrolments(
                team_id, recipient=user_id, statuses=("waiting", "active", "paused")
            )
            if enrolment.course == course.id
        ]
        if not left:
            raise Refused(f"You're not taking *{course.title}*, so there is nothing to leave.")
        for enrolment in left:
            self._enrolments.reschedule(enrolment.id, next_due_at=None, status="left")
            self._enrolments.finish_drip(team_id, enrolment.drip_id, now=now)
        return course

    def next_lesson(self, *, team_id: str, user_id: str, now: datetime) -> NextResult:
        """Send the learner's next lesson now; the drip then continues from the one after."""
        live = self._enrolments.enrolments(
            team_id, recipient=user_id, statuses=("active", "waiting")
        )
        for enrolment in live:
            course = self._catalog.course(enrolment.course)
            if course is None or enrolment.next_position > len(course.lessons):
                continue
            lesson = course.lessons[enrolment.next_position - 1]
            if not self._enrolments.advance(
                enrolment.id, position=enrolment.next_position, lesson_count=len(course.lessons)
            ):
                continue  # a scheduled delivery took this lesson a moment ago
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
                        self._outbox,
                        self._repository,
                        self._catalog,
                        team_id=team_id,
                        drip_id=enrolment.drip_id,
                        now=now,
                        tx=tx,
                    )
            self.kick()
            return NextResult(lesson, course)
        if self._enrolments.enrolments(team_id, recipient=user_id, statuses=("finished",)):
            raise Refused(
                "You've finished every course you joined. :tada: `/learn courses` lists more."
            )
        raise Refused(
            "You're not taking a course yet. `/learn courses` lists them; "
            "`/learn join <course>` starts one."
        )

    def snooze(self, *, team_id: str, user_id: str, days: int, now: datetime) -> datetime:
        """Hold the learner's DM lessons for `days` days; return when they start again."""
        learner = self._people.learner(team_id, user_id, now=now)
        local_midnight = datetime.combine(
            now.astimezone(zone(learner.tz)).date() + timedelta(days=days),
            time(0, 0),
            tzinfo=zone(learner.tz),
        )
        until = local_midnight.astimezone(now.tzinfo)
        self._learners.set_snooze(team_id, user_id, until)
        if self._reviews is not None:  # reviews wait too, keeping their spacing
            # Counted from the start of today, the shift is the snooze's whole days: a review
            # due Tuesday at the learner's slot comes `days` days later, at the slot again.
            today = datetime.combine(
                now.astimezone(zone(learner.tz)).date(), time(0, 0), tzinfo=zone(learner.tz)
            )
            self._reviews.hold_for_snooze(
                team_id=team_id, user_id=user_id, start=today.astimezone(now.tzinfo), end=until
            )
        for enrolment in self._enrolments.enrolments(
            team_id, recipient=user_id, statuses=("active",)
        ):
            self._enrolments.reschedule(
                enrolment.id, next_due_at=self._next(enrolment, after=until)
            )
        return until

    def resume_own(self, *, team_id: str, user_id: str, now: datetime) -> datetime | None:
        """End a snooze; return when the next lesson comes."""
        self._learners.set_snooze(team_id, user_id, None)
        upcoming: list[datetime] = []
        for enrolment in self._enrolments.enrolments(
            team_id, recipient=user_id, statuses=("active",)
        ):
            due = self._next(enrolment, after=now)
            self._enrolments.reschedule(enrolment.id, next_due_at=due)
            upcoming.append(due)
        return min(upcoming) if upcoming else None

    def upload_to(
        self, *, team_id: str, user_id: str, filename: str, content: bytes, title: str, comment: str
    ) -> None:
        """Send a file to someone's DM with the bot."""
        self._messenger.upload(
            team_id, user_id, filename=filename, content=content, title=title, comment=comment
        )

    def my_enrolments(self, *, team_id: str, user_id: str) -> list[EnrolmentRecord]:
        return self._enrolments.enrolments(
            team_id, recipient=user_id, statuses=("waiting", "active", "paused")
        )

    def team_drips(self, team_id: str) -> list[DripRecord]:
        return self._repository.drips(team_id)

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

    def member_joined(self, *, team_id: str, user_id: str, channel_id: str, now: datetime) -> int:
        """Someone joined a channel: enrol them in live "members of" drips of that channel."""
        if user_id == self._bot_user_id(team_id):
            return 0
        joined = 0
        for drip in self._repository.drips(team_id, live_only=True):
            if ("members", channel_id) not in {(kind, ref) for kind, ref, _ in drip.targets}:
                continue
            learner = self._learners.learner(team_id, user_id)
            plan = self.dm_plan(
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
                    self._welcome(
                        team_id, drip.id, user_id, drip.created_by, course, plan, now=now, tx=tx
                    )
            joined += bool(created)
        if joined:
            self.kick()
        return joined


def _past(action: str) -> str:
    return {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[action]
