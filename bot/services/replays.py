"""A signed request acts once: its signature is remembered while Slack's window lets it replay."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.storage.db import StorageUnavailable

# Slack refuses to sign for longer than five minutes either side of now; a replica whose clock
# runs behind the one that prunes still sees the signature for this much longer.
REPLAY_WINDOW = timedelta(minutes=5)
CLOCK_SKEW = timedelta(minutes=1)


class ReplayCheckUnavailable(Exception):
    """Whether the request was seen before cannot be told (the database does not answer)."""


class AcceptedRequestStore(Protocol):
    def remember(self, signature: str, *, expires_at: datetime) -> bool: ...

    def forget(self, signature: str) -> None: ...

    def forget_expired(self, *, now: datetime) -> int: ...


class ReplayGuard:
    """Remembers the signature of every request it lets through, in the shared database."""

    def __init__(self, store: AcceptedRequestStore) -> None:
        self._store = store

    def first_use(self, signature: str, timestamp: int) -> bool:
        """Record a verified request; False when the same signed request came before."""
        expires_at = datetime.fromtimestamp(timestamp, UTC) + REPLAY_WINDOW + CLOCK_SKEW
        try:
            return self._store.remember(_digest(signature), expires_at=expires_at)
        except StorageUnavailable as error:
            raise ReplayCheckUnavailable(str(error)) from error

    def release(self, signature: str) -> None:
        """Forget a request that failed, so that Slack's retry of it is accepted."""
        try:
            self._store.forget(_digest(signature))
        except StorageUnavailable as error:
            raise ReplayCheckUnavailable(str(error)) from error

    def prune(self, *, now: datetime) -> int:
        """Forget signatures too old to be accepted again."""
        return self._store.forget_expired(now=now)


def _digest(signature: str) -> str:
    # A hash, not the signature itself: what the database keeps cannot be sent as a header.
    return hashlib.sha256(signature.encode("ascii")).hexdigest()
