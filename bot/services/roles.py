"""Who may do what: a lead's and an admin's power, re-checked with Slack before it is used."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.services.people import People
from bot.services.ports import SlackError
from bot.services.refused import Refused

log = logging.getLogger(__name__)


class Roles:
    def __init__(self, people: People) -> None:
        self._people = people

    def require_lead(self, team_id: str, user_id: str, *, doing: str, now: datetime) -> None:
        if not self._check(self._people.is_lead, team_id, user_id, now=now):
            raise Refused(
                f"Only leads can {doing}. Ask a workspace admin to make you one "
                f"(`/learn leads add @you`)."
            )

    def require_admin(self, team_id: str, user_id: str, *, doing: str, now: datetime) -> None:
        if not self._check(self._people.is_admin, team_id, user_id, now=now):
            raise Refused(
                f"Only admins can {doing}: workspace admins and owners, "
                "and the people listed in MICROLEARN_ADMINS."
            )

    @staticmethod
    def _check(check: Callable[..., bool], team_id: str, user_id: str, *, now: datetime) -> bool:
        try:
            return check(team_id, user_id, now=now)
        except SlackError as error:  # refuse rather than trust a stale role
            log.warning("role of %s not checked: %s", user_id, error.code)
            raise Refused(
                "I couldn't check your role with Slack just now, so nothing was changed. "
                "Please try again in a minute."
            ) from error
