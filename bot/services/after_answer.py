"""What follows an acknowledged answer or Done, as one service call (AfterAnswer).

Reviews, completion, points and milestones, the discussion invite and the learner's App Home.
"""

from __future__ import annotations

from datetime import datetime

from bot.services.discussions import DiscussionService
from bot.services.ports import Homes
from bot.services.quiz import Answered, Done, QuizService


class AfterAnswer:
    """The slow part of an answer, after the acknowledgement (the stored answer stands)."""

    def __init__(
        self, *, quiz: QuizService, discussions: DiscussionService, homes: Homes | None = None
    ) -> None:
        self._quiz = quiz
        self._discussions = discussions
        self._homes = homes

    def settle(self, answered: Answered, *, user_id: str, in_dm: bool, now: datetime) -> None:
        """Reviews and completion; a completed DM lesson opens its discussion to the learner."""
        completed = self._quiz.after_answer(answered, user_id=user_id, now=now)
        if completed and in_dm and answered.ref.drip_id is not None:  # sent lessons have none
            self._discussions.invite(
                team_id=answered.ref.team_id,
                user_id=user_id,
                delivery_id=answered.ref.delivery_id,
                now=now,
            )
        if answered.recorded:
            self._refresh_home(answered.ref.team_id, user_id)

    def done(
        self, done: Done, *, team_id: str, user_id: str, delivery_id: int, now: datetime
    ) -> None:
        """After ✓ Done: a DM lesson without a quiz opens its discussion (with one, answering
        it does), and the learner's Home shows the lesson done."""
        if not done.in_channel and not done.lesson.quiz:
            self._discussions.invite(
                team_id=team_id, user_id=user_id, delivery_id=delivery_id, now=now
            )
        self._refresh_home(team_id, user_id)

    def _refresh_home(self, team_id: str, user_id: str) -> None:
        if self._homes is not None:
            self._homes.refresh(team_id, user_id)
