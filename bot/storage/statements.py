"""Compiled SQL statements shared by the Databases of one process (`Database(statements=…)`).

SQLAlchemy keeps compiled statements per engine, keyed by the engine's dialect object. A process
that opens many engines (the test suite opens one per test) would compile every statement again
for each: about a tenth of the suite's time. Here a statement compiled for one engine serves
every engine of the same kind of database, as bot.storage.fastlane's statements (compiled once
per dialect name) do.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from sqlalchemy.engine import Compiled, Dialect
from sqlalchemy.util import LRUCache


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
