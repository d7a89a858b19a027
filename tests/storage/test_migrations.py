from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import UniqueConstraint

from bot.storage import migrate
from bot.storage.db import Database
from bot.storage.models import metadata

CONTENT_TABLES = {"course", "lesson", "question"}
# Recorded from a request's signature before its payload (and so its workspace) is read.
UNPARSED_TABLES = {"accepted_request"}


def test_migrations_build_exactly_the_models(db: Database) -> None:
    assert migrate.current_revision(db) == migrate.head_revision()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_downgrade_to_empty_and_upgrade_again(db: Database) -> None:
    migrate.downgrade(db, "base")
    assert migrate.current_revision(db) is None
    before, after = migrate.upgrade(db)
    assert (before, after) == (None, migrate.head_revision())
    assert migrate.upgrade(db) == (after, after)  # idempotent


def test_a_database_at_the_head_is_left_alone(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every start-up and one-shot command upgrades first; at the head, Alembic is not run."""

    def run(*_args: object) -> None:
        raise AssertionError("Alembic ran on a database at the head")

    monkeypatch.setattr(command, "upgrade", run)
    head = migrate.head_revision()
    assert migrate.upgrade(db) == (head, head)


def test_every_workspace_row_carries_the_team_id_in_its_unique_keys() -> None:
    for table in metadata.sorted_tables:
        if table.name in CONTENT_TABLES | UNPARSED_TABLES or table.name == "alembic_version":
            continue
        assert "team_id" in table.columns, table.name
        for constraint in table.constraints:
            if isinstance(constraint, UniqueConstraint):
                assert "team_id" in constraint.columns, (table.name, constraint.name)
