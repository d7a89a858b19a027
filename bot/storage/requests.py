"""Signed HTTP requests already acted on: the replay guard's memory, shared by every process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import SQLAlchemyError

from bot.storage.db import Database, StorageUnavailable, describe
from bot.storage.fastlane import FORGET_REQUEST, REMEMBER_REQUEST
from bot.storage.models import AcceptedRequest
from bot.storage.models.base import table_of


class AcceptedRequests:
    def __init__(self, db: Database) -> None:
        self._db = db

    def remember(self, signature: str, *, expires_at: datetime) -> bool:
        """Record a request's signature; False when it was recorded before (a replay)."""
        try:
            # One short write on every request's path; the unique key is the guard. It does not
            # wait for the disk at commit (on PostgreSQL as long as the rest of a click): a crash
            # may lose the last moment of these rows, but whatever an accepted request then
            # writes commits after its row, and a durable commit writes the log up to there, so
            # only a request that changed nothing lasting could act a second time.
            with self._db.direct(write=True, urgent=True) as connection:
                inserted = connection.first_not_durable(
                    REMEMBER_REQUEST, {"signature": signature, "expires_at": expires_at}
                )
        except SQLAlchemyError as error:
            raise StorageUnavailable(describe(error)) from error
        return inserted is not None

    def forget(self, signature: str) -> None:
        """Drop a signature again, so Slack's retry of a request that failed is accepted."""
        try:
            with self._db.direct(write=True) as connection:
                connection.run(FORGET_REQUEST, {"signature": signature})
        except SQLAlchemyError as error:
            raise StorageUnavailable(describe(error)) from error

    def forget_expired(self, *, now: datetime) -> int:
        """Delete what can no longer be replayed; returns how many rows went."""
        table = table_of(AcceptedRequest)
        with self._db.write_connection() as connection:
            result = connection.execute(delete(table).where(table.c.expires_at < now))
            return int(result.rowcount)
