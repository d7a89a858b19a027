"""Delivery: refresh time zones, plan what fell due into the outbox, drain it to Slack at our pace.

Sending is at-least-once by nature (Slack can accept a post and the process die before it records
it), so the window is kept to one message per delivery: each posted part is recorded at once, and
a delivery whose lease expired mid-send first looks for its own copy (message metadata carries the
delivery id and part) before posting again. Several deliveries are in flight at once (`threads`,
see `bot.services.inflight`), each with its parts in order, one recipient's one after another.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from bot.domain.lesson import Course, Lesson, Question
from bot.domain.schedule import Days, next_slot, parse_time, zone
from bot.domain.shuffle import option_order
from bot.services.catalog import CatalogService
from bot.services.discussions import DiscussionService
from bot.services.inflight import InFlight
from bot.services.logcontext import log_ids
from bot.services.metrics import NO_METRICS, Metrics
from bot.services.notices import announce_finished
from bot.services.pacing import Pacer
from bot.services.people import People
from bot.services.ports import (
    Composer,
    ContentProblem,
    Message,
    Messenger,
    Posted,
    Profile,
    SlackError,
)
from bot.services.privacy import PrivacyService
from bot.services.reminders import ReminderService
from bot.services.reviews import ReviewService
from bot.services.wording import channel, user
from bot.storage.drips import DripRepository
from bot.storage.enrolments import EnrolmentRepository
from bot.storage.learners import LearnerRepository
from bot.storage.outbox import Claimed, Outbox
from bot.storage.plan import DueGroup, PlanApplied, PlanReport, PlanRepository

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_TRIES = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
PROFILE_STALE = timedelta(days=1)
PROFILE_BATCH = 200
BULK_PROFILES = 25  # above this many unknown people, read the directory (users.list) instead
RATE_LIMIT_RETRIES = 5
METADATA_TYPE = "microlearn_delivery"
# Enrolments per plan-applying transaction: short enough never to hold rows (or SQLite's write
# lock) for long, big enough to stay far ahead of what Slack lets us send.
PLAN_CHUNK = 1_000

USER_GONE = {"user_not_found", "user_disabled", "account_inactive", "cannot_dm_bot"}
CHANNEL_GONE = {"channel_not_found", "is_archived", "restricted_action"}
CHANNEL_FIXABLE = {"not_in_channel"}  # the lead can fix it: the enrolment waits, paused


_SLOT_TRIES = 5  # slots taken for one post when 429 pauses or late wake-ups spoil them
_LATE = 0.1  # seconds after its slot a post no longer goes out in it


@dataclass(frozen=True)
class DrainReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    messages: int = 0
    planned: int = 0  # lessons of recorded plan slots written while draining
    moved: int = 0


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
        outbox: Outbox,
        repository: DripRepository,
        learners: LearnerRepository,
        enrolments: EnrolmentRepository,
        plans: PlanRepository,
        catalog: CatalogService,
        people: People,
        messenger: Messenger,
        composer: Composer,
        pacer: Pacer,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
        grace: timedelta,
        reviews: ReviewService | None = None,
        discussions: DiscussionService | None = None,
        reminders: ReminderService | None = None,
        batch: int = 50,
        plan_chunk: int | None = None,
        privacy: PrivacyService | None = None,
        steps: Sequence[Callable[[datetime], object]] = (),
        senders: Mapping[str, Callable[[Claimed], None]] | None = None,
        metrics: Metrics = NO_METRICS,
        threads: int = 1,
    ) -> None:
        self._privacy = privacy
        # More tick steps (each queues into the outbox, given `now`), and senders for the
        # outbox kinds that are not messages (a digest is a file upload).
        self._steps = tuple(steps)
        self._senders = dict(senders or {})
        self._metrics = metrics
        self._threads = max(1, threads)
        self._plan_chunk = plan_chunk
        self._reviews = reviews
        self._discussions = discussions
        self._reminders = reminders
        self._outbox = outbox
        self._repository = repository
        self._learners = learners
        self._enrolments = enrolments
        self._plans = plans
        self._catalog = catalog
        self._people = people
        self._messenger = messenger
        self._composer = composer
        self._pacer = pacer
        self._clock = clock
        self._sleep = sleep
        self._grace = grace
        self._batch = batch

    def tick(self, now: datetime, *, budget: timedelta | None = None) -> TickReport:
        """One pass: time zones, planning, then sending until done or out of `budget`."""
        if self._discussions is not None:
            self._discussions.forget_events(now=now)
        if self._privacy is not None:
            self._privacy.expire(now=now)  # MICROLEARN_RETENTION_DAYS
        profiles = self.refresh_profiles(now=now)
        plan = self.plan(now=now)
        for step in self._steps:
            step(now)
        drain = self.drain(now=now, budget=budget)
        return TickReport(profiles, plan, drain)

    # -- time zones ---------------------------------------------------------------------------

    def refresh_profiles(self, *, now: datetime) -> int:
        """Learn the time zone of people waiting for one, and re-check stale ones."""
        wanted = self._learners.learners_to_refresh(
            stale_before=now - PROFILE_STALE, limit=PROFILE_BATCH
        )
        refreshed = 0
        by_team: dict[str, list[str]] = {}
        for team_id, user_id in wanted:
            by_team.setdefault(team_id, []).append(user_id)
        for team_id, users in by_team.items():
            try:
                if len(users) > BULK_PROFILES:
                    wanted_set = set(users)
                    for profile in self._messenger.profiles(team_id):
                        if profile.user_id in wanted_set:
                            self._apply_profile(team_id, profile.user_id, profile, now=now)
                            wanted_set.discard(profile.user_id)
                            refreshed += 1
                    for missing in wanted_set:  # not in the directory: gone
                        self._learners.mark_gone(team_id, missing, now=now)
                        self._stop_person(team_id, missing, "user_not_found", now=now)
                else:
                    for user_id in users:
                        profile = self._messenger.profile(team_id, user_id)
                        self._apply_profile(team_id, user_id, profile, now=now)
                        refreshed += 1
            except SlackError as error:
                if error.code in USER_GONE and len(users) <= BULK_PROFILES:
                    self._learners.mark_gone(team_id, users[refreshed], now=now)
                    self._stop_person(team_id, users[refreshed], error.code, now=now)
                log.warning("time zone lookup paused for %s: %s", team_id, error.code)
        return refreshed

    def _apply_profile(
        self, team_id: str, user_id: str, profile: Profile, *, now: datetime
    ) -> None:
        learner, previous = self._people.save(team_id, profile, now=now)
        if learner.deactivated:
            self._stop_person(team_id, user_id, "account_inactive", now=now)
            return
        for enrolment in self._enrolments.enrolments(
            team_id, recipient=user_id, statuses=("waiting", "active")
        ):
            if enrolment.recipient_kind != "dm":
                continue
            if enrolment.status == "active" and previous == learner.tz == enrolment.tz:
                continue
            if enrolment.status == "active" and enrolment.next_due_at is None:
                continue
            after = max(now, learner.snoozed_until) if learner.snoozed_until else now
            due = next_slot(
                Days.decode(enrolment.days),
                parse_time(enrolment.at_time),
                zone(learner.tz),
                after=after,
                start_on=enrolment.start_on,
            )
            self._enrolments.reschedule(
                enrolment.id,
                next_due_at=due,
                status="active",
                tz=learner.tz,
                only_if_status=("waiting", "active"),
            )

    def _stop_person(self, team_id: str, user_id: str, code: str, *, now: datetime) -> None:
        for enrolment in self._enrolments.enrolments(
            team_id, recipient=user_id, statuses=("waiting", "active", "paused")
        ):
            self._enrolments.stop(enrolment.id)
            self._report(
                team_id,
                owner=enrolment.enrolled_by,
                key=f"gone:{enrolment.id}",
                text=f"{user(user_id)} can't get lessons any more ({_reason(code)}), so I stopped "
                f"their lessons of *{enrolment.course}* (drip #{enrolment.drip_id}).",
                drip_id=enrolment.drip_id,
                now=now,
            )
            self._enrolments.finish_drip(team_id, enrolment.drip_id, now=now)

    # -- planning -----------------------------------------------------------------------------

    def plan(self, *, now: datetime) -> PlanOutcome:
        """Record what is due, group by group, and apply the first chunk of it.

        The rest is applied by `drain` as its queue runs low, a chunk per short transaction.
        """
        if self._reviews is not None:
            self._reviews.plan(now=now)
        if self._discussions is not None:
            self._discussions.nudge(now=now)
        if self._reminders is not None:
            self._reminders.follow_up(now=now)
        recorded = self._plans.plan(now=now, grace=self._grace, next_slot=_group_next_slot)
        return PlanOutcome(recorded, self._apply_planned(now=now))

    def _apply_planned(self, *, now: datetime) -> PlanApplied:
        applied = self._plans.apply_planned(now=now, limit=self._plan_chunk or PLAN_CHUNK)
        for team_id, drip_id in applied.finished_drips:
            self._drip_finished(team_id, drip_id, now=now)
        if applied.planned or applied.moved:
            log.info(
                "planned %d lessons, moved %d missed ones to their next slot",
                applied.planned,
                applied.moved,
            )
        return applied

    def _drip_finished(self, team_id: str, drip_id: int, *, now: datetime) -> None:
        announce_finished(
            self._outbox, self._repository, self._catalog, team_id=team_id, drip_id=drip_id, now=now
        )

    def _report(
        self,
        team_id: str,
        *,
        owner: str | None,
        key: str,
        text: str,
        drip_id: int | None,
        now: datetime,
    ) -> None:
        if not owner:  # None, or blank: the lead was forgotten (`microlearn forget`)
            # Not the text: it names people and lessons, and logs keep no message texts.
            log.warning("nobody to tell about %s", key.split(":", 1)[0])
            return
        self._outbox.enqueue(
            team_id=team_id,
            dedupe_key=key,
            kind="notice",
            recipient=owner,
            recipient_kind="dm",
            due_at=now,
            now=now,
            drip_id=drip_id,
            payload={"text": text},
        )

    # -- draining -----------------------------------------------------------------------------

    def drain(self, *, now: datetime, budget: timedelta | None = None) -> DrainReport:
        """Send due deliveries until none are left or `budget` is spent.

        Up to `threads` deliveries are in flight; more are claimed while the last claimed ones
        are still going out, so the threads never wait on a claim. What was claimed is sent
        before this returns, even past the budget (at most a batch: a few seconds).
        """
        deadline = now + budget if budget is not None else None
        tally = _Tally()
        planned = moved = 0
        current = now
        more_planned = True
        # Claim again once the queue is down to this: the threads stay busy meanwhile.
        low = max(self._threads, self._batch // 2) if self._threads > 1 else 1
        send = InFlight[Claimed](self._threads, partial(self._send_counted, tally=tally))
        with send as flight:
            while deadline is None or current < deadline:
                claimed = self._outbox.claim(now=current, lease=LEASE, limit=self._batch)
                if len(claimed) < self._batch and more_planned:
                    applied = self._apply_planned(now=current)
                    planned += applied.planned
                    moved += applied.moved
                    more_planned = applied.enrolments > 0
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
        return tally.report(planned=planned, moved=moved)

    def _send_counted(self, delivery: Claimed, *, tally: _Tally) -> None:
        """Send one delivery on a sending thread, its ids on every log line, and count it."""
        with log_ids(
            team_id=delivery.team_id,
            delivery_id=delivery.id,
            drip_id=delivery.drip_id,
            user_id=delivery.recipient if delivery.recipient_kind == "dm" else None,
        ):
            outcome, posted = self._send(delivery)
            log.debug("delivery %d %s: %d message(s) posted", delivery.id, outcome, posted)
        if outcome == "sent":
            self._metrics.delivery_sent(kind=delivery.kind)
        tally.add(outcome, posted)

    def _send(self, delivery: Claimed) -> tuple[str, int]:
        sender = self._senders.get(delivery.kind)
        if sender is not None:
            return self._send_with(sender, delivery)
        snoozed_until = self._held_for(delivery)
        if snoozed_until is not None:
            self._outbox.postpone(delivery, until=snoozed_until)
            return "held", 0
        try:
            parts = self._compose(delivery)
        except (LookupError, ContentProblem) as error:
            if isinstance(error, ContentProblem):
                log.warning("delivery %d cannot be composed: %s", delivery.id, error)
            self._outbox.mark_failed(delivery, error=str(error), now=self._clock())
            self._metrics.delivery_failed(
                kind=delivery.kind,
                reason="content_problem" if isinstance(error, ContentProblem) else "lesson_gone",
            )
            return "failed", 0
        posted = 0
        channel_id = delivery.channel_id
        first_ts = delivery.message_ts
        fixed_thread = str((delivery.payload or {}).get("thread_ts") or "") or None
        rate_limited = 0
        index = delivery.parts_sent
        # Whether Slack may hold this part already: a claim that expired mid-send, or a post
        # whose answer never came (see `_failed`). Looked for by its metadata before posting.
        unsure = delivery.resumed
        if index == 0:
            self._open_drip_thread(delivery)
        while index < len(parts):
            message, threaded = parts[index]
            target = channel_id or delivery.dm_channel or delivery.recipient
            thread_ts = (fixed_thread or first_ts) if threaded else None
            try:
                if unsure:
                    found = self._already_posted(delivery, target, index, thread_ts)
                    unsure = False
                    if found is not None:
                        channel_id = found.channel
                        first_ts = first_ts or found.ts
                        if index == 0:
                            self._channel_thread(delivery, found.ts)
                        if not self._outbox.record_part(
                            delivery,
                            parts_sent=index + 1,
                            channel_id=found.channel,
                            ts=found.ts,
                            sent_at=self._clock() if index + 1 == len(parts) else None,
                        ):
                            return "lost", posted
                        index += 1
                        continue
                # A DM is one conversation whether addressed by user id or by its D… id.
                paced = delivery.recipient if delivery.recipient_kind == "dm" else target
                self._wait_for_slot(delivery.team_id, paced)
                result = self._messenger.post(
                    delivery.team_id,
                    target,
                    message,
                    thread_ts=thread_ts,
                    metadata={
                        "event_type": METADATA_TYPE,
                        "event_payload": {"delivery_id": delivery.id, "part": index},
                    },
                )
            except SlackError as error:
                unsure = unsure or error.uncertain
                if error.code == "ratelimited" and rate_limited < RATE_LIMIT_RETRIES:
                    rate_limited += 1
                    now = self._clock().timestamp()
                    self._pacer.pause(
                        delivery.team_id, until=now + (error.retry_after or 1.0), now=now
                    )
                    continue
                return self._failed(delivery, error, unsure=unsure), posted
            posted += 1
            channel_id = result.channel
            if index == 0:
                first_ts = result.ts
                self._channel_thread(delivery, result.ts)
            if not self._outbox.record_part(
                delivery,
                parts_sent=index + 1,
                channel_id=result.channel,
                ts=result.ts,
                sent_at=self._clock() if index + 1 == len(parts) else None,
            ):
                log.warning("delivery %d was taken over by another process", delivery.id)
                return "lost", posted
            index += 1
        if delivery.recipient_kind == "dm" and channel_id and channel_id != delivery.dm_channel:
            self._learners.set_dm_channel(
                delivery.team_id, delivery.recipient, channel_id, now=self._clock()
            )
        if delivery.parts_sent >= len(parts):  # every part went out before: only the mark is left
            self._outbox.mark_sent(delivery, now=self._clock())
        self._follow_up(delivery)
        return "sent", posted

    def _follow_up(self, delivery: Claimed) -> None:
        """A DM drip lesson is followed up with reminders until it is answered."""
        if (
            self._reminders is not None
            and delivery.kind == "lesson"
            and delivery.recipient_kind == "dm"
            and delivery.enrolment_id is not None
        ):
            # From when it was taken to send (its slot, for a drip's lesson), not when the
            # pacing let it out: its reminders come at the learner's slot time.
            self._reminders.track(delivery_id=delivery.id, delivered_at=delivery.claimed_at)

    def _send_with(self, sender: Callable[[Claimed], None], delivery: Claimed) -> tuple[str, int]:
        """A delivery that is one Slack call made by its kind's sender, paced like a post."""
        try:
            self._wait_for_slot(delivery.team_id, delivery.recipient)
            sender(delivery)
        except (LookupError, ContentProblem) as error:
            self._outbox.mark_failed(delivery, error=str(error), now=self._clock())
            return "failed", 0
        except SlackError as error:
            return self._failed(delivery, error), 0
        self._outbox.mark_sent(delivery, now=self._clock())
        return "sent", 1

    def _held_for(self, delivery: Claimed) -> datetime | None:
        """Until when a snoozed learner's lesson or review waits (None: send it now).

        A lesson they pulled themselves (`/learn next`) goes out, and so does the rest of one
        that was partly posted; notices (replies to what they did) are not held.
        """
        until = delivery.snoozed_until
        if (
            until is None
            or delivery.recipient_kind != "dm"
            or delivery.kind not in ("lesson", "review")
            or delivery.parts_sent > 0
            or (delivery.payload or {}).get("pulled_by")
        ):
            return None
        return until if until > self._clock() else None

    def _already_posted(
        self, delivery: Claimed, target: str, part: int, thread_ts: str | None
    ) -> Posted | None:
        ts = self._messenger.find_posted(
            delivery.team_id, target, delivery_id=delivery.id, part=part, thread_ts=thread_ts
        )
        return Posted(target, ts) if ts else None

    def _wait_for_slot(self, team_id: str, target: str) -> None:
        for _ in range(_SLOT_TRIES):
            wait = self._pacer.channel_wait(team_id, target, self._clock().timestamp())
            if wait > 0:
                self._sleep(wait)
            start = self._clock().timestamp()
            delay = self._pacer.reserve(team_id, target, start)
            if delay > 0:
                self._sleep(delay)
                # Woken well after its slot (the process was starved of CPU, or paused by the
                # collector): posting now would bunch with the posts of later slots, past
                # Slack's burst. A later slot of its own costs less than the 429.
                if self._clock().timestamp() - (start + delay) > _LATE:
                    continue
            # A 429 seen by another post while this one waited: its slot fell in the pause.
            if self._pacer.paused_until(team_id) <= self._clock().timestamp():
                return

    def _open_drip_thread(self, delivery: Claimed) -> None:
        """A DM drip discussing in a channel: the lesson's thread opens with its first delivery."""
        if (
            self._discussions is None
            or delivery.kind != "lesson"
            or delivery.recipient_kind != "dm"
            or delivery.drip_id is None
            or not delivery.discuss_channel
        ):
            return
        try:
            lesson, course = self._lesson(delivery)
        except LookupError:
            return
        if not lesson.discussion:
            return
        channel = delivery.discuss_channel
        self._discussions.ensure_drip_thread(
            team_id=delivery.team_id,
            drip_id=delivery.drip_id,
            channel_id=channel,
            lesson=lesson,
            course=course,
            before_post=lambda: self._wait_for_slot(delivery.team_id, channel),
            now=self._clock(),
        )

    def _channel_thread(self, delivery: Claimed, ts: str) -> None:
        if self._discussions is None or delivery.kind != "lesson":
            return
        if delivery.recipient_kind != "channel":
            return
        lesson, _course = self._lesson(delivery)
        self._discussions.channel_post(
            team_id=delivery.team_id,
            delivery_id=delivery.id,
            drip_id=delivery.drip_id,
            lesson=lesson,
            channel_id=delivery.recipient,
            ts=ts,
            now=self._clock(),
        )

    def _compose(self, delivery: Claimed) -> list[tuple[Message, bool]]:
        """The messages of a delivery, each flagged when it goes in the first one's thread."""
        if delivery.kind == "notice":
            payload = delivery.payload or {}
            text = payload.get("text")
            if not text:
                raise LookupError("a notice without text")
            button = payload.get("button")
            message = self._composer.notice(
                str(text),
                button={str(k): str(v) for k, v in button.items()}
                if isinstance(button, dict)
                else None,
            )
            return [(message, bool(payload.get("thread_ts")))]
        if delivery.kind == "review" and (delivery.payload or {}).get("items"):
            return [(message, False) for message in self._review(delivery)]
        lesson, course = self._lesson(delivery)
        first_name = delivery.first_name or "there"
        if delivery.kind == "review" and delivery.question_position is not None:
            question = lesson.quiz[delivery.question_position - 1]
            ref = f"{delivery.id}.{delivery.question_position}"
            message = self._composer.question(
                question,
                lesson,
                number=delivery.question_position,
                ref=ref,
                review=True,
                order=_order(delivery, lesson, question, delivery.question_position),
            )
            return [(message, False)]
        in_channel = delivery.recipient_kind == "channel"
        quote = None
        if self._discussions is not None:
            quote = self._discussions.quote_for(
                team_id=delivery.team_id,
                drip_id=delivery.drip_id,
                course=course,
                lesson=lesson,
                channel_id=delivery.recipient if in_channel else None,
            )
        parts = [
            (message, False)
            for message in self._composer.lesson(
                lesson, course, first_name=first_name, done_ref=str(delivery.id), quote=quote
            )
        ]
        if in_channel and lesson.discussion:
            prompt = self._composer.notice(
                f":speech_balloon: *Discuss:* {lesson.discussion}\n"
                "Reply in this thread: what works for you helps everyone here."
            )
            parts.append((prompt, True))
        for number, question in enumerate(lesson.quiz, start=1):
            message = self._composer.question(
                question,
                lesson,
                number=number,
                ref=f"{delivery.id}.{number}",
                order=_order(delivery, lesson, question, number),
            )
            parts.append((message, False))
        return parts

    def _review(self, delivery: Claimed) -> list[Message]:
        """A day's review questions in one message; the answer ref's number is the item's."""
        items = []
        for number, item in enumerate((delivery.payload or {}).get("items") or [], start=1):
            course = self._catalog.course(str(item.get("course", "")))
            lesson = course.lesson(str(item.get("lesson", ""))) if course else None
            position = int(item.get("position", 0))
            if lesson is None or not 0 < position <= len(lesson.quiz):
                continue  # removed from the course since: the others still come
            question = lesson.quiz[position - 1]
            order = _order(delivery, lesson, question, position)  # as the learner saw it first
            items.append((question, lesson, position, f"{delivery.id}.{number}", order))
        if not items:
            raise LookupError("the questions of this review are no longer in the lessons folder")
        return self._composer.review(items)

    def _lesson(self, delivery: Claimed) -> tuple[Lesson, Course]:
        course = self._catalog.course(delivery.course or "")
        lesson = course.lesson(delivery.lesson or "") if course else None
        if course is None or lesson is None:
            raise LookupError(
                f"lesson {delivery.course}/{delivery.lesson} is no longer in the lessons folder"
            )
        return lesson, course

    def _title(self, delivery: Claimed) -> str:
        try:
            return self._lesson(delivery)[0].title
        except LookupError:
            return delivery.lesson or "a lesson"

    def _position(self, delivery: Claimed) -> int | None:
        try:
            return self._lesson(delivery)[0].position
        except LookupError:
            return None

    def _failed(self, delivery: Claimed, error: SlackError, *, unsure: bool = False) -> str:
        now = self._clock()
        if not error.permanent and delivery.tries < MAX_TRIES:
            wait = min(BACKOFF_BASE * 2 ** (delivery.tries - 1), BACKOFF_MAX)
            if error.retry_after:
                wait = max(wait, timedelta(seconds=error.retry_after))
            if unsure:  # Slack may have posted it: the retry looks for it first
                self._outbox.hold_unconfirmed(delivery, until=now + wait, error=error.code)
            else:
                self._outbox.release(delivery, due_at=now + wait, error=error.code)
            log.info("delivery %d will be retried in %s (%s)", delivery.id, wait, error.code)
            self._metrics.delivery_retried(kind=delivery.kind, reason=error.code)
            return "retry"
        fixable = delivery.enrolment_id is not None and error.code in CHANNEL_FIXABLE
        self._outbox.mark_failed(delivery, error=error.code, now=now, free_key=fixable)
        log.warning("delivery %d failed for good: %s", delivery.id, error.code)
        self._metrics.delivery_failed(kind=delivery.kind, reason=error.code)
        if delivery.kind == "notice" or delivery.kind in self._senders:
            return "failed"
        if fixable and delivery.enrolment_id is not None:
            # Pause it at this lesson, so resuming the drip delivers the lesson that failed.
            position = self._position(delivery)
            self._enrolments.pause(delivery.enrolment_id, position=position)
        elif delivery.enrolment_id is not None and (error.code in USER_GONE | CHANNEL_GONE):
            self._enrolments.stop(delivery.enrolment_id)
            if delivery.drip_id is not None:
                self._enrolments.finish_drip(delivery.team_id, delivery.drip_id, now=now)
        owner = delivery.drip_owner or str((delivery.payload or {}).get("sent_by") or "") or None
        where = (
            channel(delivery.recipient)
            if delivery.recipient_kind == "channel"
            else user(delivery.recipient)
        )
        advice = _advice(error.code, delivery)
        self._report(
            delivery.team_id,
            owner=owner,
            key=f"failed:{delivery.id}",
            text=f":warning: I couldn't deliver *{self._title(delivery)}* to {where}: "
            f"{_reason(error.code)}. {advice}",
            drip_id=delivery.drip_id,
            now=now,
        )
        return "failed"


class _Tally:
    """What the sending threads did, counted under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outcomes: dict[str, int] = {}
        self._messages = 0

    def add(self, outcome: str, posted: int) -> None:
        with self._lock:
            self._outcomes[outcome] = self._outcomes.get(outcome, 0) + 1
            self._messages += posted

    def report(self, *, planned: int, moved: int) -> DrainReport:
        with self._lock:
            return DrainReport(
                sent=self._outcomes.get("sent", 0),
                retried=self._outcomes.get("retry", 0),
                failed=self._outcomes.get("failed", 0),
                messages=self._messages,
                planned=planned,
                moved=moved,
            )


def _group_next_slot(group: DueGroup, after: datetime) -> datetime:
    return next_slot(
        Days.decode(group.days), parse_time(group.at_time), zone(group.tz), after=after
    )


def _reason(code: str) -> str:
    return {
        "not_in_channel": "I'm not a member of that channel",
        "channel_not_found": "the channel is gone or private to me",
        "is_archived": "the channel is archived",
        "user_not_found": "their account no longer exists",
        "user_disabled": "their account is deactivated",
        "account_inactive": "their account is deactivated",
        "cannot_dm_bot": "it's a bot",
        "restricted_action": "the workspace doesn't let me post there",
    }.get(code, f"Slack answered `{code}`")


def _advice(code: str, delivery: Claimed) -> str:
    drip = f" {delivery.drip_id}" if delivery.drip_id else ""
    if code in CHANNEL_FIXABLE:
        return (
            f"Its lessons there are paused: invite me with `/invite @microlearn` in "
            f"{channel(delivery.recipient)}, then `/learn resume{drip}` to carry on from this "
            "lesson."
        )
    if code in USER_GONE or code in CHANNEL_GONE:
        return f"I stopped these lessons{f' in drip #{delivery.drip_id}' if drip else ''}."
    return "I won't retry this one; everything else carries on."


def _order(delivery: Claimed, lesson: Lesson, question: Question, position: int) -> tuple[int, ...]:
    """The recipient's own order of the options (a channel's post: the channel's)."""
    return option_order(
        question,
        team_id=delivery.team_id,
        learner=delivery.recipient,
        lesson_key=lesson.key,
        position=position,
    )
