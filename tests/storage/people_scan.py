"""Every place a string turns up in the database: for checking that a forgotten person is gone."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, String, select

from bot.storage.db import Database
from bot.storage.models import metadata


def occurrences(db: Database, needle: str) -> list[str]:
    """`table.column#id` of every text or JSON value in any table that contains `needle`."""
    found: list[str] = []
    with db.read() as session:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | JSON)]
            if not columns:
                continue
            for row in session.execute(select(table)).mappings():
                for column in columns:
                    value: Any = row[column.name]
                    text = value if isinstance(value, str) else json.dumps(value)
                    if value is not None and needle in text:
                        found.append(f"{table.name}.{column.name}#{row['id']}")
    return found


def row_counts(db: Database) -> dict[str, int]:
    """Rows per table."""
    with db.read() as session:
        return {
            table.name: len(session.execute(select(table.c.id)).all())
            for table in metadata.sorted_tables
        }
