"""Socket Mode's processes under their watcher: a process that dies is replaced, stopping ends
them all, each freezes what it built before it serves, and they stop on their own when the
watcher is killed. (Sharing the clicks between them: test_socket_mode.py.)"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import count_database_run
from tests.standin import SlackDriver, SlackStandIn
from tests.support import databases
from tests.support.process import BotProcess, bot_environment, start_bot, wait_until_connected
from tests.support.waiting import until

APP_TOKEN = "xapp-standin"

# The tests of one watched server (`watched_bot`) run on one xdist worker, in this file's order.
WATCHED = pytest.mark.xdist_group("e2e-watched")

GIVEAWAY = """\
---
title: A lesson with a giveaway
objective: Answer without cues
minutes: 3
quiz:
  - question: Which domain does the link really go to?
    options:
      - text: login.example.com
      - text: the part just before the first single slash, read from the right
        correct: true
      - text: example.com.login
---
Read host names from the right.
"""


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as listed:
        return [int(child) for child in listed.read().split()]


def _zombie_or_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


@WATCHED
def test_processes_whose_watcher_is_killed_while_they_connect_stop_on_their_own(
    standin: SlackStandIn, tmp_path: Path, migrated_sqlite_url: str
) -> None:
    """kill -9 of the watching parent (the OOM killer, say) before its processes have
    connected: they must not go on holding connections to Slack with nobody to stop them."""
    env = bot_environment(
        api_url=standin.api_url,
        database_url=migrated_sqlite_url,
        SLACK_APP_TOKEN=APP_TOKEN,
        MICROLEARN_SOCKET_PROCESSES="2",
    )
    bot = start_bot([], env, cwd=tmp_path)
    try:
        parent = bot.process.pid
        assert until(lambda: len(_children(parent)) == 2, timeout=60)
        children = _children(parent)
        os.kill(parent, signal.SIGKILL)
        bot.process.wait(timeout=10)
        gone = until(lambda: all(_zombie_or_gone(pid) for pid in children), timeout=60)
        assert gone, f"still running: {[pid for pid in children if not _zombie_or_gone(pid)]}"
    finally:
        bot.kill_hard()
    assert standin.wait_for(lambda: standin.socket.open_connections() == 0, timeout=10)


@pytest.fixture(scope="module")
def lessons_with_a_warning(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One course whose one lesson has a giveaway cue: a warning, never a problem."""
    lessons = tmp_path_factory.mktemp("warned") / "lessons"
    (lessons / "giveaways").mkdir(parents=True)
    (lessons / "giveaways" / "course.yaml").write_text(
        "title: Giveaways\ndescription: One crafted cue.\n", encoding="utf-8"
    )
    (lessons / "giveaways" / "01-read-links.md").write_text(GIVEAWAY, encoding="utf-8")
    return lessons


@pytest.fixture(scope="module")
def watched_bot(
    standin: SlackStandIn,
    lessons_with_a_warning: Path,
    tmp_path_factory: pytest.TempPathFactory,
    _sqlite_template: Path,
) -> Iterator[BotProcess]:
    """Two Socket Mode processes at DEBUG (their freezes are logged), on lessons with a warning,
    over a migrated database; the module's last test stops it."""
    folder = tmp_path_factory.mktemp("watched")
    database_url = databases.copy_sqlite(_sqlite_template, folder / "microlearn.db")
    count_database_run(database_url)
    env = bot_environment(
        api_url=standin.api_url,
        database_url=database_url,
        SLACK_APP_TOKEN=APP_TOKEN,
        MICROLEARN_SOCKET_PROCESSES="2",
        MICROLEARN_LOG_LEVEL="DEBUG",
        LESSONS_DIR=str(lessons_with_a_warning),
    )
    bot = start_bot([], env, cwd=folder)
    try:
        wait_until_connected(bot)
        yield bot
    finally:
        bot.stop()


@WATCHED
def test_warnings_do_not_stop_serve(watched_bot: BotProcess, lessons_with_a_warning: Path) -> None:
    """It connected (the fixture waited for that) on lessons that only have warnings, and says
    how many there are."""
    lessons = lessons_with_a_warning
    assert (
        f"microlearn: lessons from {lessons}: 1 course, 1 lesson, 1 question, 1 warning "
        f"(`microlearn lessons check {lessons}` lists it)"
    ) in "".join(watched_bot.output)


@WATCHED
def test_each_process_freezes_what_it_built_before_it_serves(watched_bot: BotProcess) -> None:
    """The watcher freezes its start-up objects before forking, and each process freezes what
    it built itself (its app, pool, connection) before it serves: a full collection then walks
    only what came after, not everything the process holds while every click waits.

    Each process logs its freeze before it says it is connected, and the watcher says so only
    once every process has: the output read so far holds all three."""
    children = _children(watched_bot.process.pid)
    frozen = {
        int(match[1]): int(match[2])
        for match in re.finditer(
            r"process (\d+) froze (\d+) start-up objects", "".join(watched_bot.output)
        )
    }
    assert watched_bot.process.pid in frozen, "the watcher froze nothing before forking"
    watcher = frozen[watched_bot.process.pid]
    assert watcher > 10_000  # modules, the catalog, the templates
    assert len(children) == 2
    for child in children:
        assert child in frozen, f"Socket Mode process {child} froze nothing before serving"
        assert frozen[child] > watcher  # and then its own app, pool and connection


@WATCHED
def test_a_process_that_dies_is_replaced_and_stopping_ends_them_all(
    standin: SlackStandIn, watched_bot: BotProcess
) -> None:
    """The module's last test: it stops the watched server."""
    bot = watched_bot
    try:
        first, second = _children(bot.process.pid)
        connects = standin.socket.connects()
        os.kill(first, signal.SIGKILL)
        assert standin.wait_for_socket_client(timeout=30, connects=connects + 1)
        assert standin.wait_for(lambda: standin.socket.open_connections() == 2, timeout=10)
        now = _children(bot.process.pid)
        assert second in now and first not in now and len(now) == 2
        driver = SlackDriver(standin, mode="socket")
        lee = standin.add_user("lee")
        for _ in range(2):  # one envelope to each connection
            assert driver.command(lee, "help").payload()["response_type"] == "ephemeral"
    finally:
        code = bot.stop(timeout=15)
    assert code == 0
    for pid in now:
        assert not os.path.exists(f"/proc/{pid}") or _zombie_or_gone(pid)
    assert f"Socket Mode process {first} exited with code -9; starting another" in "".join(
        bot.output
    )
