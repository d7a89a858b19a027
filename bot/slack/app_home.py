"""A person's App Home: read their dashboard, render it, publish it through the messenger."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.services.dashboard import DashboardService
from bot.services.people import PROFILE_MAX_AGE, People
from bot.services.ports import SlackError
from bot.slack.messenger import SlackMessenger
from bot.slack.render_home import home_page

log = logging.getLogger(__name__)


class AppHome:
    """Publishes Homes; implements the services' Homes port (refresh after a change)."""

    def __init__(
        self,
        *,
        dashboard: DashboardService,
        people: People,
        messenger: SlackMessenger,
        clock: Callable[[], datetime],
    ) -> None:
        self._dashboard = dashboard
        self._people = people
        self._messenger = messenger
        self._clock = clock

    def view(self, team_id: str, user_id: str, *, note: str | None = None) -> dict[str, Any]:
        now = self._clock()
        board = self._dashboard.learner(team_id=team_id, user_id=user_id, now=now)
        drips = (
            self._dashboard.lead_drips(team_id=team_id, user_id=user_id)
            if self._shows_lead_blocks(team_id, user_id, now=now)
            else None
        )
        view = home_page(board, drips, note=note)
        self._dashboard.homes.published(team_id, user_id)
        return view

    def publish(self, team_id: str, user_id: str, *, note: str | None = None) -> None:
        self._messenger.publish_home(team_id, user_id, self.view(team_id, user_id, note=note))

    def refresh(self, team_id: str, user_id: str) -> None:
        """Re-publish a person's Home after something changed it (an answer, Done, join, snooze).

        Called after the acknowledgement; it never fails the request that changed things.
        """
        try:
            self._dashboard.homes.refresh(team_id, user_id, lambda: self.publish(team_id, user_id))
        except Exception:  # noqa: BLE001 - a stale Home is better than a failed answer
            log.warning("App Home of %s not refreshed", user_id, exc_info=True)

    def _shows_lead_blocks(self, team_id: str, user_id: str, *, now: datetime) -> bool:
        # Showing the lead's buttons grants nothing (each one checks the role again), so the
        # profile cached for hours will do: opening Home costs no call to Slack.
        try:
            return self._people.is_lead(team_id, user_id, now=now, max_age=PROFILE_MAX_AGE)
        except SlackError:
            return False
