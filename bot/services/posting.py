"""Posting one claimed delivery to Slack: its parts in order, paced, each recorded at once.

Sending is at-least-once by nature (Slack can accept a post and the process die before it records
it), so the window is kept to one message per delivery: each posted part is recorded at once, and
a delivery whose lease expired mid-send first looks for its own copy (message metadata carries the
delivery id and part) before posting again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.services.catalog import CatalogService
from bot.services.compose import DeliveryComposer, Parts, lesson_of
from bot.services.discussions import DiscussionService
from bot.services.failures import FailurePolicy
from bot.services.metrics import NO_METRICS, Metrics
from bot.services.pacing import Pacer
from bot.services.ports import ContentProblem, Message, Messenger, Posted, SlackError
from bot.services.reminders import ReminderService
from bot.storage.db import StorageUnavailable
from bot.storage.learners import LearnerRepository
from bot.storage.outbox import Claimed, Outbox

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 5
METADATA_TYPE = "microlearn_delivery"
_SLOT_TRIES = 5  # slots taken for one post when 429 pauses or late wake-ups spoil them
_LATE = 0.1  # seconds after its slot a post no longer goes out in it
# A part already in Slack whose record cannot reach the database (no connection to give, the
# server restarting) is recorded again after these waits, rather than left to its claim's end.
RECORD_RETRY_WAITS = (0.2, 0.5, 1.0, 2.0, 4.0)


@dataclass
class _Progress:
    """Where one delivery's posting stands."""

    index: int  # the next part to post
    channel_id: str | None
    first_ts: str | None
    unsure: bool  # Slack may hold this part already: look for it before posting
    posted: int = 0
    rate_limited: int = 0


class Poster:
    def __init__(
        self,
        *,
        outbox: Outbox,
        learners: LearnerRepository,
        catalog: CatalogService,
        messenger: Messenger,
        compose: DeliveryComposer,
        failures: FailurePolicy,
        pacer: Pacer,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
        discussions: DiscussionService | None = None,
        reminders: ReminderService | None = None,
        senders: Mapping[str, Callable[[Claimed], None]] | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._outbox = outbox
        self._learners = learners
        self._catalog = catalog
        self._messenger = messenger
        self._compose = compose
        self._failures = failures
        self._pacer = pacer
        self._clock = clock
        self._sleep = sleep
        self._discussions = discussions
        self._reminders = reminders
        # Senders for the outbox kinds that are not messages (a digest is a file upload).
        self._senders = dict(senders or {})
        self._metrics = metrics

    def send(self, delivery: Claimed) -> tuple[str, int]:
        """Send one delivery; its outcome ("sent", "held", "retry", "failed", "lost") and how
        many messages went out."""
        sender = self._senders.get(delivery.kind)
        if sender is not None:
            return self._send_with(sender, delivery)
        snoozed_until = self._held_for(delivery)
        if snoozed_until is not None:
            self._outbox.postpone(delivery, until=snoozed_until)
            return "held", 0
        parts = self._parts(delivery)
        if parts is None:
            return "failed", 0
        if delivery.parts_sent == 0:
            self._open_drip_thread(delivery)
        progress = _Progress(
            index=delivery.parts_sent,
            channel_id=delivery.channel_id,
            first_ts=delivery.message_ts,
            # A claim that expired mid-send, or a post whose answer never came (see
            # `FailurePolicy.failed`): the part is looked for by its metadata before posting.
            unsure=delivery.resumed,
        )
        stopped = self._post_parts(delivery, parts, progress)
        if stopped is not None:
            return stopped, progress.posted
        channel_id = progress.channel_id
        if delivery.recipient_kind == "dm" and channel_id and channel_id != delivery.dm_channel:
            self._learners.set_dm_channel(
                delivery.team_id, delivery.recipient, channel_id, now=self._clock()
            )
        if delivery.parts_sent >= len(parts):  # every part went out before: only the mark is left
            self._outbox.mark_sent(delivery, now=self._clock())
        self._follow_up(delivery)
        return "sent", progress.posted

    def _parts(self, delivery: Claimed) -> Parts | None:
        try:
            return self._compose.parts(delivery)
        except (LookupError, ContentProblem) as error:
            if isinstance(error, ContentProblem):
                log.warning("delivery %d cannot be composed: %s", delivery.id, error)
            self._outbox.mark_failed(delivery, error=str(error), now=self._clock())
            self._metrics.delivery_failed(
                kind=delivery.kind,
                reason="content_problem" if isinstance(error, ContentProblem) else "lesson_gone",
            )
            return None

    def _post_parts(self, delivery: Claimed, parts: Parts, progress: _Progress) -> str | None:
        """Post the parts not yet out; None when all are, else why it stopped."""
        fixed_thread = str((delivery.payload or {}).get("thread_ts") or "") or None
        while progress.index < len(parts):
            stopped = self._post_part(delivery, parts, progress, fixed_thread)
            if stopped is not None:
                return stopped
        return None

    def _post_part(
        self, delivery: Claimed, parts: Parts, progress: _Progress, fixed_thread: str | None
    ) -> str | None:
        """Post (or find in Slack) the next part, or try again after a 429; None to go on."""
        message, threaded = parts[progress.index]
        target = progress.channel_id or delivery.dm_channel or delivery.recipient
        thread_ts = (fixed_thread or progress.first_ts) if threaded else None
        try:
            if progress.unsure:
                found = self._already_posted(delivery, target, progress.index, thread_ts)
                progress.unsure = False
                if found is not None:
                    recorded = self._record(delivery, len(parts), progress, found, found=True)
                    return None if recorded else "lost"
            result = self._post(delivery, target, message, progress.index, thread_ts)
        except SlackError as error:
            progress.unsure = progress.unsure or error.uncertain
            if self._wait_out_rate_limit(delivery, error, progress):
                return None
            return self._failures.failed(delivery, error, unsure=progress.unsure)
        progress.posted += 1
        if not self._record(delivery, len(parts), progress, result, found=False):
            log.warning("delivery %d was taken over by another process", delivery.id)
            return "lost"
        return None

    def _wait_out_rate_limit(
        self, delivery: Claimed, error: SlackError, progress: _Progress
    ) -> bool:
        """A 429: pause the workspace's sending for its Retry-After, and say to try again."""
        if error.code != "ratelimited" or progress.rate_limited >= RATE_LIMIT_RETRIES:
            return False
        progress.rate_limited += 1
        now = self._clock().timestamp()
        self._pacer.pause(delivery.team_id, until=now + (error.retry_after or 1.0), now=now)
        return True

    def _post(
        self, delivery: Claimed, target: str, message: Message, part: int, thread_ts: str | None
    ) -> Posted:
        # A DM is one conversation whether addressed by user id or by its D… id.
        paced = delivery.recipient if delivery.recipient_kind == "dm" else target
        self._wait_for_slot(delivery.team_id, paced)
        return self._messenger.post(
            delivery.team_id,
            target,
            message,
            thread_ts=thread_ts,
            metadata={
                "event_type": METADATA_TYPE,
                "event_payload": {"delivery_id": delivery.id, "part": part},
            },
        )

    def _record(
        self, delivery: Claimed, count: int, progress: _Progress, posted: Posted, *, found: bool
    ) -> bool:
        """Record a part that is in Slack (posted now, or found there); False if taken over."""
        index = progress.index
        progress.channel_id = posted.channel
        if found:  # a part found again keeps the thread's first ts, if one is known
            progress.first_ts = progress.first_ts or posted.ts
        elif index == 0:
            progress.first_ts = posted.ts
        if index == 0:
            self._channel_thread(delivery, posted.ts)
        if not self._record_part(delivery, index, count, posted):
            return False
        progress.index += 1
        return True

    def _record_part(self, delivery: Claimed, index: int, count: int, posted: Posted) -> bool:
        """The outbox's record of a posted part, tried again while the database cannot be
        reached: the part is in Slack, so only its record is missing (recording twice is
        harmless: the same values, under the same claim). Past the last wait the error goes
        up, and the delivery is found in Slack when its claim has run out."""
        for wait in (*RECORD_RETRY_WAITS, None):
            try:
                return self._outbox.record_part(
                    delivery,
                    parts_sent=index + 1,
                    channel_id=posted.channel,
                    ts=posted.ts,
                    sent_at=self._clock() if index + 1 == count else None,
                )
            except StorageUnavailable as error:
                if wait is None:
                    raise
                log.warning(
                    "delivery %d: part %d is in Slack but its record failed (%s); "
                    "recording it again in %.1f s",
                    delivery.id,
                    index + 1,
                    error,
                    wait,
                )
                self._sleep(wait)
        raise AssertionError("unreachable")  # the last round returns or raises

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
            return self._failures.failed(delivery, error), 0
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
                # A 429 seen by another post while this one waited: its slot fell in the pause.
                paused_until = self._pacer.paused_until(team_id)
                # Woken well after its slot (the process was starved of CPU, or paused by the
                # collector), or the read of the pause took that long (a round trip, or behind
                # another thread's): posting now would bunch with the posts of later slots,
                # past Slack's burst. A later slot of its own costs less than the 429. Checked
                # after the read, right before the post.
                if self._clock().timestamp() - (start + delay) > _LATE:
                    continue
            else:
                # A slot of the moment: the round trip that handed it out said whether a 429
                # pause is on (as a read now would), and this process's own 429s are known.
                paused_until = self._pacer.known_pause(team_id)
            if paused_until <= self._clock().timestamp():
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
            lesson, course = lesson_of(self._catalog, delivery)
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
        lesson, _course = lesson_of(self._catalog, delivery)
        self._discussions.channel_post(
            team_id=delivery.team_id,
            delivery_id=delivery.id,
            drip_id=delivery.drip_id,
            lesson=lesson,
            channel_id=delivery.recipient,
            ts=ts,
            now=self._clock(),
        )
