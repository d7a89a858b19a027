"""Workspaces that installed the app (OAuth): record an install, find a workspace's token,
and let a workspace go when it uninstalls the app or revokes its token."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.services.replays import ReplayGuard
from bot.storage.installations import InstallationRecord, InstallationRepository

log = logging.getLogger(__name__)

__all__ = ["InstallationRecord", "Installations"]


class Installations:
    """One database, many workspaces: each one's bot token, as Slack gave it at install."""

    def __init__(self, repository: InstallationRepository, *, once: ReplayGuard) -> None:
        self._repository = repository
        self._once = once

    def first_use(self, value: str, timestamp: int) -> bool:
        """An install link's state is accepted once, by whichever process sees it first."""
        return self._once.first_use(value, timestamp)

    def record(self, installation: InstallationRecord, *, now: datetime) -> None:
        """A workspace installed (or reinstalled) the app."""
        if not installation.team_id or not installation.bot_token.startswith("xoxb-"):
            raise ValueError("an installation needs a team id and a bot token")
        self._repository.save(installation, now=now)
        log.info("installed in workspace %s", installation.team_id)

    def find(self, team_id: str) -> InstallationRecord | None:
        return self._repository.find(team_id) if team_id else None

    def token(self, team_id: str) -> str | None:
        """The workspace's bot token; None when it has not installed the app (or left)."""
        found = self.find(team_id)
        return found.bot_token if found is not None else None

    def teams(self) -> list[str]:
        return self._repository.teams()

    def uninstall(self, team_id: str, *, now: datetime) -> int:
        """Forget the workspace's tokens and pause its drips (its data stays); drips paused."""
        removed, paused = self._repository.remove(team_id, now=now)
        if removed or paused:
            log.info(
                "workspace %s uninstalled the app: tokens deleted, %d drip(s) paused",
                team_id,
                paused,
            )
        return paused
