"""What every table shares: the constraint naming convention, column bounds and UTC instants."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime

# Deterministic constraint names: Alembic's SQLite batch mode needs them to alter tables.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TEAM_ID = 32  # Slack ids are short; a bound keeps PostgreSQL indexes lean.
SLACK_ID = 32
TS = 32


def instant(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a table model, for statements built once (SQLModel does not declare
    `__table__` to type checkers)."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table
