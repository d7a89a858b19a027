"""Workspaces that installed the app (OAuth): record an install, find a workspace's token,
and let a workspace go when it uninstalls the app or revokes its token."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from bot.services.replays import ReplayGuard
from bot.storage.installations import InstallationRecord, InstallationRepository

log = logging.getLogger(__name__)

__all__ = ["InstallationRecord", "Installations"]

# Every request and every Slack call asks for its workspace's token: a found installation is
# kept this long in the process. Another replica's uninstall is seen this much later at most
# (Slack refuses the revoked token meanwhile); this process's own changes are seen at once.
CACHE_SECONDS = 10.0


class Installations:
    """One database, many workspaces: each one's bot token, as Slack gave it at install."""

    def __init__(
        self,
        repository: InstallationRepository,
        *,
        once: ReplayGuard,
        ticks: Callable[[], float] = time.monotonic,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self._repository = repository
        self._once = once
        self._ticks = ticks
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        # Found installations only: a workspace that installs through another replica must
        # not be taken for absent here.
        self._cache: dict[str, tuple[float, InstallationRecord]] = {}

    def first_use(self, value: str, timestamp: int) -> bool:
        """An install link's state is accepted once, by whichever process sees it first."""
        return self._once.first_use(value, timestamp)

    def record(self, installation: InstallationRecord, *, now: datetime) -> None:
        """A workspace installed (or reinstalled) the app."""
        if not installation.team_id or not installation.bot_token.startswith("xoxb-"):
            raise ValueError("an installation needs a team id and a bot token")
        self._repository.save(installation, now=now)
        self._forget(installation.team_id)
        log.info("installed in workspace %s", installation.team_id)

    def find(self, team_id: str) -> InstallationRecord | None:
        if not team_id:
            return None
        now = self._ticks()
        with self._lock:
            cached = self._cache.get(team_id)
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        found = self._repository.find(team_id)
        with self._lock:
            if found is None:
                self._cache.pop(team_id, None)
            else:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[team_id] = (now, found)
        return found

    def _forget(self, team_id: str) -> None:
        with self._lock:
            self._cache.pop(team_id, None)

    def token(self, team_id: str) -> str | None:
        """The workspace's bot token; None when it has not installed the app (or left)."""
        found = self.find(team_id)
        return found.bot_token if found is not None else None

    def teams(self) -> list[str]:
        return self._repository.teams()

    def uninstall(self, team_id: str, *, now: datetime) -> int:
        """Forget the workspace's tokens and pause its drips (its data stays); drips paused."""
        removed, paused = self._repository.remove(team_id, now=now)
        self._forget(team_id)
        if removed or paused:
            log.info(
                "workspace %s uninstalled the app: tokens deleted, %d drip(s) paused",
                team_id,
                paused,
            )
        return paused
