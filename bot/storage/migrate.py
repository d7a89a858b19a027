"""Apply Alembic migrations programmatically (`serve` start-up and `microlearn db upgrade`)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from bot.storage.db import Database, StorageUnavailable, describe

_MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


@cache
def head_revision() -> str:
    """The newest migration this code ships (read once per process: it is the code's own)."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> tuple[str | None, str]:
    """Migrate to `revision`; return (revision before, revision after). A database at the head
    already is left alone: one read, without loading the migrations (every start-up, every
    one-shot command)."""
    config = _config()
    try:
        before = current_revision(db)
        if revision == "head" and before == head_revision():
            return before, before
        with db.write_connection() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        after = current_revision(db)
    except SQLAlchemyError as error:
        raise StorageUnavailable(describe(error)) from error
    assert after is not None
    return before, after


def downgrade(db: Database, revision: str) -> None:
    config = _config()
    with db.write_connection() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
