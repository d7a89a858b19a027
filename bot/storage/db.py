"""The engine and its sessions: SQLite (WAL, busy timeout, `BEGIN IMMEDIATE`) or PostgreSQL."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.interfaces import CompiledCacheType
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import PoolProxiedConnection, StaticPool
from sqlmodel import Session, create_engine

from bot.storage import statements as shared_statements
from bot.storage.fastlane import Direct, DirectConnection

try:
    import fcntl
except ImportError:  # Windows: threads take turns; other processes wait in SQLite's handler
    fcntl = None  # type: ignore[assignment]

_WRITE = "microlearn_write"
# Connections opened beyond the pool's size for a burst, and closed again after it.
_OVERFLOW = 10


# A use case's unit of work, as services see it: opened with `transaction()`, handed to repository
# methods as `tx=`. Services never use it directly.
Transaction = Session


class StorageUnavailable(Exception):
    """The database cannot be reached; the message says why."""


class Database:
    """Owns the engine. Its doors, each for one use:

    - `transaction()`: a use case's unit of work, handed to repository methods as `tx=`;
    - `write_in(tx)` / `write()`: inside a repository method, the caller's unit of work or a
      write transaction of its own;
    - `read()`: a session for reads;
    - `write_connection()`: a Core connection in one write transaction (migrations, bulk
      statements, bookkeeping that need not wait for the disk);
    - `direct()`: the fast lane's driver connection (bot.storage.fastlane), for the statements
      a click or every request runs, and nothing else; `direct(urgent=True)` for those a
      request runs before it is acknowledged.

    `urgent_pool_size`: connections kept for `direct(urgent=True)` alone, one for each thread
    that takes requests (0: they share the pool). Measured on PostgreSQL at 200 answers/s on a
    busy machine, with one shared pool an acknowledgement waited up to 0.6 s for its connection
    (the slowest 1 % spent 114 ms on average there in one run): while the settling threads held
    every connection and the overflow, or opening a new one itself (a new server process, its
    caches cold), since the overflow connections a burst opens are closed again after it.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        urgent_pool_size: int = 0,
        statements: CompiledCacheType | None = None,
    ) -> None:
        """`statements`: where compiled statements are kept, instead of the engine's own cache;
        by default the one every Database of the process shares (bot.storage.statements), which
        spares each engine compiling every statement again."""
        if statements is None:
            statements = shared_statements.PROCESS
        shared_statements.share_orm_statements()
        self.url = url
        self.dialect = url.split(":", 1)[0].split("+", 1)[0]
        self.engine = _create_engine(url, pool_size=pool_size, statements=statements)
        self._urgent = self.engine
        if urgent_pool_size and not _in_memory(url):
            # Never more connections than threads that take requests, none closed after use.
            self._urgent = _create_engine(
                url, pool_size=urgent_pool_size, overflow=0, statements=statements
            )
        self._writer = self.engine.execution_options(**{_WRITE: True})
        self._disposed = False
        self._held = threading.local()  # this thread's `holding()`: _Held, or none
        event.listen(self.engine, "checkin", self._checkin)
        if self._urgent is not self.engine:
            event.listen(self._urgent, "checkin", self._checkin)
        # SQLite has one writer at a time. Writers queue for it here, in turn, instead of in
        # SQLite's busy handler, which sleeps and retries with growing pauses (up to 100 ms each).
        self._write_turn: AbstractContextManager[Any] = (
            _WriteTurn(_lock_path(url)) if self.is_sqlite else nullcontext()
        )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A use case's unit of work: pass it to repository methods as `tx=`, and everything
        they write commits once, when the block ends (or none of it, on an error)."""
        with self.write() as session:
            yield session

    @contextmanager
    def write_in(self, tx: Session | None) -> Iterator[Session]:
        """For repository methods that take `tx=`: the caller's transaction when given one,
        else a write transaction of their own."""
        if tx is not None:
            yield tx
            return
        with self.write() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """For repository methods: a session in one write transaction of their own, committed
        on success, rolled back on error."""
        with (
            self._write_turn,
            Session(self._writer, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads (Core statements too, through `execute`); on SQLite it never
        takes the write lock."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write_connection(self, *, durable: bool = True) -> Iterator[Connection]:
        """A Core connection in one write transaction (migrations, bulk statements).

        `durable=False` is for bookkeeping that a crash may lose because it can be found again
        (which parts of a delivery Slack accepted: their message metadata says so): PostgreSQL
        then commits without waiting for the disk. Nothing else changes; the commit is atomic.
        """
        with self._write_turn, self._writer.begin() as connection:
            if not durable and not self.is_sqlite:
                connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
            yield connection

    @contextmanager
    def direct(self, *, write: bool = False, urgent: bool = False) -> Iterator[DirectConnection]:
        """The fast lane: the driver's own connection, for bot.storage.fastlane's statements.

        Every statement commits on its own as it runs (autocommit): one round trip each, with
        no BEGIN and COMMIT around it. So only statements that are atomic by themselves belong
        here, such as INSERT … ON CONFLICT … RETURNING (or a few inside `atomic()`). Writes on
        SQLite take the writers' turn.

        `urgent`: what a request reads and writes before it is acknowledged. It runs on
        connections of its own (`urgent_pool_size`), kept once opened, so it never waits for one
        that a settling thread holds; on SQLite its writes go ahead of the writers' queue.
        """
        turn = self._write_turn
        if urgent and isinstance(turn, _WriteTurn):
            turn = turn.urgent()
        engine = self._urgent if urgent else self.engine
        held: _Held | None = getattr(self._held, "held", None)
        with turn if write else nullcontext():
            if held is not None and held.engine is engine:
                if held.pooled is None:
                    held.pooled = self._checkout(engine)
                yield DirectConnection(held.pooled, self.engine.dialect)
                return
            pooled = self._checkout(engine)
            try:
                yield DirectConnection(pooled, self.engine.dialect)
            finally:
                pooled.close()

    def found(self, statement: Direct, **values: Any) -> bool:
        """Whether a fast-lane read gives a row: one round trip on the driver's connection (the
        tick's checks, such as `fastlane.DELIVERIES_DUE`, before a step that would find
        nothing)."""
        with self.direct() as connection:
            return connection.first(statement, values) is not None

    @contextmanager
    def holding_urgent(self) -> Iterator[None]:
        """Inside the block, this thread's `direct(urgent=True)` calls share one connection,
        checked out at the first and returned at the end: a click's few statements before its
        ack pay for one checkout instead of one each. Only this thread's calls: the connection
        is never handed to another. Nested blocks use the outer one's.

        Only with connections of their own (`urgent_pool_size`), one per request thread: a
        thread holding one may still wait for a shared one (an ORM read), but nothing waiting
        for an urgent one holds a shared one. Without them, nothing is held."""
        if self._urgent is self.engine or getattr(self._held, "held", None) is not None:
            yield
            return
        held = self._held.held = _Held(self._urgent)
        try:
            yield
        finally:
            self._held.held = None
            if held.pooled is not None:
                held.pooled.close()

    def _checkout(self, engine: Engine) -> PoolProxiedConnection:
        """A pooled driver connection for the fast lane, in autocommit."""
        pooled = self._raw_connection(engine)
        try:
            driver = pooled.driver_connection
            # SQLite's connections are in autocommit already (see _configure_sqlite). A
            # PostgreSQL one is switched on first use and stays so until SQLAlchemy's own
            # path takes it (see _transactional): most checkouts on a click switch nothing.
            if not self.is_sqlite and not driver.autocommit:  # type: ignore[union-attr]
                driver.autocommit = True  # type: ignore[union-attr]
        except BaseException:
            pooled.close()
            raise
        return pooled

    def _raw_connection(self, engine: Engine) -> PoolProxiedConnection:
        dbapi_error = engine.dialect.loaded_dbapi.Error
        try:
            return engine.raw_connection()
        except dbapi_error as error:
            # As SQLAlchemy's own connections raise it (OperationalError when the server is down).
            raise DBAPIError.instance(None, None, error, dbapi_error) from error

    @property
    def unreachable(self) -> tuple[type[Exception], ...]:
        """What a statement raises when the database cannot be reached or cannot take it now
        (no connection to give, a server restarting, SQLite's lock held too long): SQLAlchemy's
        OperationalError, and the driver's own from the fast lane, which bypasses SQLAlchemy."""
        driver = self.engine.dialect.loaded_dbapi
        return (OperationalError, driver.OperationalError)

    def ping(self) -> None:
        """Raise StorageUnavailable unless a trivial query answers."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            raise StorageUnavailable(describe(error)) from error

    def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database without blocking anyone.

        Serving processes call this every few seconds from the scheduler's thread; when the last
        connection closes, SQLite checkpoints by itself.
        """
        if not self.is_sqlite:
            return
        with self.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def dispose(self) -> None:
        """Close the pooled connections and the writers' lock file.

        Connections in use by then (a background thread finishing its work) are closed when
        they come back, as are any opened afterwards, rather than kept in a pool nobody will
        close: left to the garbage collector, they would be closed at some random later moment.
        """
        self._disposed = True
        self.engine.dispose()
        if self._urgent is not self.engine:
            self._urgent.dispose()
        if isinstance(self._write_turn, _WriteTurn):
            self._write_turn.close()

    def _checkin(self, dbapi_connection: Any, record: Any) -> None:
        if self._disposed and dbapi_connection is not None:
            record.invalidate()


def insert_for(session: Session) -> Any:
    """The dialect's INSERT, which has `on_conflict_do_nothing/update` on both databases."""
    return insert_for_dialect(session.get_bind().dialect.name)


def insert_for_dialect(name: str) -> Any:
    """`insert_for` by dialect name, for statements built once and reused."""
    return pg_insert if name == "postgresql" else sqlite_insert


def describe(error: BaseException) -> str:
    """A driver error as one line."""
    original = getattr(error, "orig", None)
    lines = str(original if original is not None else error).split("\n")
    return " ".join(line.strip() for line in lines if line.strip()) or type(error).__name__


class _WriteTurn:
    """One SQLite writer at a time: threads of this process in turn on a reentrant lock, and
    processes (gunicorn workers, the CLI) in turn on an exclusive `flock` of a file beside the
    database, which wakes the next writer as soon as the lock is free.

    An urgent writer (an answer stored before its click is acknowledged) goes straight for the
    lock. Every other writer first passes a gate, one at a time in this process and across
    processes (a second `flock`), and holds it while it waits: so an urgent writer waits for the
    writer inside and at most one other, not for every write queued behind them (after an
    answer, its points, review card and completion, from each of 32 settling threads)."""

    def __init__(self, path: str | None) -> None:
        self._path = path
        self._threads = threading.RLock()
        self._gate = threading.Lock()
        self._depth = 0
        self._owner: int | None = None
        self._fd: int | None = None
        self._gate_fd: int | None = None
        self._pid = 0

    def __enter__(self) -> None:
        self._enter(urgent=False)

    def __exit__(self, *_exc: object) -> None:
        try:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                if self._fd is not None and fcntl is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    @contextmanager
    def urgent(self) -> Iterator[None]:
        self._enter(urgent=True)
        try:
            yield
        finally:
            self.__exit__()

    def _enter(self, *, urgent: bool) -> None:
        me = threading.get_ident()
        if urgent or self._owner == me or self._path is None or fcntl is None:
            self._take(me)
            return
        with self._gate:
            gate = self._file(gate=True)
            fcntl.flock(gate, fcntl.LOCK_EX)
            try:
                self._take(me)
            finally:
                fcntl.flock(gate, fcntl.LOCK_UN)

    def _take(self, me: int) -> None:
        self._threads.acquire()
        try:
            self._depth += 1
            if self._depth == 1:
                self._owner = me
                if self._path is not None and fcntl is not None:
                    fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
            self._threads.release()
            raise

    def close(self) -> None:
        with self._threads:
            if self._pid == os.getpid():
                for fd in (self._fd, self._gate_fd):
                    if fd is not None:
                        os.close(fd)
            self._fd = self._gate_fd = None

    def _file(self, *, gate: bool = False) -> int:
        # Descriptors of this process's own: a forked child must not share its parent's locks.
        if self._pid != os.getpid():
            self._fd = self._gate_fd = None
            self._pid = os.getpid()
        assert self._path is not None
        if gate:
            if self._gate_fd is None:
                self._gate_fd = os.open(f"{self._path}.gate", os.O_RDWR | os.O_CREAT, 0o600)
            return self._gate_fd
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd


class _Held:
    """The connection a thread's `Database.holding()` block shares, once checked out."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pooled: PoolProxiedConnection | None = None


def _lock_path(url: str) -> str | None:
    """The file whose lock admits one writer at a time; None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return f"{database}-writer.lock"


def _in_memory(url: str) -> bool:
    return url in ("sqlite://", "sqlite:///:memory:")


def _create_engine(
    url: str,
    *,
    pool_size: int,
    overflow: int = _OVERFLOW,
    statements: CompiledCacheType | None = None,
) -> Engine:
    shared: dict[str, Any] = {}
    if statements is not None:
        shared["execution_options"] = {"compiled_cache": statements}
    if not url.startswith("sqlite"):
        engine = create_engine(
            url,
            **shared,
            # No ping per checkout (a round trip before every statement of a click): connections
            # are replaced after 5 minutes, and one that died with the server fails one request,
            # after which SQLAlchemy discards the whole pool.
            pool_recycle=300,
            pool_size=pool_size,
            max_overflow=overflow,
            pool_timeout=10,
            connect_args={"connect_timeout": 3},
        )
        event.listen(engine, "engine_connect", _transactional)
        return engine
    in_memory = _in_memory(url)
    extra: dict[str, Any] = {"poolclass": StaticPool} if in_memory else {}
    if not in_memory:
        extra = {"pool_size": pool_size, "max_overflow": overflow}
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, **extra, **shared
    )
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


def _transactional(connection: Connection) -> None:
    # SQLAlchemy's connections run in transactions; `Database.direct` may have left this one
    # in autocommit.
    driver = connection.connection.driver_connection
    if driver is not None and driver.autocommit:
        driver.autocommit = False


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event choose BEGIN or BEGIN IMMEDIATE instead of the driver.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # No checkpoint inside a commit: it would stall the writer (an answer before its ack)
        # while the WAL is copied and synced. `Database.checkpoint` runs it in the background.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    finally:
        cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    # Writers take the lock up front: a deferred transaction that upgrades to a write lock
    # fails with "database is locked" instead of waiting when another writer holds it.
    immediate = connection.get_execution_options().get(_WRITE, False)
    # Straight to the driver: this runs for every transaction, and needs no statement cache.
    connection.connection.dbapi_connection.execute(  # type: ignore[union-attr]
        "BEGIN IMMEDIATE" if immediate else "BEGIN"
    )
