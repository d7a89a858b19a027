"""Compiled SQL statements shared by the Databases of one process (`Database(statements=…)`).

SQLAlchemy keeps compiled statements per engine, keyed by the engine's dialect object, and the
ORM's flushes (the INSERT, UPDATE and DELETE of mapped rows) keep theirs per mapper, keyed the
same way. A process that opens several engines (a serving process has two, one for urgent
statements; the sandbox opens one per reset; the test suite one per test, about a tenth of its
time) would compile every statement again for each. Here a statement compiled for one engine
serves every engine of the same kind of database, as bot.storage.fastlane's statements
(compiled once per dialect name) do.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from sqlalchemy.engine import Compiled, Dialect
from sqlalchemy.orm import configure_mappers
from sqlalchemy.util import LRUCache
from sqlmodel import SQLModel


class SharedStatements(MutableMapping[Any, Compiled]):
    """SQLAlchemy's `compiled_cache`, keyed by the dialect's kind instead of its identity."""

    def __init__(self, size: int = 5000) -> None:
        self._cache: LRUCache[Any, Compiled] = LRUCache(size)

    def __getitem__(self, key: Any) -> Compiled:
        return self._cache[_shared(key)]

    def get(self, key: Any, default: Any = None) -> Any:
        return self._cache.get(_shared(key), default)

    def __setitem__(self, key: Any, value: Compiled) -> None:
        self._cache[_shared(key)] = value

    def __delitem__(self, key: Any) -> None:
        del self._cache[_shared(key)]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cache)

    def __len__(self) -> int:
        return len(self._cache)


def _shared(key: Any) -> Any:
    """(dialect, statement, …) → (what the compiled SQL depends on of the dialect, statement, …)."""
    dialect: Dialect = key[0]
    kind = (
        type(dialect),
        dialect.server_version_info,
        dialect.paramstyle,
        dialect.label_length,
        dialect.max_identifier_length,
    )
    return (kind, *key[1:])


# Every Database of this process, unless given a cache of its own.
PROCESS = SharedStatements()


def share_orm_statements() -> None:
    """Make each mapper's cache of compiled flush statements keyed by the dialect's kind too.

    SQLAlchemy keeps it in the mapper (`Mapper._compiled_cache`, an LRU of 100 keyed by dialect
    object, passed as the flush's `compiled_cache`), so the engine's cache never sees those
    statements. Idempotent and cheap: every Database calls it. Mappers are configured first, as
    their first use would: configuring drops what a mapper memoized."""
    configure_mappers()
    for mapper in SQLModel._sa_registry.mappers:
        if not isinstance(mapper.__dict__.get("_compiled_cache"), SharedStatements):
            mapper._set_memoized_attribute(
                "_compiled_cache", SharedStatements(mapper._compiled_cache_size)
            )
