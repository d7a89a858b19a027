"""What a failed send means: retry later, or give up, stop or pause lessons, and tell the lead."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from bot.services.catalog import CatalogService
from bot.services.compose import lesson_of
from bot.services.metrics import NO_METRICS, Metrics
from bot.services.notices import Notices
from bot.services.ports import SlackError
from bot.services.wording import channel, user
from bot.storage.enrolments import EnrolmentRepository
from bot.storage.outbox import Claimed, Outbox

log = logging.getLogger(__name__)

MAX_TRIES = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)

USER_GONE = {"user_not_found", "user_disabled", "account_inactive", "cannot_dm_bot"}
CHANNEL_GONE = {"channel_not_found", "is_archived", "restricted_action"}
CHANNEL_FIXABLE = {"not_in_channel"}  # the lead can fix it: the enrolment waits, paused


class FailurePolicy:
    def __init__(
        self,
        *,
        outbox: Outbox,
        enrolments: EnrolmentRepository,
        notices: Notices,
        catalog: CatalogService,
        clock: Callable[[], datetime],
        unreported: Collection[str] = (),
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._outbox = outbox
        self._enrolments = enrolments
        self._notices = notices
        self._catalog = catalog
        self._clock = clock
        # Kinds whose failure is only recorded: notices, and kinds sent by a sender of their own.
        self._unreported = frozenset(("notice", *unreported))
        self._metrics = metrics

    def failed(self, delivery: Claimed, error: SlackError, *, unsure: bool = False) -> str:
        """Retry the delivery later, or fail it for good; say which ("retry" or "failed")."""
        now = self._clock()
        if not error.permanent and delivery.tries < MAX_TRIES:
            self._retry(delivery, error, unsure=unsure, now=now)
            return "retry"
        fixable = delivery.enrolment_id is not None and error.code in CHANNEL_FIXABLE
        self._outbox.mark_failed(delivery, error=error.code, now=now, free_key=fixable)
        log.warning("delivery %d failed for good: %s", delivery.id, error.code)
        self._metrics.delivery_failed(kind=delivery.kind, reason=error.code)
        if delivery.kind in self._unreported:
            return "failed"
        self._hold_lessons(delivery, error.code, fixable=fixable, now=now)
        self._tell_lead(delivery, error.code, now=now)
        return "failed"

    def _retry(self, delivery: Claimed, error: SlackError, *, unsure: bool, now: datetime) -> None:
        if error.code == "ratelimited":
            # Slack said when: the workspace's shared pause (pacing) already holds every post
            # until then, so a backoff on top would only leave this delivery behind the rest
            # (at the end of a big fan-out, half a minute of silence for its last few posts).
            wait = timedelta(seconds=error.retry_after or 1.0)
        else:
            wait = min(BACKOFF_BASE * 2 ** (delivery.tries - 1), BACKOFF_MAX)
            if error.retry_after:
                wait = max(wait, timedelta(seconds=error.retry_after))
        if unsure:  # Slack may have posted it: the retry looks for it first
            self._outbox.hold_unconfirmed(delivery, until=now + wait, error=error.code)
        else:
            self._outbox.release(delivery, due_at=now + wait, error=error.code)
        log.info("delivery %d will be retried in %s (%s)", delivery.id, wait, error.code)
        self._metrics.delivery_retried(kind=delivery.kind, reason=error.code)

    def _hold_lessons(self, delivery: Claimed, code: str, *, fixable: bool, now: datetime) -> None:
        """Pause the enrolment where the lead can fix it; stop it where the recipient is gone."""
        if delivery.enrolment_id is None:
            return
        if fixable:
            # Pause it at this lesson, so resuming the drip delivers the lesson that failed.
            self._enrolments.pause(delivery.enrolment_id, position=self._position(delivery))
        elif code in USER_GONE | CHANNEL_GONE:
            self._enrolments.stop(delivery.enrolment_id)
            if delivery.drip_id is not None:
                self._enrolments.finish_drip(delivery.team_id, delivery.drip_id, now=now)

    def _tell_lead(self, delivery: Claimed, code: str, *, now: datetime) -> None:
        owner = delivery.drip_owner or str((delivery.payload or {}).get("sent_by") or "") or None
        where = (
            channel(delivery.recipient)
            if delivery.recipient_kind == "channel"
            else user(delivery.recipient)
        )
        self._notices.dm(
            team_id=delivery.team_id,
            user_id=owner,
            key=f"failed:{delivery.id}",
            text=f":warning: I couldn't deliver *{self._title(delivery)}* to {where}: "
            f"{reason(code)}. {_advice(code, delivery)}",
            now=now,
            drip_id=delivery.drip_id,
        )

    def _title(self, delivery: Claimed) -> str:
        try:
            return lesson_of(self._catalog, delivery)[0].title
        except LookupError:
            return delivery.lesson or "a lesson"

    def _position(self, delivery: Claimed) -> int | None:
        try:
            return lesson_of(self._catalog, delivery)[0].position
        except LookupError:
            return None


def reason(code: str) -> str:
    """Why Slack refused, in words a lead understands."""
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
