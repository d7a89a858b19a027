"""Leaderboards: top 10 by points in a period among the people who share a drip with you.

Hidden people (`/learn leaderboard hide`) are left out of every board, including the ones
posted in channels: the ranking itself (bot/domain/leaderboard.py) never lists nor counts them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.domain.leaderboard import Board, Period, Score, leaderboard, period_window
from bot.domain.lesson import Course
from bot.domain.schedule import zone
from bot.services.catalog import CatalogService
from bot.services.people import People
from bot.services.ports import SlackError
from bot.services.refused import Refused
from bot.storage.drips import DripRepository
from bot.storage.gamify import GamifyRepository
from bot.storage.learners import LearnerRepository
from bot.storage.outbox import Outbox


@dataclass(frozen=True)
class LeaderboardView:
    board: Board
    period: Period
    course: Course | None
    everyone: bool  # an admin's board: the whole workspace, not just shared drips
    hidden: bool  # the viewer hides from leaderboards


class LeaderboardService:
    def __init__(
        self,
        *,
        repository: GamifyRepository,
        drips: DripRepository,
        learners: LearnerRepository,
        catalog: CatalogService,
        people: People,
        outbox: Outbox,
        kick: Callable[[], None] = lambda: None,
    ) -> None:
        self._repository = repository
        self._drips = drips
        self._learners = learners
        self._catalog = catalog
        self._people = people
        self._outbox = outbox
        self._kick = kick

    def board(
        self,
        *,
        team_id: str,
        user_id: str,
        course_id: str | None,
        period: Period,
        now: datetime,
    ) -> LeaderboardView:
        """The viewer's board: people sharing a drip with them, or everyone for admins."""
        course = self._course(course_id)
        everyone = self._is_admin(team_id, user_id, now=now)
        users = None if everyone else self._repository.peers(team_id, user_id)
        learner = self._learners.learner(team_id, user_id)
        window = period_window(period, now=now, tz=zone(learner.tz if learner else "UTC"))
        board = self._rank(team_id, users, window.start, window.end, course, viewer=user_id)
        hidden = self._repository.setting(team_id, user_id).hidden
        return LeaderboardView(board, period, course, everyone, hidden)

    def visible(self, *, team_id: str, user_id: str) -> bool:
        """Whether the person shows on leaderboards (the default) — for App Home's toggle."""
        return not self._repository.setting(team_id, user_id).hidden

    def set_visible(self, *, team_id: str, user_id: str, visible: bool, now: datetime) -> None:
        self._repository.set_hidden(team_id, user_id, hidden=not visible, now=now)

    def hidden_people(self, *, team_id: str) -> set[str]:
        """Who must never appear by name (leaderboards, digests)."""
        return self._repository.hidden(team_id)

    def post(
        self, *, team_id: str, user_id: str, drip_id: int, request: str, now: datetime
    ) -> tuple[str, Board]:
        """Queue a drip's leaderboard (this week) for its channel; return the channel and board.

        Only the drip's lead or an admin may; `request` (the command's trigger) keeps a retried
        command from posting twice.
        """
        drip = self._drips.drip(team_id, drip_id)
        if drip is None:
            raise Refused(f"There is no drip #{drip_id}. `/learn schedules` lists them.")
        if not self._may_post(team_id, user_id, created_by=drip.created_by, now=now):
            raise Refused(
                f"Only the lead who runs drip #{drip_id}, or an admin, can post its leaderboard."
            )
        channels = [ref for kind, ref, _ in drip.targets if kind in ("channel", "members") and ref]
        channel = channels[0] if channels else drip.discuss_channel
        if not channel:
            raise Refused(
                f"Drip #{drip_id} has no channel to post in: it goes to people's DMs and has no "
                "discussion channel."
            )
        course = self._catalog.course(drip.course)
        window = period_window(Period.WEEK, now=now, tz=zone(drip.channel_tz))
        people = self._repository.drip_people(team_id, drip_id)
        board = self._rank(team_id, people, window.start, window.end, course, viewer="")
        title = course.title if course else drip.course
        names = {}  # names, not mentions: a post in a channel must not ping ten people
        for place in board.top:
            learner = self._learners.learner(team_id, place.user_id)
            names[place.user_id] = (learner.name if learner else "") or "someone"
        self._outbox.enqueue(
            team_id=team_id,
            dedupe_key=f"leaderboard:{drip_id}:{request}"[:200],
            kind="notice",
            recipient=channel,
            recipient_kind="channel",
            due_at=now,
            now=now,
            drip_id=drip_id,
            payload={
                "text": board_text(
                    board, heading=f"*{title}*: this week's top learners", names=names
                )
            },
        )
        self._kick()
        return channel, board

    def _rank(
        self,
        team_id: str,
        users: set[str] | None,
        start: datetime | None,
        end: datetime | None,
        course: Course | None,
        *,
        viewer: str,
    ) -> Board:
        points = self._repository.scores(
            team_id, users=users, start=start, end=end, course=course.id if course else None
        )
        hidden = self._repository.hidden(team_id)
        scores = [Score(user, total, user in hidden) for user, total in points.items()]
        return leaderboard(scores, viewer=viewer)

    def _course(self, course_id: str | None) -> Course | None:
        if course_id is None:
            return None
        course = self._catalog.course(course_id)
        if course is None:
            known = ", ".join(f"`{c.id}`" for c in self._catalog.catalog.courses) or "none yet"
            raise Refused(f"There is no course `{course_id}`. The courses are {known}.")
        return course

    def _may_post(self, team_id: str, user_id: str, *, created_by: str, now: datetime) -> bool:
        """The drip's lead, while still a lead, or an admin; refused when Slack cannot say."""
        try:
            if user_id == created_by and self._people.is_lead(team_id, user_id, now=now):
                return True
            return self._people.is_admin(team_id, user_id, now=now)
        except SlackError as error:
            raise Refused(
                "I couldn't check your role with Slack just now, so nothing was posted. "
                "Please try again in a minute."
            ) from error

    def _is_admin(self, team_id: str, user_id: str, *, now: datetime) -> bool:
        try:
            return self._people.is_admin(team_id, user_id, now=now)
        except SlackError:
            return False  # Slack can't say: the narrower board, never more than is allowed


def board_text(board: Board, *, heading: str, names: dict[str, str] | None = None) -> str:
    """A board as Slack mrkdwn: one line per place; hidden people are never in `board.top`.

    With `names`, people are written by name (escaped) instead of mentioned.
    """
    if not board.top:
        return f"{heading}\nNo points yet in this period."
    lines = [
        f"{place.rank}. {_who(place.user_id, names)} — {place.points} pts" for place in board.top
    ]
    return heading + "\n" + "\n".join(lines)


def _who(user_id: str, names: dict[str, str] | None) -> str:
    if names is None:
        return f"<@{user_id}>"
    name = names.get(user_id) or "someone"
    return name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
