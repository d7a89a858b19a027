"""Apply Alembic migrations programmatically (`serve` start-up and `microlearn db upgrade`).

A database already at the newest revision is recognised with one query, without Alembic:
Alembic (and Mako and Pygments, which come with it) is imported only when a migration runs,
some 0.2 s of CPU saved at every start and every one-shot command on a migrated database.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from bot.storage.db import Database, StorageUnavailable, describe

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATIONS = Path(__file__).with_name("migrations")
_VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps
# How every file in migrations/versions names itself and its one parent (Alembic's template).
_REVISION = re.compile(r'^revision(?::[^=\n]*)? = "([^"\n]+)"$', re.MULTILINE)
_PARENT = re.compile(r'^down_revision(?::[^=\n]*)? = (?:"([^"\n]+)"|None)$', re.MULTILINE)


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


@cache
def head_revision() -> str:
    """The newest migration this code ships (read once per process: it is the code's own)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


@cache
def shipped_head() -> str | None:
    """head_revision() read from the migration files as text, without Alembic; None when they
    are not one plain chain (a merge, a file of another shape): then Alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (_MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, parent = _REVISION.findall(source), _PARENT.findall(source)
        if len(revision) != 1 or len(parent) != 1:
            return None
        revisions.add(revision[0])
        if parent[0]:
            parents.add(parent[0])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and len(parents) == len(revisions) - 1 else None


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _at_head(db: Database) -> str | None:
    """The head revision if the database is at it, as Alembic would find (its version table
    holds exactly that one row); None when a migration may be due."""
    head = shipped_head()
    if head is None:
        return None
    with db.engine.connect() as connection:
        if not inspect(connection).has_table(_VERSION_TABLE):
            return None
        rows = connection.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).all()
    return head if [row[0] for row in rows] == [head] else None


def upgrade(db: Database, revision: str = "head") -> tuple[str | None, str]:
    """Migrate to `revision`; return (revision before, revision after). A database at the head
    already is left alone: one read, without loading the migrations or Alembic (every start-up,
    every one-shot command)."""
    try:
        head = _at_head(db) if revision == "head" else None
        if head is not None:
            return head, head
        return _upgrade(db, revision)
    except SQLAlchemyError as error:
        raise StorageUnavailable(describe(error)) from error


def _upgrade(db: Database, revision: str) -> tuple[str | None, str]:
    from alembic import command

    config = _config()
    before = current_revision(db)
    with db.write_connection() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    after = current_revision(db)
    assert after is not None
    return before, after


def cannot_migrate(error: StorageUnavailable) -> str:
    """What `serve`, a one-shot command or `microlearn db upgrade` says when upgrade() fails."""
    return f"cannot migrate the database at DATABASE_URL: {error}"


def downgrade(db: Database, revision: str) -> None:
    from alembic import command

    config = _config()
    with db.write_connection() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
