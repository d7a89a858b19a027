"""People writing to the bot: it cannot read them, so it says where help is, once a day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bot.domain.schedule import zone
from bot.storage.learners import LearnerRepository
from bot.storage.outbox import Outbox

REPLY = (
    ":wave: Hi! I can't read messages here. Type `/learn help` to see what I can do, or open "
    "my *Home* tab (at the top of this conversation) for your lessons, progress and settings."
)


class Inbox:
    def __init__(
        self, *, outbox: Outbox, learners: LearnerRepository, kick: Callable[[], None]
    ) -> None:
        self._outbox = outbox
        self._learners = learners
        self.kick = kick

    def written_to(self, *, team_id: str, user_id: str, now: datetime) -> bool:
        """Someone wrote to the bot: point them to `/learn help` and App Home, at most once a
        day (their own day, when their time zone is known). False when already answered."""
        learner = self._learners.learner(team_id, user_id)
        known = learner is not None and learner.tz_checked_at is not None
        day = now.astimezone(zone(learner.tz) if learner and known else UTC).date()
        # The outbox's unique key is the memory: it holds across processes and restarts, and
        # a retried event finds the key taken.
        queued = self._outbox.enqueue(
            team_id=team_id,
            dedupe_key=f"dm-reply:{user_id}:{day.isoformat()}",
            kind="notice",
            recipient=user_id,
            recipient_kind="dm",
            due_at=now,
            now=now,
            payload={"text": REPLY},
        )
        if queued:
            self.kick()
        return queued
