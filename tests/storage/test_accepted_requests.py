"""The replay guard's memory: shared through the database, forgotten once it cannot matter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot import app
from bot.services.replays import ReplayGuard
from bot.storage.db import Database, StorageUnavailable
from bot.storage.requests import AcceptedRequests


def test_signatures_are_forgotten_once_they_could_no_longer_be_replayed(db: Database) -> None:
    guard = ReplayGuard(AcceptedRequests(db))
    signed_at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    signature = "v0=" + "ab" * 32
    assert guard.first_use(signature, int(signed_at.timestamp()))
    assert not guard.first_use(signature, int(signed_at.timestamp()))
    app.upkeep(db, now=signed_at + timedelta(minutes=5))  # still inside the window: kept
    assert not guard.first_use(signature, int(signed_at.timestamp()))
    app.upkeep(db, now=signed_at + timedelta(minutes=7))  # past it (and a minute's clock skew)
    assert guard.first_use(signature, int(signed_at.timestamp()))


def test_a_write_that_fails_leaves_no_transaction_open(db: Database) -> None:
    store = AcceptedRequests(db)
    expires = datetime(2026, 11, 23, 9, 6, tzinfo=UTC)
    if not db.is_sqlite:  # SQLite does not enforce the column's length
        with pytest.raises(StorageUnavailable):
            store.remember("x" * 65, expires_at=expires)
    assert store.remember("y" * 64, expires_at=expires)  # the same pooled connection, usable
    assert not store.remember("y" * 64, expires_at=expires)
