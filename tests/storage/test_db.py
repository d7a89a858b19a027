from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import JSON, bindparam, insert
from sqlalchemy import select as select_columns
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import col, select

from bot.storage import migrate
from bot.storage.answers import AnswerRepository
from bot.storage.db import _OVERFLOW, Database, StorageUnavailable, _WriteTurn
from bot.storage.fastlane import Direct
from bot.storage.models import Learner
from bot.storage.statements import SharedStatements
from tests.storage.lesson_queued import lesson_queued_to_u1, u1_answers

NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def _learner(team: str, user: str, **fields: Any) -> Learner:
    return Learner(team_id=team, user_id=user, created_at=NOW, **fields)


def test_instants_come_back_aware_and_in_utc(db: Database) -> None:
    berlin = datetime(2026, 3, 29, 3, 30, tzinfo=ZoneInfo("Europe/Berlin"))  # just after DST
    with db.write() as session:
        session.add(_learner("T1", "U1", snoozed_until=berlin))
    with db.read() as session:
        stored = session.exec(select(Learner)).one()
    assert stored.snoozed_until is not None
    assert stored.snoozed_until == berlin
    assert stored.snoozed_until.tzinfo is UTC
    assert stored.snoozed_until.hour == 1


_LEARNER_COLUMNS = ("user_id", "tz_checked_at", "is_admin", "deactivated")
_DIRECT_INSERT = Direct(
    insert(Learner).values(
        {
            name: bindparam(name, type_=Learner.__table__.c[name].type)  # type: ignore[attr-defined]
            for name in ("team_id", "name", "first_name", "tz", "created_at", *_LEARNER_COLUMNS)
        }
    )
)
_DIRECT_SELECT = Direct(
    select_columns(*(Learner.__table__.c[name] for name in _LEARNER_COLUMNS))  # type: ignore[attr-defined]
    .where(col(Learner.team_id) == bindparam("team_id"))
    .order_by(col(Learner.user_id))
)
_NAMED = {"team_id": "T1", "name": "", "first_name": "", "tz": "UTC"}
_DIRECT_JSON = Direct(select_columns(bindparam("document", type_=JSON)))


def test_the_direct_path_stores_and_reads_what_the_orm_does(db: Database) -> None:
    berlin = datetime(2026, 3, 29, 3, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    with db.write() as session:
        session.add(_learner("T1", "U1", tz_checked_at=berlin, is_admin=True))
    values = {**_NAMED, "created_at": NOW, "user_id": "U2", "tz_checked_at": berlin}
    with db.direct(write=True) as connection:
        connection.run(_DIRECT_INSERT, {**values, "is_admin": False, "deactivated": True})
    with db.read() as session:
        written = session.exec(select(Learner).where(col(Learner.user_id) == "U2")).one()
    assert (written.tz_checked_at, written.is_admin, written.deactivated) == (berlin, False, True)
    assert written.created_at == NOW and written.created_at.tzinfo is UTC
    with db.direct() as connection:
        rows = connection.all(_DIRECT_SELECT, {"team_id": "T1"})
        document = connection.first(_DIRECT_JSON, {"document": {"due": "2026-03-30", "n": 2}})
    assert [tuple(row.values()) for row in rows] == [
        ("U1", berlin, True, False),
        ("U2", berlin, False, True),
    ]
    assert [list(row) for row in rows] == [list(_LEARNER_COLUMNS)] * 2  # keyed by column label
    assert all(row["tz_checked_at"].tzinfo is UTC for row in rows)
    assert document is not None and list(document.values()) == [{"due": "2026-03-30", "n": 2}]


def test_each_direct_statement_commits_on_its_own_and_a_failed_one_leaves_nothing(
    db: Database,
) -> None:
    values = {**_NAMED, "created_at": NOW, "tz_checked_at": None, "is_admin": False}
    with pytest.raises(IntegrityError), db.direct(write=True) as connection:
        connection.run(_DIRECT_INSERT, {**values, "user_id": "U1", "deactivated": False})
        connection.run(_DIRECT_INSERT, {**values, "user_id": "U1", "deactivated": True})
    with db.direct() as connection:
        assert connection.all(_DIRECT_SELECT, {"team_id": "T1"}) == [
            {"user_id": "U1", "tz_checked_at": None, "is_admin": False, "deactivated": False}
        ]
    with db.direct(write=True) as connection:  # the connection went back to the pool usable
        connection.run(_DIRECT_INSERT, {**values, "user_id": "U2", "deactivated": False})
    with db.read() as session:  # and so did it for the ORM: nothing left open on it
        users = session.exec(select(Learner.user_id).order_by(col(Learner.user_id))).all()
    assert users == ["U1", "U2"]


def test_after_direct_use_a_connection_is_transactional_again(database_url: str) -> None:
    one = Database(database_url, pool_size=1)  # every use below gets the same connection
    try:
        with one.direct() as connection:
            assert connection.all(_DIRECT_SELECT, {"team_id": "T1"}) == []
        with pytest.raises(RuntimeError), one.write() as session:
            session.add(_learner("T1", "U1"))
            session.flush()
            raise RuntimeError("crash mid-transaction")
        with one.direct() as connection:
            assert connection.all(_DIRECT_SELECT, {"team_id": "T1"}) == []
    finally:
        one.dispose()


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"), db.write() as session:
        session.add(Learner(team_id="T1", user_id="U1", created_at=datetime(2026, 1, 1)))  # noqa: DTZ001


def test_one_learner_per_workspace_and_user(db: Database) -> None:
    with db.write() as session:
        session.add(_learner("T1", "U1"))
        session.add(_learner("T2", "U1"))  # the same id in another workspace is another person
    with pytest.raises(IntegrityError), db.write() as session:
        session.add(_learner("T1", "U1"))
    with db.read() as session:
        teams = session.exec(select(Learner.team_id).order_by(col(Learner.team_id))).all()
        assert teams == ["T1", "T2"]


def test_a_failed_write_leaves_nothing_behind(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as session:
        session.add(_learner("T1", "U1"))
        session.flush()
        raise RuntimeError("crash mid-transaction")
    with db.read() as session:
        assert session.exec(select(Learner)).first() is None


def test_concurrent_writers_wait_instead_of_failing(db: Database) -> None:
    """Read-then-write transactions from many threads: no 'database is locked', no lost update."""
    with db.write() as session:
        session.add(_learner("T1", "U1", name="0"))
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(20):
                with db.write() as session:
                    learner = session.exec(select(Learner).with_for_update()).one()
                    learner.name = str(int(learner.name) + 1)
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.read() as session:
        assert session.exec(select(Learner.name)).one() == "80"


def test_sqlite_connections_are_configured(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/x.db")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    db.dispose()


def test_the_background_checkpoint_empties_the_write_ahead_log(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/x.db")
    migrate.upgrade(db)
    with db.write() as session:
        for n in range(300):
            session.add(Learner(team_id="T1", user_id=f"U{n}", name="x", created_at=NOW))
    reader = db.engine.connect()  # keeps the WAL file open, as a serving process does
    wal = tmp_path / "x.db-wal"
    written = wal.stat().st_size
    assert written > 0
    db.checkpoint()
    # Every frame is in the database now: the next writer starts the log over.
    with db.write() as session:
        session.add(Learner(team_id="T1", user_id="U-next", name="x", created_at=NOW))
    with db.engine.connect() as connection:
        log_frames = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()[1]
    assert log_frames <= 3
    reader.close()
    db.dispose()


def test_ping_names_the_reason_when_the_database_is_down() -> None:
    db = Database("postgresql+psycopg://nobody@127.0.0.1:9/none")
    with pytest.raises(StorageUnavailable, match="refused"):
        db.ping()
    db.dispose()


def test_sqlite_writers_of_other_processes_wait_on_a_file_lock_until_the_writer_is_done(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite:///{tmp_path}/microlearn.db")
    lock = tmp_path / "microlearn.db-writer.lock"
    try:
        with db.write_connection():
            other = os.open(lock, os.O_RDWR)  # what another process would open
            try:
                with pytest.raises(BlockingIOError):  # it would have to wait its turn
                    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            finally:
                os.close(other)
        other = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again once the write is done
            fcntl.flock(other, fcntl.LOCK_UN)
        finally:
            os.close(other)
    finally:
        db.dispose()


def test_only_bookkeeping_writes_skip_waiting_for_the_disk(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite in WAL mode with synchronous=NORMAL never waits at commit")
    with db.write_connection() as connection:
        usual = connection.exec_driver_sql("SHOW synchronous_commit").scalar()
    with db.write_connection(durable=False) as connection:
        assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
    with db.write_connection() as connection:  # SET LOCAL ended with that transaction
        assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == usual


def test_dispose_closes_everything_the_database_opened(tmp_path: Path) -> None:
    def open_files() -> set[str]:
        found = set()
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):  # the descriptor listdir used, closed since
                found.add(os.readlink(f"/proc/self/fd/{fd}"))
        return found

    db = Database(f"sqlite:///{tmp_path}/microlearn.db")
    migrate.upgrade(db)
    with db.write() as session:
        session.add(_learner("T1", "U1"))
    assert f"{tmp_path}/microlearn.db-writer.lock" in open_files()
    db.dispose()
    assert not {path for path in open_files() if path.startswith(str(tmp_path))}


def _closed(driver: Any) -> bool:
    if isinstance(driver, sqlite3.Connection):
        try:
            driver.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            return True
        return False
    return bool(driver.closed)


def test_connections_in_use_when_the_database_is_disposed_are_closed_when_they_come_back(
    database_url: str,
) -> None:
    db = Database(database_url)
    with db.read() as session:  # a background thread, still at work
        busy = session.connection().connection.driver_connection
        db.dispose()
    assert _closed(busy)
    with db.read() as session:  # and one that starts after the dispose
        late = session.connection().connection.driver_connection
        assert not _closed(late)
    assert _closed(late)


def test_an_answer_stored_before_its_ack_goes_ahead_of_the_writes_queued_for_sqlite(
    tmp_path: Path,
) -> None:
    """Writers queue one at a time at a gate (in this process and, by a second file lock,
    across processes); a write made before a click is acknowledged does not queue there."""
    db = Database(f"sqlite:///{tmp_path}/microlearn.db")
    migrate.upgrade(db)
    gate = os.open(tmp_path / "microlearn.db-writer.lock.gate", os.O_RDWR | os.O_CREAT)
    fcntl.flock(gate, fcntl.LOCK_EX)  # another process's writer is waiting for its turn
    queued_wrote = threading.Event()

    def queued_writer() -> None:
        with db.write() as session:
            session.add(_learner("T1", "U-queued"))
        queued_wrote.set()

    writer = threading.Thread(target=queued_writer)
    try:
        writer.start()
        turn = db._write_turn
        assert isinstance(turn, _WriteTurn)
        deadline = time.monotonic() + 10
        while not turn._gate.locked():  # it is at the gate, behind the other process's writer
            assert time.monotonic() < deadline, "the writer never reached the gate"
            time.sleep(0.001)  # polling another thread's state, not waiting for a timed event
        with db.direct(write=True, urgent=True) as connection:
            connection.run(
                _DIRECT_INSERT,
                {
                    **_NAMED,
                    "user_id": "U-urgent",
                    "tz_checked_at": None,
                    "is_admin": False,
                    "deactivated": False,
                    "created_at": NOW,
                },
            )
        assert not queued_wrote.is_set()
    finally:
        fcntl.flock(gate, fcntl.LOCK_UN)
        os.close(gate)
        writer.join(timeout=10)
    assert queued_wrote.is_set()
    with db.read() as session:
        assert set(session.exec(select(Learner.user_id))) == {"U-urgent", "U-queued"}
    db.dispose()


def test_a_click_is_answered_while_other_work_holds_every_shared_connection(
    database_url: str,
) -> None:
    """What a click reads and stores before its ack runs on connections of its own: settling
    threads holding the whole shared pool and its overflow do not hold the acknowledgement up
    (it would wait for one of theirs, 10 s at most, then fail)."""
    db = Database(database_url, pool_size=1, urgent_pool_size=1)
    try:
        delivery = lesson_queued_to_u1(db, now=NOW)
        answers = AnswerRepository(db)
        with contextlib.ExitStack() as settling:
            for _ in range(1 + _OVERFLOW):  # every shared connection, each held by a thread
                settling.enter_context(db.direct())
            stored, recorded = u1_answers(
                answers, delivery.id, 1, choice="1", correct=True, now=NOW
            )
        assert recorded
        assert answers.answered_positions("T1", "U1", delivery.id) == {1}
        assert stored.choice == "1"
    finally:
        db.dispose()


def test_a_connection_back_in_the_pool_inside_a_transaction_is_rolled_back(
    database_url: str,
) -> None:
    one = Database(database_url, pool_size=1)  # every use below gets the same connection
    values = {**_NAMED, "created_at": NOW, "tz_checked_at": None, "is_admin": False}
    try:
        with one.direct(write=True) as connection, connection.atomic():
            connection.run(_DIRECT_INSERT, {**values, "user_id": "U1", "deactivated": False})
        with one.direct(write=True) as connection:  # BEGIN, and back to the pool before COMMIT
            connection._execute("BEGIN", () if one.is_sqlite else None)
            connection.run(_DIRECT_INSERT, {**values, "user_id": "U2", "deactivated": False})
        with one.direct() as connection:
            assert connection.all(_DIRECT_SELECT, {"team_id": "T1"}) == [
                {"user_id": "U1", "tz_checked_at": None, "is_admin": False, "deactivated": False}
            ]
        with one.read() as session:
            assert session.exec(select(Learner.user_id)).all() == ["U1"]
    finally:
        one.dispose()


def test_what_a_click_does_before_its_ack_shares_one_connection_of_its_thread(
    database_url: str,
) -> None:
    db = Database(database_url, pool_size=1, urgent_pool_size=2)
    try:
        delivery = lesson_queued_to_u1(db, now=NOW)
        answers = AnswerRepository(db)
        drivers: list[Any] = []

        def driver() -> None:
            with db.direct(urgent=True) as connection:
                drivers.append(connection._pooled.driver_connection)

        with answers.answering():
            driver()
            _, recorded = u1_answers(answers, delivery.id, 1, choice="1", correct=True, now=NOW)
            driver()
            other = threading.Thread(target=driver)  # another thread: another connection
            other.start()
            other.join()
            assert db._urgent.pool.checkedout() == 1  # type: ignore[attr-defined] # held
        assert recorded
        assert drivers[0] is drivers[1] and drivers[2] is not drivers[0]
        assert db._urgent.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        db.dispose()


def test_the_databases_of_one_process_compile_each_statement_once(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement compiled for one Database serves the others of the process (a serving
    process's two engines, the sandbox's after a reset, the suite's one per test): a Core read,
    and the INSERT and UPDATE of an ORM flush, which SQLAlchemy keeps per mapper."""
    compiled: list[str] = []
    original = SQLCompiler.__init__

    def counting(self: SQLCompiler, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        compiled.append(self.string)

    monkeypatch.setattr(SQLCompiler, "__init__", counting)

    def work(db: Database, user: str) -> None:
        with db.write() as session:
            session.add(_learner("T1", user))
        with db.write() as session:
            learner = session.exec(select(Learner).where(col(Learner.user_id) == user)).one()
            learner.tz = "Europe/Berlin"
            session.add(learner)
        with db.read() as session:
            session.execute(select_columns(col(Learner.user_id)).where(col(Learner.tz) == "x"))

    statements = SharedStatements()  # empty: the first Database compiles the read
    first = Database(database_url, statements=statements)
    second = Database(database_url, statements=statements)
    try:
        work(first, "U1")
        assert any(sql.startswith("SELECT learner.user_id") for sql in compiled)
        compiled.clear()
        work(second, "U2")
    finally:
        first.dispose()
        second.dispose()
    assert compiled == []
