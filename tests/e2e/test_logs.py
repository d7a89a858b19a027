"""`microlearn serve --http` (two workers, as by default) at INFO, with no PROMETHEUS_MULTIPROC_DIR:
the run makes a private metrics directory and removes it at exit, and logs our own one-line tick
summary when something went out, nothing from the scheduler's every run. Both tests run against
one server, in this file's order; the last one stops it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.storage import migrate
from tests.standin import SlackDriver, SlackStandIn
from tests.support import databases
from tests.support.process import SIGNING_SECRET, BotProcess, bot_environment, start_http_bot

from .scraping import scrape, value

# One server for the module: its tests run on one xdist worker.
pytestmark = pytest.mark.xdist_group("e2e-logs")


@dataclass
class InfoBot:
    bot: BotProcess
    database_url: str
    temp: Path  # the server's TMPDIR


@pytest.fixture(scope="module")
def info_bot(
    standin: SlackStandIn, tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path
) -> Iterator[InfoBot]:
    folder = tmp_path_factory.mktemp("info")
    temp = folder / "tmp"
    temp.mkdir()
    # A database at head: `serve` leaves it as it is (a fresh one: test_serve.py).
    database_url = databases.copy_sqlite(_sqlite_template, folder / "microlearn.db")
    env = bot_environment(
        api_url=standin.api_url,
        database_url=database_url,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        MICROLEARN_LOG_LEVEL="INFO",
        MICROLEARN_TICK_SECONDS="1",
        TMPDIR=str(temp),
    )
    bot = start_http_bot(env, cwd=folder, workers=2)
    try:
        yield InfoBot(bot, database_url, temp)
    finally:
        bot.stop()


def test_without_a_directory_the_run_gets_a_private_one(info_bot: InfoBot) -> None:
    """The module's first test: nothing has been sent yet. (Its removal at exit: the last.)"""
    made = list(info_bot.temp.glob("microlearn-metrics-*"))
    files = [path.name for path in made[0].iterdir()] if made else []
    assert info_bot.bot.url is not None
    _, samples = scrape(f"{info_bot.bot.url}/metrics")
    assert len(made) == 1 and any(name.endswith(".db") for name in files)
    assert value(samples, "microlearn_outbox_due") == 0


def test_ticks_log_one_line_when_they_send_and_the_scheduler_stays_quiet(
    standin: SlackStandIn, info_bot: InfoBot
) -> None:
    """The module's last test: it stops the server, whose private metrics directory goes."""
    bot = info_bot.bot
    try:
        driver = SlackDriver(
            standin, request_url=f"{bot.url}/slack/events", signing_secret=SIGNING_SECRET
        )
        lead = standin.add_user("lou", tz="Europe/Berlin", is_admin=True)
        learner = standin.add_user("lin", tz="Europe/Berlin")
        assert driver.command(lead, f"send security-basics/spot-phishing to <@{learner}>").status
        assert standin.wait_for(lambda: len(standin.messages(learner)) >= 4, timeout=15)
        # A later tick looks up the learner's profile: ticks went on, with nothing to send.
        assert standin.wait_for(
            lambda: any(c["params"].get("user") == learner for c in standin.calls("users.info")),
            timeout=15,
        )
    finally:
        assert bot.stop() == 0
    output = "".join(bot.output)
    head = migrate.head_revision()
    assert f"microlearn: database {info_bot.database_url} at {head}\n" in output
    assert "apscheduler" not in output, output
    assert [line.split(" INFO ", 1)[1] for line in output.splitlines() if ": tick: " in line] == [
        "bot.app: tick: 1 sent, 0 to retry, 0 failed"
    ], output
    assert list(info_bot.temp.iterdir()) == []  # the private metrics directory went at exit
