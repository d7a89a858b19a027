"""`microlearn db backup FILE`: a consistent SQLite copy while the bot writes; pg_dump for PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from bot.cli import main
from bot.storage import migrate
from bot.storage.db import Database
from bot.storage.models import Learner, ProcessedEvent
from tests.conftest import count_database_run
from tests.support import databases
from tests.support.process import ROOT
from tests.support.waiting import WAIT

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
LEARNERS = Learner.__table__  # type: ignore[attr-defined]


@pytest.fixture
def data(tmp_path: Path, _sqlite_template: Path) -> Path:
    """The bot's folder, holding a migrated SQLite database, microlearn.db."""
    folder = tmp_path / "data"
    folder.mkdir()
    count_database_run(databases.copy_sqlite(_sqlite_template, folder / "microlearn.db"))
    return folder


@pytest.fixture
def backups(tmp_path: Path) -> Path:
    folder = tmp_path / "backups"
    folder.mkdir()
    return folder


def _url(folder: Path) -> str:
    return f"sqlite:///{folder / 'microlearn.db'}"


def _cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
    *args: str,
) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    code = main(["--env-file", "/nonexistent", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _cli_process(
    database_url: str, *args: str, limit_file_size: int | None = None
) -> subprocess.CompletedProcess[str]:
    """`microlearn …` in a process of its own, optionally unable to write files past a size."""
    launcher = "import sys; from bot.cli import main; "
    if limit_file_size is not None:  # a full disk: writes past the limit fail with EFBIG
        launcher += (
            "import resource, signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit_file_size}, {limit_file_size})); "
        )
    launcher += "sys.exit(main(sys.argv[1:]))"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-c", launcher, "--env-file", "/nonexistent", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


@contextlib.contextmanager
def _copy(path: Path) -> Iterator[sqlite3.Connection]:
    """The backup, opened read-only by SQLite itself (not through the bot's code)."""
    connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        yield connection
    finally:
        connection.close()


def _fill(db: Database, *, learners: int) -> None:
    """Give the database some bulk (about 250 bytes a learner), as months of use would."""
    rows = [
        {"team_id": "T0", "user_id": f"B{n}", "name": f"Learner {n:05} " + "x" * 200}
        | {"first_name": "Learner", "tz": "UTC", "created_at": NOW}
        | {"deactivated": False, "is_admin": False}
        for n in range(learners)
    ]
    with db.write_connection() as connection:
        connection.execute(insert(LEARNERS), rows)


class _Writer(threading.Thread):
    """A serving process's writes: a learner and an event in each transaction, again and again."""

    def __init__(self, database_url: str) -> None:
        super().__init__(daemon=True)
        self._url = database_url
        self.committed = 0
        self.error: BaseException | None = None
        self._progress = threading.Condition()
        self._stopping = threading.Event()

    def run(self) -> None:
        db = Database(self._url)
        try:
            number = 0
            while not self._stopping.is_set():
                number += 1
                with db.write() as session:
                    session.add(Learner(team_id="T1", user_id=f"U{number}", created_at=NOW))
                    session.add(
                        ProcessedEvent(team_id="T1", event_id=f"E{number}", received_at=NOW)
                    )
                with self._progress:
                    self.committed = number
                    self._progress.notify_all()
        except BaseException as error:  # re-raised in the test's thread by wait_for
            self.error = error
            with self._progress:
                self._progress.notify_all()
        finally:
            db.dispose()

    def wait_for(self, count: int) -> int:
        """Wait until `count` transactions are committed; return how many are."""
        with self._progress:
            reached = self._progress.wait_for(
                lambda: self.committed >= count or self.error is not None, timeout=WAIT
            )
        if self.error is not None:
            raise self.error
        assert reached, f"the writer committed {self.committed} transactions, not {count}"
        return self.committed

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=WAIT)
        if self.error is not None:
            raise self.error


def test_backup_while_the_bot_writes_holds_every_row_committed_before_and_no_half_transaction(
    data: Path, backups: Path
) -> None:
    db = Database(_url(data))
    _fill(db, learners=8000)
    db.dispose()
    writer = _Writer(_url(data))
    writer.start()
    try:
        before = writer.wait_for(20)
        result = _cli_process(_url(data), "db", "backup", str(backups / "copy.db"))
        # Still writing after the backup: the copy is a moment, not the end, of its work.
        after = writer.wait_for(writer.committed + 20)
    finally:
        writer.stop()
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith(f"copied {data / 'microlearn.db'} to {backups / 'copy.db'}: ")
    assert os.listdir(backups) == ["copy.db"]
    with _copy(backups / "copy.db") as copy:
        learners = {
            int(user[1:])
            for (user,) in copy.execute("SELECT user_id FROM learner WHERE team_id = 'T1'")
        }
        events = {
            int(event[1:]) for (event,) in copy.execute("SELECT event_id FROM processed_event")
        }
        bulk = copy.execute("SELECT count(*) FROM learner WHERE team_id = 'T0'").fetchone()[0]
    # A snapshot of whole transactions: every learner with its event, none missing in between.
    assert learners == events == set(range(1, len(learners) + 1))
    assert before <= len(learners) < after
    assert bulk == 8000


def test_backup_copies_what_is_still_only_in_the_wal_and_not_a_write_in_progress(
    data: Path,
    backups: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = Database(_url(data))  # the running bot: its connections keep the WAL unmerged
    try:
        with db.write() as session:
            session.add(
                Learner(team_id="T1", user_id="U1", name="Still in the WAL", created_at=NOW)
            )
        assert b"Still in the WAL" in (data / "microlearn.db-wal").read_bytes()
        assert b"Still in the WAL" not in (data / "microlearn.db").read_bytes()
        with db.write_connection() as connection:  # a write under way, holding the write lock
            connection.execute(
                insert(LEARNERS).values(team_id="T1", user_id="U2", name="Not yet", created_at=NOW)
            )
            code, out, err = _cli(
                monkeypatch, capsys, _url(data), "db", "backup", str(backups / "copy.db")
            )
    finally:
        db.dispose()
    assert (code, err) == (0, "")
    assert os.listdir(backups) == ["copy.db"]
    assert (backups / "copy.db").stat().st_mode & 0o777 == 0o600  # it holds people's answers
    with _copy(backups / "copy.db") as copy:
        names = [name for (name,) in copy.execute("SELECT name FROM learner")]
        tables = copy.execute(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchone()[0]
        pages = copy.execute("PRAGMA page_count").fetchone()[0]
    assert names == ["Still in the WAL"]
    assert re.fullmatch(
        rf"copied {re.escape(str(data / 'microlearn.db'))} to {re.escape(str(backups / 'copy.db'))}: "
        rf"\d+ KB, {pages} pages, {tables} tables, migration {migrate.head_revision()}\n",
        out,
    )
    # Restoring is putting the file in place: the bot opens it as its database.
    code, out, err = _cli(monkeypatch, capsys, f"sqlite:///{backups / 'copy.db'}", "db", "upgrade")
    assert (code, out, err) == (0, f"database already at {migrate.head_revision()}\n", "")


def test_backup_never_replaces_a_file_unless_forced(
    data: Path,
    backups: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    earlier = backups / "copy.db"
    earlier.write_bytes(b"yesterday's backup")
    code, out, err = _cli(monkeypatch, capsys, _url(data), "db", "backup", str(earlier))
    assert (code, out) == (1, "")
    assert err == f"microlearn: {earlier} exists: add --force to replace it\n"
    assert earlier.read_bytes() == b"yesterday's backup"
    assert os.listdir(backups) == ["copy.db"]

    code, out, err = _cli(monkeypatch, capsys, _url(data), "db", "backup", str(earlier), "--force")
    assert (code, err) == (0, "")
    assert os.listdir(backups) == ["copy.db"]
    with _copy(earlier) as copy:
        assert copy.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (migrate.head_revision(),)
        ]


def test_a_backup_that_fails_midway_leaves_the_earlier_file_and_no_partial_one(
    data: Path, backups: Path
) -> None:
    db = Database(_url(data))
    _fill(db, learners=2000)  # about half a megabyte
    db.dispose()
    earlier = backups / "copy.db"
    earlier.write_bytes(b"yesterday's backup")
    result = _cli_process(
        _url(data), "db", "backup", str(earlier), "--force", limit_file_size=128 * 1024
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert re.fullmatch(
        rf"microlearn: cannot write {re.escape(str(earlier))}: (database or disk is full|disk I/O error)\n",
        result.stderr,
    )
    assert earlier.read_bytes() == b"yesterday's backup"
    assert os.listdir(backups) == ["copy.db"]


@pytest.mark.parametrize(
    ("target", "database", "error"),
    [
        (
            "nowhere/copy.db",
            "none.db",
            "no database at {data}/none.db (DATABASE_URL): nothing to back up",
        ),
        (
            "nowhere/copy.db",
            "microlearn.db",
            "cannot write {backups}/nowhere/copy.db: No such file or directory",
        ),
        (
            "copy.db",
            "notes.txt",
            "{data}/notes.txt is not a SQLite database (file is not a database)",
        ),
        (
            "copy.db",
            "empty.db",
            "{data}/empty.db holds no tables: is DATABASE_URL the bot's database?",
        ),
        ("", "microlearn.db", "{backups} is a folder: name the backup file inside it"),
        (
            "../data/microlearn.db",
            "microlearn.db",
            "{backups}/../data/microlearn.db is one of the database's own files: name another",
        ),
        (
            "../data/microlearn.db-wal",
            "microlearn.db",
            "{backups}/../data/microlearn.db-wal is one of the database's own files: name another",
        ),
    ],
)
def test_backup_errors_are_one_line_and_write_nothing(
    data: Path,
    backups: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    target: str,
    database: str,
    error: str,
) -> None:
    (data / "notes.txt").write_text("Not a database: the wrong DATABASE_URL\n" * 200)
    (data / "empty.db").touch()
    before = sorted(os.listdir(data))
    code, out, err = _cli(
        monkeypatch,
        capsys,
        f"sqlite:///{data / database}",
        "db",
        "backup",
        str(backups / target),
        "--force",
    )
    assert (code, out) == (1, "")
    assert err == f"microlearn: {error.format(data=data, backups=backups)}\n"
    assert os.listdir(backups) == []
    assert sorted(os.listdir(data)) == before  # no database created where there was none


def test_postgresql_is_backed_up_with_pg_dump_and_the_password_stays_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = make_url(databases.postgres_test_url())
    with_password = url.set(password="s3cret-pw").render_as_string(hide_password=False)
    monkeypatch.chdir(tmp_path)
    code, out, err = _cli(monkeypatch, capsys, with_password, "db", "backup", "microlearn.dump")
    libpq = url.set(drivername="postgresql").render_as_string()
    assert (code, out) == (1, "")  # not a usage error (2): the command was right, the tool is not
    assert err.splitlines() == [
        "microlearn: DATABASE_URL is a PostgreSQL database: back it up with PostgreSQL's own "
        "pg_dump, which takes a consistent copy while the bot runs, for example:",
        f"  pg_dump --format=custom --file=microlearn.dump {shlex.quote(libpq)}",
        "  (the password is left out: pg_dump reads it from PGPASSWORD or ~/.pgpass)",
    ]
    assert "s3cret" not in err
    assert os.listdir(tmp_path) == []
