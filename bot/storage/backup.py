"""`microlearn db backup`: a consistent copy of the SQLite database, taken while the bot runs."""

from __future__ import annotations

import contextlib
import errno
import os
import shlex
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

# Files SQLite and microlearn keep beside the database: a backup must never replace one.
_SIDECARS = ("", "-wal", "-shm", "-journal", "-writer.lock")
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}


class BackupRefused(Exception):
    """The backup cannot be made; the message says why, and what to do instead."""


@dataclass(frozen=True)
class Copied:
    """What a backup copied."""

    source: Path
    target: Path
    size: int
    pages: int
    tables: int
    revision: str | None

    def summary(self) -> str:
        revision = f", migration {self.revision}" if self.revision else ""
        return (
            f"copied {self.source} to {self.target}: {_size(self.size)}, {self.pages} pages, "
            f"{self.tables} table{'' if self.tables == 1 else 's'}{revision}"
        )


def backup(database_url: str, target: Path, *, force: bool = False) -> Copied:
    """Copy the SQLite database at `database_url` into `target`, complete or not at all."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupRefused(_use_pg_dump(url, target))
    source = _source_path(url)
    _check_target(target, source, force=force)
    with contextlib.closing(_open_source(source)) as connection:
        tables, revision = _describe(connection, source)
        partial, pages = _copy(connection, target)
    try:
        size = os.stat(partial).st_size
        _put_in_place(partial, target, force=force)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise
    return Copied(source, target, size, pages, tables, revision)


def _use_pg_dump(url: URL, target: Path) -> str:
    if url.get_backend_name() != "postgresql":
        return f"db backup copies SQLite databases; back up {url.get_backend_name()} with its tools"
    # pg_dump takes libpq's own URL: no SQLAlchemy driver name, and never the password on a
    # command line (other users see it in the process list; it stays in shell history).
    libpq = URL.create(
        "postgresql", url.username, None, url.host, url.port, url.database, url.query
    ).render_as_string()
    command = f"pg_dump --format=custom --file={shlex.quote(str(target))} {shlex.quote(libpq)}"
    advice = (
        "DATABASE_URL is a PostgreSQL database: back it up with PostgreSQL's own pg_dump, which "
        f"takes a consistent copy while the bot runs, for example:\n  {command}"
    )
    if url.password:
        advice += "\n  (the password is left out: pg_dump reads it from PGPASSWORD or ~/.pgpass)"
    return advice


def _source_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupRefused("DATABASE_URL is an in-memory SQLite database: nothing to back up")
    source = Path(url.database).absolute()
    if not source.is_file():
        raise BackupRefused(f"no database at {source} (DATABASE_URL): nothing to back up")
    return source


def _check_target(target: Path, source: Path, *, force: bool) -> None:
    if target.is_dir():
        raise BackupRefused(f"{target} is a folder: name the backup file inside it")
    own_files = {Path(f"{source.resolve()}{suffix}") for suffix in _SIDECARS}
    if target.resolve() in own_files or (target.exists() and target.samefile(source)):
        raise BackupRefused(f"{target} is one of the database's own files: name another")
    if target.exists() and not force:
        raise BackupRefused(f"{target} exists: add --force to replace it")


def _open_source(source: Path) -> sqlite3.Connection:
    # mode=rw: never create a database where there was none. Reading takes no lock a writer
    # waits for (the bot keeps the database in WAL mode); the busy timeout covers the moments
    # SQLite itself needs, such as recovering the WAL after a crash.
    try:
        return sqlite3.connect(f"{source.as_uri()}?mode=rw", uri=True, timeout=30)
    except sqlite3.Error as error:
        raise BackupRefused(f"cannot open the database {source}: {error}") from error


def _describe(connection: sqlite3.Connection, source: Path) -> tuple[int, str | None]:
    """The number of tables and the migration the database is at; refuse what is not ours."""
    try:
        names = {
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        revision = None
        if "alembic_version" in names:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
    except sqlite3.DatabaseError as error:
        raise BackupRefused(f"{source} is not a SQLite database ({error})") from error
    if not names:
        raise BackupRefused(f"{source} holds no tables: is DATABASE_URL the bot's database?")
    return len(names), revision


def _copy(connection: sqlite3.Connection, target: Path) -> tuple[Path, int]:
    """Copy into a new file beside `target`; return it and its page count."""
    try:
        handle, name = tempfile.mkstemp(
            prefix=f"{target.name}.", suffix=".partial", dir=target.absolute().parent
        )
    except OSError as error:
        raise BackupRefused(f"cannot write {target}: {error.strerror}") from error
    os.close(handle)  # mkstemp made it private (0600): the copy holds people's answers
    partial = Path(name)
    copied: list[int] = []
    try:
        with contextlib.closing(sqlite3.connect(partial)) as copy:
            # A file nobody else opens, fsynced below: no journal beside it, no syncs in between.
            copy.execute("PRAGMA journal_mode=OFF")
            copy.execute("PRAGMA synchronous=OFF")
            # One step (pages=-1) reads the whole database in one read transaction: a
            # snapshot of every committed transaction, the WAL included, while the bot goes
            # on writing. Copying a few pages per step would start over at each of its writes.
            connection.backup(
                copy, pages=-1, progress=lambda _status, _left, total: copied.append(total)
            )
        with open(partial, "rb") as written:
            os.fsync(written.fileno())  # on disk before it takes the target's name
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        if isinstance(error, sqlite3.Error):
            raise BackupRefused(f"cannot write {target}: {error}") from error
        raise
    return partial, copied[-1]


def _put_in_place(partial: Path, target: Path, *, force: bool) -> None:
    try:
        if force:
            os.replace(partial, target)
        else:
            _take_free_name(partial, target)
    except FileExistsError as error:
        raise BackupRefused(f"{target} exists: add --force to replace it") from error
    except OSError as error:
        raise BackupRefused(f"cannot write {target}: {error.strerror}") from error
    directory = os.open(target.absolute().parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the new name survives a power cut too
    finally:
        os.close(directory)


def _take_free_name(partial: Path, target: Path) -> None:
    """Rename `partial` to `target` unless a file took that name meanwhile."""
    try:
        # A hard link takes the name only if nothing holds it, in one step.
        os.link(partial, target)
    except FileExistsError:
        raise
    except OSError as error:
        # Some mounted shares (SMB, some FUSE file systems) have no hard links.
        if error.errno not in _NO_HARD_LINKS:
            raise
        if target.exists():
            raise FileExistsError(target) from error
        os.replace(partial, target)
        return
    os.unlink(partial)


def _size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"
