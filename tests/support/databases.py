"""Scratch databases for the suite: SQLite files, and PostgreSQL databases created per run."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from bot.storage.statements import PROCESS

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Compiled statements for every Database the suite opens in this process (one per test): the
# process-wide cache every Database uses by default.
STATEMENTS = PROCESS


def postgres_test_url() -> str:
    return os.environ.get("DATABASE_URL_TEST") or DEFAULT_POSTGRES


def _libpq(url: str) -> str:
    """SQLAlchemy's URL → the libpq form psycopg takes."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def postgres_unreachable_reason(url: str) -> str | None:
    """None when PostgreSQL answers at `url`, else why not (one line)."""
    try:
        with psycopg.connect(_libpq(url), connect_timeout=2) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        return " ".join(str(error).split())
    return None


def reachable_databases(choice: str) -> list[str]:
    """The databases a benchmark's `--db sqlite|postgresql|both` asks for, less PostgreSQL when it
    does not answer at DATABASE_URL_TEST (said on stdout)."""
    kinds = ["sqlite", "postgresql"] if choice == "both" else [choice]
    if "postgresql" in kinds:
        url = postgres_test_url()
        reason = postgres_unreachable_reason(url)
        if reason is not None:
            print(f"postgresql: skipped, {url} does not answer: {reason}")
            kinds.remove("postgresql")
    return kinds


def create_postgres_database(base_url: str, prefix: str = "microlearn_test") -> str:
    """Create an empty database on the server of `base_url`; return its URL."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_libpq(base_url), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    head, _, _ = base_url.rpartition("/")
    return f"{head}/{name}"


def drop_postgres_database(url: str) -> None:
    head, _, name = url.rpartition("/")
    with psycopg.connect(_libpq(f"{head}/postgres"), autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def copy_sqlite(template: Path, target: Path) -> str:
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@contextmanager
def scratch_database(dialect: str, *, prefix: str) -> Iterator[str]:
    """An empty database for one run: a temporary SQLite file, or a PostgreSQL database on
    DATABASE_URL_TEST's server, dropped after."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"{prefix}-") as folder:
            yield f"sqlite:///{folder}/microlearn.db"
        return
    url = create_postgres_database(postgres_test_url(), prefix=prefix)
    try:
        yield url
    finally:
        drop_postgres_database(url)
