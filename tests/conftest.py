"""Suite-wide fixtures: no network beyond loopback, no proxies, and the database matrix.

Every test that takes `db` (or `database_url`) runs once on SQLite and once on PostgreSQL when
PostgreSQL answers at DATABASE_URL_TEST, but for those marked `sqlite_only` (see
`pytest_generate_tests`); the summary line says which databases ran.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from bot.services.logcontext import fresh_ids
from bot.storage import migrate
from bot.storage.db import Database
from bot.storage.models import metadata
from tests.support import databases, sql_shapes

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)
_ran: Counter[str] = Counter()

# Property-based tests: the same examples on every run (derandomize), no example database left
# in the working tree, and no per-example deadline (a loaded machine is not a failure). A run
# that looks harder: HYPOTHESIS_PROFILE=explore.
settings.register_profile(
    "suite",
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))
_postgres: dict[str, Any] = {}


def count_database_run(url: str) -> None:
    """Record that a test exercised this kind of database (for the summary line)."""
    _ran["postgresql" if url.startswith("postgresql") else "sqlite"] += 1


def postgres_unreachable() -> str | None:
    """Why PostgreSQL did not answer when the session started, or None: probed once per process,
    so a module's fixtures do not probe again (and, on a loaded machine, time out)."""
    return _postgres.get("reason")


def _require_postgres() -> bool:
    return os.environ.get("MICROLEARN_REQUIRE_POSTGRES") == "1"


def pytest_sessionstart(session: pytest.Session) -> None:
    for name in PROXY_VARIABLES:
        os.environ.pop(name, None)
    url = databases.postgres_test_url()
    reason = databases.postgres_unreachable_reason(url)
    _postgres.update(url=url, reason=reason)
    if reason is not None and _require_postgres():
        pytest.exit(f"PostgreSQL is required (CI) but does not answer at {url}: {reason}", 1)
    sql_shapes.start()  # only with MICROLEARN_SQL_SHAPES (see tests/support/sql_shapes.py)


def pytest_collection_finish(session: pytest.Session) -> None:
    """The collector, tuned for a test run: what collection built (modules, fixtures, the
    product's models) lives until the end, so `gc.freeze` takes it out of every later
    collection, and the young generations are collected less often. Each flow builds an
    engine, a Bolt app and servers, so the default thresholds ran a full collection of a
    large heap every few tests: a fifth of a worker's time in the collector, and about a
    tenth of its CPU time, on `tests/services tests/storage` and two flow modules."""
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    sql_shapes.finish(os.environ.get("PYTEST_XDIST_WORKER", "main"))
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: report counts to the controller
        workeroutput["databases"] = json.dumps(dict(_ran))
        return
    if _require_postgres() and exitstatus == 0 and _ran["postgresql"] == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# Modules whose tests take seconds each (they start `microlearn` processes, a browser, or two
# processes racing): under xdist they go out first, so that the run does not end with one
# worker still busy on one of them while the other has nothing left. Only the order changes.
SLOW_FIRST = (
    "tests/e2e/",
    "tests/deploy/test_healthcheck.py",
    "tests/sandbox/test_cli.py",
    "tests/sandbox/test_browser",
    "tests/services/test_send_rate.py",
    "tests/storage/test_backup.py",
    "tests/storage/test_plan.py",
    "tests/services/test_charts.py",
    "tests/test_cli.py",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under `--dist loadgroup`: the slow modules first (SLOW_FIRST; xdist hands out whole
    groups first, largest first, then single tests in this order), and `xdist_group` kept
    working.

    A worker tells the controller a test's group by appending `@group` to its node id. pytest
    9.2 keeps node ids in a structured `_id`, so pytest-xdist 3.8's change to `_nodeid` is lost
    and every group is split across workers (pytest-xdist issue 1386): each worker then builds
    the group's module fixtures (a sandbox, a browser, a wheel) itself. Where the suffix is
    missing, it is set the way pytest now keeps it."""
    if not getattr(config.option, "loadgroup", False):
        return
    # A stable sort: each module's tests stay together, in pytest's order.
    items.sort(key=lambda item: not item.nodeid.startswith(SLOW_FIRST))
    for item in items:
        groups = sorted(
            {
                str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                for mark in item.iter_markers("xdist_group")
            }
        )
        if not groups or "@" in item.nodeid.rpartition("]")[2]:
            continue
        grouped = f"{item.nodeid}@{'_'.join(groups)}"
        if hasattr(item, "_id"):
            from _pytest.nodeid import NodeId

            item._id = NodeId.parse(grouped)
        else:
            item._nodeid = grouped  # type: ignore[attr-defined]  # pytest before 9.2


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist: add up what each worker exercised."""
    counts = getattr(node, "workeroutput", {}).get("databases")
    if counts:
        _ran.update(json.loads(counts))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    parts = [f"{name}: {count} test runs" for name, count in sorted(_ran.items())]
    if _postgres.get("reason"):
        parts.append(
            f"postgresql: SKIPPED, no answer at {_postgres['url']} ({_postgres['reason']})"
        )
    terminalreporter.write_line("databases exercised — " + ("; ".join(parts) or "none"))
    if _require_postgres() and _ran["postgresql"] == 0:
        terminalreporter.write_line("FAILED: PostgreSQL is required (CI) but no test ran on it")


@pytest.fixture(autouse=True)
def _no_log_ids_from_other_tests() -> Iterator[None]:
    """Each test starts with no log ids bound: a bot run in the test's own thread binds the ids
    of the requests it handles there, as a server thread does for each request it serves."""
    with fresh_ids():
        yield


@pytest.fixture(autouse=True)
def _only_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that reaches beyond this machine fails: Slack is the stand-in, nothing else."""
    original = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if host not in ("127.0.0.1", "::1", "localhost"):
                raise OSError(f"network access to {host} is not allowed in tests")
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


# ---------------------------------------------------------------------------------------------
# Databases


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (cheaper than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    with db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture(scope="session")
def _postgres_database() -> Iterator[str]:
    if _postgres.get("reason"):
        pytest.skip(f"PostgreSQL does not answer at {_postgres['url']}")
    url = databases.create_postgres_database(_postgres["url"])
    db = Database(url)
    migrate.upgrade(db)
    db.dispose()
    yield url
    cleaner = _cleaners.pop(url, None)
    if cleaner is not None:
        cleaner.dispose()
    databases.drop_postgres_database(url)


@pytest.fixture(scope="session")
def _sqlite_shipped_template(
    _sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The migrated template with the shipped lessons synced as a bot starting at START does."""
    from tests.support.harness import sync_shipped_lessons

    path = tmp_path_factory.mktemp("shipped") / "template.db"
    shutil.copyfile(_sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    sync_shipped_lessons(db)
    with db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture
def shipped_lessons() -> None:
    """Asked for (as the flow tests' `bot` does) by a test whose bot syncs the shipped lessons
    at START first thing: its `database_url` then holds them already, exactly as that sync
    leaves them, so the sync finds nothing to write. Everything else starts empty."""


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`@pytest.mark.sqlite_only(reason)`: the test's `database_url` (and `db`) is SQLite only.

    For tests of the Slack surface (signatures, Bolt wiring, acks, refusals, Block Kit), where
    the database only keeps what the bot did: a second run on PostgreSQL checks nothing new and
    costs more than the first (a flow took 0.29 s on PostgreSQL, 0.19 s on SQLite). What
    PostgreSQL must check (concurrency, locking, exactly-once, its own SQL) stays in tests run
    on both: the storage and service tests, and the flows not marked. With
    MICROLEARN_SQL_SHAPES, `python -m tests.support.sql_shapes` shows whether the PostgreSQL
    half of the suite still runs every statement shape it ran before a test was marked. The
    reason is required, so that each use says why."""
    mark = metafunc.definition.get_closest_marker("sqlite_only")
    if mark is None:
        return
    if not mark.args or not str(mark.args[0]).strip():
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: sqlite_only needs a reason")
    named = {
        name.strip()
        for mark in metafunc.definition.iter_markers("parametrize")
        for name in (mark.args[0].split(",") if isinstance(mark.args[0], str) else mark.args[0])
    }
    if "database_url" in metafunc.fixturenames and "database_url" not in named:
        # Before the fixture's own params are applied, which a parametrize mark overrides.
        metafunc.definition.add_marker(
            pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of each kind (but see `shipped_lessons`); a URL other
    processes can open too."""
    shipped = "shipped_lessons" in request.fixturenames
    if request.param == "sqlite":
        template = request.getfixturevalue(
            "_sqlite_shipped_template" if shipped else "_sqlite_template"
        )
        url = databases.copy_sqlite(template, tmp_path / "microlearn.db")
    else:
        url = request.getfixturevalue("_postgres_database")
        _reset_postgres(url, shipped=shipped)
    _ran[request.param] += 1
    yield url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url, statements=databases.STATEMENTS)
    yield database
    database.dispose()


_cleaners: dict[str, Database] = {}
# Per database: _CONTENT_STATE as the last sync of the shipped lessons left it.
_shipped: dict[str, object] = {}
_CONTENT = ("course", "lesson", "question")


def _reset_postgres(url: str, *, shipped: bool) -> None:
    """Empty every table and restart ids; with `shipped`, the content tables are kept when they
    still hold exactly what the last sync of the shipped lessons left (no row written or removed
    since, no id taken), else emptied too and synced again. One round trip in the usual case."""
    db = _cleaners.get(url)
    if db is None:
        db = _cleaners[url] = Database(url, pool_size=1)
    if not shipped:
        _shipped.pop(url, None)
        _run(db, _EMPTY_ALL)
        return
    if url in _shipped and _run(db, _EMPTY_ALL_BUT_CONTENT_THEN_STATE) == _shipped[url]:
        return
    from tests.support.harness import sync_shipped_lessons

    _run(db, _EMPTY_ALL)
    sync_shipped_lessons(db)
    _shipped[url] = _run(db, _CONTENT_STATE)


def _run(db: Database, script: str) -> Any:
    """A script of statements in one round trip and one transaction; the last one's rows."""
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(script)
        while cursor.nextset():
            pass
        rows = cursor.fetchall() if cursor.description else None
        connection.commit()
        return rows
    finally:
        connection.close()


def _empty(tables: list[str]) -> str:
    """DELETEs (much faster than TRUNCATE on small tables) and sequence restarts, one script:
    one round trip instead of a statement each (~50)."""
    restarts = ", ".join(
        f"setval(pg_get_serial_sequence('{name}', 'id'), 1, false)" for name in tables
    )
    return ";\n".join([*(f"DELETE FROM {name}" for name in reversed(tables)), f"SELECT {restarts}"])


_TABLES = [table.name for table in metadata.sorted_tables]
_EMPTY_ALL = _empty(_TABLES)
_EMPTY_ALL_BUT_CONTENT = _empty([name for name in _TABLES if name not in _CONTENT])
# What changes whenever a content row is written (xmin: the last transaction to write it),
# removed (the count), or an id is taken (the sequence; by a rolled back insert too).
_CONTENT_STATE = "\nUNION ALL\n".join(
    f"SELECT '{name}', count(*), max(xmin::text::bigint), "
    f"pg_sequence_last_value(pg_get_serial_sequence('{name}', 'id')::regclass) FROM {name}"
    for name in _CONTENT
)
_EMPTY_ALL_BUT_CONTENT_THEN_STATE = f"{_EMPTY_ALL_BUT_CONTENT};\n{_CONTENT_STATE}"
