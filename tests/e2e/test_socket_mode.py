"""`microlearn serve` in Socket Mode, as deployed by default: several processes, one connection
each, with `/healthz` and `/metrics` on the probe port. Every test here runs against one server
per database, in this file's order: the counters are read while nothing has been sent, and the
last test stops the server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.storage.answer_reports import AnswerReports
from bot.storage.db import Database
from tests.conftest import count_database_run
from tests.standin import SlackDriver, SlackStandIn
from tests.support.process import (
    BotProcess,
    bot_environment,
    free_port,
    start_bot,
    wait_until_connected,
)

from .scraping import scrape, value

APP_TOKEN = "xapp-standin"


@dataclass
class SocketBot:
    bot: BotProcess
    probe_port: int


@pytest.fixture(scope="module")
def socket_bot(
    standin: SlackStandIn, e2e_migrated_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SocketBot]:
    port = free_port()
    env = bot_environment(
        api_url=standin.api_url,
        database_url=e2e_migrated_database_url,
        SLACK_APP_TOKEN=APP_TOKEN,
        MICROLEARN_SOCKET_PROCESSES="2",
        MICROLEARN_HTTP_PORT=str(port),
    )
    bot = start_bot([], env, cwd=tmp_path_factory.mktemp("socket"))
    try:
        wait_until_connected(bot)
        yield SocketBot(bot, port)
    finally:
        bot.stop()


@pytest.fixture
def ann(standin: SlackStandIn) -> str:
    return standin.add_user("ann", real_name="Ann Lee", tz="Europe/Berlin")


def test_socket_mode_serves_healthz_and_metrics_on_its_http_port(
    standin: SlackStandIn, socket_bot: SocketBot, e2e_migrated_database_url: str
) -> None:
    """The module's first test: the server has sent nothing yet."""
    count_database_run(e2e_migrated_database_url)
    port = socket_bot.probe_port
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"status": "ok", "database": "ok"}
    sol = standin.add_user("sol", tz="Europe/Berlin")
    driver = SlackDriver(standin, mode="socket")
    assert driver.command(sol, "help").payload()["response_type"] == "ephemeral"
    content_type, samples = scrape(f"http://127.0.0.1:{port}/metrics")
    assert content_type.startswith("text/plain")
    assert value(samples, "microlearn_deliveries_sent_total", kind="lesson") == 0
    assert value(samples, "microlearn_outbox_due") == 0
    with pytest.raises(urllib.error.HTTPError) as missing:
        opener.open(f"http://127.0.0.1:{port}/slack/events", timeout=10)
    assert missing.value.code == 404
    missing.value.close()
    # Said before it connected (the module's last test checks that it stops cleanly).
    assert f"health and metrics on http://0.0.0.0:{port}/healthz" in "".join(socket_bot.bot.output)


def test_help_over_socket_mode(standin: SlackStandIn, socket_bot: SocketBot, ann: str) -> None:
    driver = SlackDriver(standin, mode="socket")
    response = driver.command(ann, "help")
    reply = response.payload()
    assert reply["response_type"] == "ephemeral"
    assert "`/learn help`" in json.dumps(reply["blocks"])
    assert "connected to Slack in Socket Mode" in "".join(socket_bot.bot.output)


def test_two_processes_share_the_clicks_and_settle_each_answer_once(
    standin: SlackStandIn, socket_bot: SocketBot, e2e_migrated_database_url: str
) -> None:
    """The module's last test: it stops the server that every test before it used."""
    bot = socket_bot.bot
    try:
        assert standin.socket.open_connections() == 2
        driver = SlackDriver(standin, mode="socket")
        admin = standin.add_user("sam", tz="Europe/Berlin", is_admin=True)
        learners = [standin.add_user(f"sid{n}", tz="Europe/Berlin") for n in range(2)]
        mentions = " ".join(f"<@{learner}>" for learner in learners)
        driver.command(admin, f"send security-basics/use-mfa-safely to {mentions}")

        def questions(learner: str) -> list[dict[str, object]]:
            return [m for m in standin.messages(learner) if str(m["text"]).startswith("Question")]

        assert standin.wait_for(lambda: all(len(questions(u)) == 3 for u in learners), 20)
        envelopes_before = len(standin.socket.sent())
        urls = []
        for learner in learners:
            dm = standin.dm_channel(learner)
            for question in questions(learner):
                click = driver.click(learner, question, channel_id=dm, action_id="answer_1")
                assert click.status == 200
                # The same click again, as a double click arrives before the message changes:
                # it changes nothing, and says so to its own response URL.
                again = {
                    **click.request,
                    "response_url": standin.new_response_url(user_id=learner, channel_id=dm),
                }
                standin.socket_send("interactive", again)
                urls += [click.request["response_url"], again["response_url"]]
        clicks = standin.socket.sent()[envelopes_before:]
        took = Counter(standin.socket.sent_to()[envelope["envelope_id"]] for envelope in clicks)
        assert standin.wait_for(
            lambda: {r["url"] for r in standin.responses()} >= set(urls), timeout=20
        )
    finally:
        assert bot.stop() == 0

    assert len(took) == 2 and sum(took.values()) == 12  # both processes took clicks
    posted = Counter(r["url"] for r in standin.responses() if r["url"] in set(urls))
    assert posted == dict.fromkeys(urls, 1)  # feedback once per click, whoever took it
    db = Database(e2e_migrated_database_url)
    try:
        rows = AnswerReports(db).answer_rows(standin.team_id, "security-basics")
    finally:
        db.dispose()
    stored = Counter((row.user_id, row.position) for row in rows)
    assert stored == {(learner, n): 1 for learner in learners for n in (1, 2, 3)}
    assert all(row.choice == "1" for row in rows)  # the first click of each question counts
    output = "".join(bot.output)
    assert "(2 processes, one connection each)" in output
    assert output.rstrip().endswith("microlearn: stopped")
