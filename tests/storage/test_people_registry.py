"""A new table cannot slip past `microlearn forget`: every table is either listed as holding
people's data (and how) or as holding nobody's, and every column that looks like it holds a
person is covered."""

from __future__ import annotations

import re

from bot.storage.models import metadata
from bot.storage.people import IMPERSONAL, MENTIONS, NOT_A_PERSON, OWN, TEXTS

# Column names that suggest a Slack user id (or someone's words) is stored in them.
PERSON_LIKE = re.compile(
    r"user|_by$|^by_|recipient|^ref$|member|person|people|learner|lead|owner|author|installer"
)


def covered() -> set[tuple[str, str]]:
    columns = {(entry.table.name, entry.column) for entry in OWN}
    columns |= {(mention.table.name, mention.column) for mention in MENTIONS}
    return columns


def test_every_table_is_either_about_people_or_listed_as_about_nobody() -> None:
    personal = {entry.table.name for entry in OWN} | {m.table.name for m in MENTIONS}
    unlisted = {table.name for table in metadata.sorted_tables} - personal - IMPERSONAL.keys()
    assert not unlisted, (
        f"tables neither forgotten nor exported: {sorted(unlisted)}. Add their person columns "
        "to OWN or MENTIONS in bot/storage/people.py, or the table to IMPERSONAL with a reason"
    )
    assert not personal & IMPERSONAL.keys(), "a table cannot be both"


def test_every_column_that_may_hold_a_person_is_forgotten_and_exported() -> None:
    missed = [
        f"{table.name}.{column.name}"
        for table in metadata.sorted_tables
        for column in table.columns
        if PERSON_LIKE.search(column.name)
        and (table.name, column.name) not in covered()
        and (table.name, column.name) not in NOT_A_PERSON
    ]
    assert not missed, (
        f"columns that look like they hold a person but forget/export skip them: {missed}. "
        "List them in OWN or MENTIONS in bot/storage/people.py (or in NOT_A_PERSON, saying why)"
    )


def test_the_registry_names_only_columns_that_exist() -> None:
    for table_name, column in covered() | {(str(m.__tablename__), c) for m, c in TEXTS}:
        assert column in metadata.tables[table_name].columns, f"{table_name}.{column}"
    for table_name in IMPERSONAL:
        assert table_name in metadata.tables, table_name


def test_every_owned_table_can_be_told_apart_by_workspace() -> None:
    for table in [entry.table for entry in OWN] + [mention.table for mention in MENTIONS]:
        assert "team_id" in table.columns, table.name
