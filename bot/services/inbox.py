"""People writing to the bot: it cannot read them, so it says where help is, once a day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bot.domain.schedule import zone
from bot.services.notices import Notices
from bot.storage.learners import LearnerRepository

REPLY = (
    ":wave: Hi! I can't read messages here. Type `/learn help` to see what I can do, or open "
    "my *Home* tab (at the top of this conversation) for your lessons, progress and settings."
)


class Inbox:
    def __init__(
        self, *, notices: Notices, learners: LearnerRepository, kick: Callable[[], None]
    ) -> None:
        self._notices = notices
        self._learners = learners
        self.kick = kick

    def written_to(self, *, team_id: str, user_id: str, now: datetime) -> bool:
        """Someone wrote to the bot: point them to `/learn help` and App Home, at most once a
        day (their own day, when their time zone is known). False when already answered."""
        learner = self._learners.learner(team_id, user_id)
        known = learner is not None and learner.tz_checked_at is not None
        day = now.astimezone(zone(learner.tz) if learner and known else UTC).date()
        # The notice's key is the memory: a retried event finds the key taken.
        queued = self._notices.dm(
            team_id=team_id,
            user_id=user_id,
            key=f"dm-reply:{user_id}:{day.isoformat()}",
            text=REPLY,
            now=now,
        )
        if queued:
            self.kick()
        return queued
