"""End to end: the real `microlearn serve` in a subprocess, against the Slack stand-in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.storage import migrate
from bot.storage.db import Database
from tests.conftest import count_database_run, postgres_unreachable
from tests.standin import SlackDriver, SlackStandIn
from tests.support import databases
from tests.support.process import SIGNING_SECRET, BotProcess, bot_environment, start_http_bot


@pytest.fixture(scope="module")
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as server:
        yield server


# Each database's e2e tests run on one xdist worker, so that a module's running server (the
# module fixtures below) starts once per database rather than once per worker that gets a test.
@pytest.fixture(scope="session")
def drop_later() -> Iterator[Callable[[str], None]]:
    """Drops a module's PostgreSQL database on a thread of its own while the next tests run:
    DROP DATABASE took 0.5-2.7 s of waiting on the server (measured), which no test needs.
    Every drop has finished, and any failure is raised, when the session ends."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-database") as dropping:
        drops: list[Future[None]] = []
        yield lambda url: drops.append(dropping.submit(databases.drop_postgres_database, url))
        for drop in drops:
            drop.result()


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", marks=pytest.mark.xdist_group("e2e-sqlite")),
        pytest.param("postgresql", marks=pytest.mark.xdist_group("e2e-postgresql")),
    ],
)
def e2e_database_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    drop_later: Callable[[str], None],
) -> Iterator[str]:
    """A fresh, unmigrated database: `serve` migrates it itself."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'microlearn.db'}"
        return
    reason = postgres_unreachable()
    if reason:
        pytest.skip(f"PostgreSQL does not answer: {reason}")
    url = databases.create_postgres_database(databases.postgres_test_url(), prefix="microlearn_e2e")
    yield url
    drop_later(url)  # the module's servers have stopped: nothing holds it


@pytest.fixture(scope="module")
def e2e_migrated_database_url(e2e_database_url: str, request: pytest.FixtureRequest) -> str:
    """`e2e_database_url` at the newest migration, for a module whose servers are about
    something else than migrating (test_serve.py's server migrates its fresh ones): they find it
    at head and import no Alembic. SQLite: the suite's migrated template, copied; PostgreSQL:
    migrated in this process, which has Alembic imported already."""
    if e2e_database_url.startswith("sqlite:///"):
        template: Path = request.getfixturevalue("_sqlite_template")
        return databases.copy_sqlite(template, Path(e2e_database_url.removeprefix("sqlite:///")))
    db = Database(e2e_database_url)
    try:
        migrate.upgrade(db)
    finally:
        db.dispose()
    return e2e_database_url


@pytest.fixture
def migrated_sqlite_url(tmp_path: Path, _sqlite_template: Path) -> str:
    """A SQLite database at the newest migration (a copy of the suite's template), for a test
    about something else than migrating: `serve` finds it at head and imports no Alembic, as on
    every restart. (`e2e_database_url`'s are fresh: there `serve` migrates them itself.)"""
    return databases.copy_sqlite(_sqlite_template, tmp_path / "microlearn.db")


@pytest.fixture(scope="module")
def http_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTTP server's home directory: nothing of the server's own should appear in it."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def http_bot(
    standin: SlackStandIn,
    e2e_database_url: str,
    http_home: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BotProcess]:
    env = bot_environment(
        api_url=standin.api_url,
        database_url=e2e_database_url,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        HOME=str(http_home),
    )
    bot = start_http_bot(env, cwd=tmp_path_factory.mktemp("cwd"))
    yield bot
    bot.stop()


@pytest.fixture
def http_driver(http_bot: BotProcess, standin: SlackStandIn, e2e_database_url: str) -> SlackDriver:
    count_database_run(e2e_database_url)
    return SlackDriver(
        standin, request_url=f"{http_bot.url}/slack/events", signing_secret=SIGNING_SECRET
    )


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    return tmp_path
