"""The fast lane's driver: `Direct` statements compiled once per dialect and run on the
driver's own cursor, and the helpers the statements are built with."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import and_, bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

# A row of a fast-lane statement: its values by column label.
Row = dict[str, Any]

_CURSOR = "microlearn_direct_cursor"


class Direct:
    """A Core statement compiled once per dialect and run on the driver's cursor.

    The statement is still written once with Core, for both dialects; its parameters and results
    pass through the same type processors SQLAlchemy would apply (UTC instants, JSON, booleans),
    so what it writes and reads is what the rest of the code writes and reads. Statements with
    expanding IN lists are not supported.
    """

    def __init__(self, statement: Any = None, *, build: Callable[[str], Any] | None = None) -> None:
        """`statement`, or `build(dialect name)` for statements that differ by dialect
        (ON CONFLICT)."""
        if (statement is None) == (build is None):
            raise TypeError("Direct takes a statement or a build function")
        self._build = build if build is not None else (lambda _name: statement)
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Any) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = _Compiled(self._build(dialect.name), dialect)
            self._compiled[dialect.name] = found
        return found


class _Compiled:
    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql: str = compiled.string
        self._compiled = compiled
        self._positions: list[str] | None = (
            list(compiled.positiontup) if compiled.positional else None
        )
        self._binds: dict[str, Any] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self._binds[name] = processor
        columns = getattr(statement, "exported_columns", None)
        self.labels: tuple[str, ...] = tuple(columns.keys()) if columns is not None else ()
        if len(set(self.labels)) != len(self.labels):
            raise TypeError(f"a fast-lane statement's column labels repeat: {self.labels}")
        self._results: list[Any] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in (columns or [])
        ]

    def parameters(self, values: dict[str, Any]) -> Any:
        full = self._compiled.construct_params(values)
        for name, processor in self._binds.items():
            if name in full:
                full[name] = processor(full[name])
        if self._positions is not None:
            return tuple(full[name] for name in self._positions)
        return full

    def row(self, row: Any) -> Row:
        return {
            label: value if processor is None or value is None else processor(value)
            for label, processor, value in zip(self.labels, self._results, row, strict=True)
        }


class DirectConnection:
    """Runs `Direct` statements on one pooled driver connection, reusing its cursor."""

    def __init__(self, pooled: Any, dialect: Any) -> None:
        self._pooled = pooled
        self._dialect = dialect

    def all(self, statement: Direct, values: dict[str, Any]) -> list[Row]:
        compiled = statement.compiled(self._dialect)
        rows = self._execute(compiled.sql, compiled.parameters(values))
        if not compiled.labels:  # PostgreSQL's implicit RETURNING id of an INSERT: not asked for
            return []
        return [compiled.row(row) for row in rows]

    def first(self, statement: Direct, values: dict[str, Any]) -> Row | None:
        rows = self.all(statement, values)
        return rows[0] if rows else None

    @property
    def dialect(self) -> str:
        """The database's dialect name: "sqlite" or "postgresql"."""
        return str(self._dialect.name)

    def run(self, statement: Direct, values: dict[str, Any]) -> None:
        self.all(statement, values)

    def first_not_durable(self, statement: Direct, values: dict[str, Any]) -> Row | None:
        """`first`, committed without waiting for the disk, as `write_connection(durable=False)`
        commits, on the driver's cursor (a fraction of SQLAlchemy's cost for the same four
        statements). SQLite never waits for the disk at commit here (synchronous=NORMAL)."""
        if self._dialect.name == "sqlite":
            return self.first(statement, values)
        self._execute("BEGIN")
        try:
            self._execute("SET LOCAL synchronous_commit = off")
            row = self.first(statement, values)
        except BaseException:
            if self._pooled.dbapi_connection is not None:  # not invalidated (server gone)
                with contextlib.suppress(DBAPIError):
                    self._execute("ROLLBACK")
            raise
        self._execute("COMMIT")
        return row

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """The statements inside commit together or not at all (an answer and its points)."""
        # sqlite3 takes no None for "no parameters"; psycopg takes it.
        none: Any = () if self._dialect.name == "sqlite" else None
        self._execute("BEGIN IMMEDIATE" if self._dialect.name == "sqlite" else "BEGIN", none)
        try:
            yield
        except BaseException:
            if self._pooled.dbapi_connection is not None:  # not invalidated (server gone)
                with contextlib.suppress(DBAPIError):
                    self._execute("ROLLBACK", none)
            raise
        self._execute("COMMIT", none)

    def _execute(self, sql: str, parameters: Any = None) -> list[Any]:
        cursor = self._cursor()
        try:
            cursor.execute(sql, parameters)
            return cursor.fetchall() if _has_rows(cursor) else []
        except self._dialect.loaded_dbapi.Error as error:
            if self._dialect.is_disconnect(error, self._pooled.dbapi_connection, cursor):
                self._pooled.invalidate()  # the server went away: open a new one next time
            # The same exceptions as SQLAlchemy's own path (IntegrityError, OperationalError…).
            raise DBAPIError.instance(
                sql, parameters, error, self._dialect.loaded_dbapi.Error
            ) from error

    def _cursor(self) -> Any:
        """The connection's own cursor, kept with it in the pool: a new psycopg cursor copies
        the connection's type adapters, which costs as much as running a small query."""
        driver = self._pooled.dbapi_connection
        kept = self._pooled.info.get(_CURSOR)
        if kept is None or kept[0] is not driver:
            kept = self._pooled.info[_CURSOR] = (driver, driver.cursor())
        return kept[1]


def _has_rows(cursor: Any) -> bool:
    """Whether the statement just run gave rows to fetch (none for BEGIN, or an INSERT without
    RETURNING). psycopg builds a Column for every column of `description` each time it is read:
    to learn only this, a 10-column read cost 41-43 us of CPU instead of 28-29 us. Its result's
    column count says it too. sqlite3's `description` costs nothing."""
    result: Any = getattr(cursor, "pgresult", _NO_RESULT)
    if result is _NO_RESULT:
        return cursor.description is not None
    return result is not None and result.nfields > 0


_NO_RESULT = object()  # a cursor that is not psycopg's


def _insert(dialect: str) -> Any:
    """The dialect's INSERT, which has `on_conflict_do_nothing/update` on both databases."""
    return pg_insert if dialect == "postgresql" else sqlite_insert


def _bound(table: Any, names: list[str]) -> dict[str, Any]:
    """VALUES for an INSERT: one bound parameter per column, typed as the column."""
    return {name: bindparam(name, type_=table.c[name].type) for name in names}


def _columns(table: Any, names: str) -> list[Any]:
    """The table's columns of these (space-separated) names, in that order."""
    return [col(getattr(table, name)) for name in names.split()]


def _by(*columns: Any) -> Any:
    """WHERE each column equals the parameter of its own name."""
    return and_(*(column == bindparam(column.key) for column in columns))
