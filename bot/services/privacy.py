"""People's data: export everything about a person, forget them, stop lessons to someone Slack
deactivated, and delete answers and replies past the retention period."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.services.notices import Notices
from bot.services.ports import Profile
from bot.services.wording import user
from bot.storage.enrolments import EnrolmentRepository
from bot.storage.learners import LearnerRepository
from bot.storage.people import Deactivated, Forgotten, PersonRepository

log = logging.getLogger(__name__)

EXPORT_FORMAT = "microlearn-person/1"
RETENTION_BATCH = 1_000  # rows per transaction: never a long lock on a busy table
RETENTION_BATCHES = 10  # per tick; what is left waits for the next tick
RETENTION_EVERY = timedelta(hours=1)  # once everything old is gone, look again after this


class PrivacyService:
    def __init__(
        self,
        *,
        people: PersonRepository,
        learners: LearnerRepository,
        enrolments: EnrolmentRepository,
        notices: Notices,
        retention_days: int | None = None,
        kick: Callable[[], None] = lambda: None,
    ) -> None:
        self._people = people
        self._learners = learners
        self._enrolments = enrolments
        self._notices = notices
        self._retention = timedelta(days=retention_days) if retention_days else None
        self._kick = kick
        self._expired_at: datetime | None = None  # when retention last found nothing more

    # -- the operator's commands --------------------------------------------------------------

    def teams_of(self, user_id: str) -> list[str]:
        """The workspaces that hold anything about this person."""
        return self._people.teams_of(user_id)

    def export(self, *, team_id: str, user_id: str, now: datetime) -> dict[str, Any]:
        """Everything stored about the person, as plain JSON values."""
        return {
            "format": EXPORT_FORMAT,
            "team_id": team_id,
            "user_id": user_id,
            "exported_at": now.isoformat().replace("+00:00", "Z"),
            **self._people.export(team_id, user_id),
        }

    def forget(self, *, team_id: str, user_id: str) -> Forgotten:
        """Delete everything about the person, in one transaction; say what went."""
        forgotten = self._people.forget(team_id, user_id)
        log.info("forgot a person in %s: %d rows", team_id, forgotten.total)
        return forgotten

    # -- Slack says -----------------------------------------------------------------------------

    def profile_changed(self, *, team_id: str, profile: Profile, now: datetime) -> Deactivated:
        """`user_change`: a deactivated person's lessons stop at once; a reactivated one can be
        enrolled again (what was stopped stays stopped: their lead enrols them again)."""
        if not profile.deleted:
            if self._people.is_deactivated(team_id, profile.user_id):
                self._learners.save_profile(
                    team_id,
                    profile.user_id,
                    name=profile.name,
                    first_name=profile.first_name,
                    tz=profile.tz,
                    is_admin=profile.is_admin,
                    deactivated=profile.is_bot,
                    now=now,
                )
            return Deactivated(known=False)
        stopped = self._people.deactivate(team_id, profile.user_id, now=now)
        for enrolment in stopped.stopped:
            if enrolment.enrolled_by and enrolment.enrolled_by != profile.user_id:
                self._notices.dm(
                    team_id=team_id,
                    user_id=enrolment.enrolled_by,
                    # The key the tick uses when it finds the account gone: one notice, not two.
                    key=f"gone:{enrolment.id}",
                    text=f"{user(profile.user_id)} can't get lessons any more (their "
                    f"account is deactivated), so I stopped their lessons of "
                    f"*{enrolment.course}* (drip #{enrolment.drip_id}).",
                    now=now,
                    drip_id=enrolment.drip_id,
                )
            self._enrolments.finish_drip(team_id, enrolment.drip_id, now=now)
        if stopped.stopped:
            self._kick()
        return stopped

    # -- retention ----------------------------------------------------------------------------

    def expire(self, *, now: datetime) -> tuple[int, int]:
        """Delete answers and replies older than the retention period, a batch at a time.

        Idempotent, and cheap when run every tick: once nothing old is left, it looks again an
        hour later. Returns (answers, replies) deleted.
        """
        if self._retention is None:
            return 0, 0
        since = now - self._expired_at if self._expired_at is not None else None
        if since is not None and timedelta(0) <= since < RETENTION_EVERY:
            return 0, 0
        answers = replies = 0
        for _batch in range(RETENTION_BATCHES):
            old_answers, old_replies = self._people.expire(
                before=now - self._retention, limit=RETENTION_BATCH
            )
            answers += old_answers
            replies += old_replies
            if old_answers < RETENTION_BATCH and old_replies < RETENTION_BATCH:
                self._expired_at = now
                break
        if answers or replies:
            log.info(
                "retention: deleted %d answers and %d discussion replies older than %d days",
                answers,
                replies,
                self._retention.days,
            )
        return answers, replies
