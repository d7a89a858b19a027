"""A database at the newest revision is recognised without Alembic; one behind is migrated."""

from __future__ import annotations

import pytest

from bot.storage import migrate
from bot.storage.db import Database


def test_the_migration_files_name_alembics_head() -> None:
    assert migrate.shipped_head() == migrate.head_revision()


def test_a_database_at_head_is_left_to_itself_without_alembic(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def alembic(_db: Database, _revision: str) -> tuple[str | None, str]:
        raise AssertionError("Alembic ran for a database already at head")

    monkeypatch.setattr(migrate, "_upgrade", alembic)
    head = migrate.head_revision()
    assert migrate.upgrade(db) == (head, head)


def test_a_database_one_revision_behind_is_migrated(db: Database) -> None:
    head = migrate.head_revision()
    migrate.downgrade(db, "-1")
    behind = migrate.current_revision(db)
    assert behind is not None and behind != head
    assert migrate.upgrade(db) == (behind, head)
    assert migrate.current_revision(db) == head
