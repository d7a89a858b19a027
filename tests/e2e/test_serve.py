"""`microlearn serve --http` answers Slack, refuses what Slack did not send, counts what it
does on `/metrics`, and stops cleanly on SIGTERM. Every test here runs against one server per
database (conftest's `http_bot`), in this file's order: the counters are read first, while the
server has sent nothing, and SIGTERM comes last."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from bot.storage import migrate
from tests.standin import SlackDriver, SlackStandIn
from tests.support.process import SIGNING_SECRET, BotProcess, wait_until_read
from tests.support.waiting import until

from .scraping import scrape, total, value

HELP_LINES = ("/learn help",)


@pytest.fixture
def ann(standin: SlackStandIn) -> str:
    return standin.add_user("ann", real_name="Ann Lee", tz="Europe/Berlin")


def test_metrics_show_a_delivery_and_an_answer(
    standin: SlackStandIn, http_bot: BotProcess, http_driver: SlackDriver
) -> None:
    """The module's first test: the server has sent nothing yet."""
    url = f"{http_bot.url}/metrics"
    content_type, before = scrape(url)
    assert content_type.startswith("text/plain")
    for kind in ("lesson", "review", "reminder", "notice"):  # every kind has a series
        assert value(before, "microlearn_deliveries_sent_total", kind=kind) == 0
    assert value(before, "microlearn_outbox_due") == 0
    assert value(before, "microlearn_outbox_oldest_due_age_seconds") == 0

    posted_before = len(standin.calls("chat.postMessage"))  # another module's server, if any
    lead = standin.add_user("mo", tz="Europe/Berlin", is_admin=True)
    learner = standin.add_user("mia", tz="Europe/Berlin")
    http_driver.command(lead, f"send security-basics/spot-phishing to <@{learner}>")
    assert standin.wait_for(lambda: len(standin.messages(learner)) >= 4, timeout=15)
    dm = standin.dm_channel(learner)
    question = next(m for m in standin.messages(learner) if str(m["text"]).startswith("Question 1"))
    assert http_driver.click(learner, question, channel_id=dm, action_id="answer_1").status == 200

    def answered() -> bool:
        return (
            value(scrape(url)[1], "microlearn_answers_stored_total", kind="lesson") == 1
            and value(scrape(url)[1], "microlearn_deliveries_sent_total", kind="lesson") == 1
        )

    assert until(answered, timeout=15, every=0.05), scrape(url)[1]

    def ticked() -> bool:
        # A tick is counted once its scheduled run ends (bot.scheduler), which can be after the
        # lesson it sent was answered: a kick during the run adds another pass to it.
        return (value(scrape(url)[1], "microlearn_tick_duration_seconds_count") or 0) >= 1

    assert until(ticked, timeout=15, every=0.05), scrape(url)[1]
    _, after = scrape(url)
    assert value(after, "microlearn_answer_ack_seconds_count") == 1
    assert 0 < (value(after, "microlearn_answer_ack_seconds_sum") or 0) < 3
    assert value(after, "microlearn_deliveries_sent_total", kind="reminder") == 0
    posted = standin.calls("chat.postMessage")[posted_before:]
    assert value(
        after, "microlearn_slack_api_calls_total", method="chat.postMessage", outcome="ok"
    ) == len(posted)
    assert value(after, "microlearn_outbox_due") == 0
    assert total(after, "microlearn_deliveries_failed_total") == 0


def test_slack_errors_and_429s_are_counted_by_method_and_outcome(
    standin: SlackStandIn, http_bot: BotProcess, http_driver: SlackDriver
) -> None:
    """Nothing before this test moves the 429 series."""
    lead = standin.add_user("al", tz="Europe/Berlin", is_admin=True)
    learner = standin.add_user("bo", tz="Europe/Berlin")
    standin.fail("chat.postMessage", "ratelimited", retry_after=1, times=1)
    http_driver.command(lead, f"send security-basics/spot-phishing to <@{learner}>")
    assert standin.wait_for(lambda: len(standin.messages(learner)) >= 4, timeout=20)
    _, samples = scrape(f"{http_bot.url}/metrics")
    assert value(samples, "microlearn_slack_rate_limited_total", method="chat.postMessage") == 1
    assert (
        value(
            samples,
            "microlearn_slack_api_calls_total",
            method="chat.postMessage",
            outcome="http_429",
        )
        == 1
    )


def test_help_is_a_private_reply_listing_the_commands(http_driver: SlackDriver, ann: str) -> None:
    for text in ("help", "", "HELP"):
        response = http_driver.command(ann, text)
        assert response.status == 200
        reply = response.json()
        assert reply["response_type"] == "ephemeral"
        assert "`/learn help`" in json.dumps(reply["blocks"])
        assert reply["text"].startswith("microlearn commands:")


def test_an_unknown_subcommand_says_what_exists(http_driver: SlackDriver, ann: str) -> None:
    reply = http_driver.command(ann, "frobnicate now").json()
    assert reply["response_type"] == "ephemeral"
    assert "I don't know `/learn frobnicate`" in reply["text"]
    assert "`/learn help`" in reply["text"]


def test_forged_and_stale_requests_get_401_and_change_nothing(
    http_driver: SlackDriver, standin: SlackStandIn, ann: str, http_bot: BotProcess
) -> None:
    body = urlencode(
        {"command": "/learn", "text": "help", "user_id": ann, "team_id": standin.team_id}
    ).encode()
    standin.reset_calls()
    forged = dict(http_driver.sign(body))
    forged["X-Slack-Signature"] = "v0=" + "0" * 64
    stale = http_driver.sign(body, timestamp=int(time.time()) - 301)
    unsigned = {"Content-Type": "application/x-www-form-urlencoded"}
    non_ascii = {**http_driver.sign(body), "X-Slack-Signature": "v0=" + "é" * 64}
    huge_stamp = {**http_driver.sign(body), "X-Slack-Request-Timestamp": "7" * 5000}
    for headers in (forged, stale, unsigned, non_ascii, huge_stamp):
        response = http_driver.raw_post(
            body, {**headers, "Content-Type": "application/x-www-form-urlencoded"}
        )
        assert response.status == 401
        assert "microlearn commands" not in response.body
    assert standin.calls() == []  # the bot did nothing on Slack's side
    assert http_bot.healthz()[0] == 200


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"payload=not-json", "application/x-www-form-urlencoded"),
        (b"payload=%5B1%2C2%5D", "application/x-www-form-urlencoded"),
        (b"{not json", "application/json"),
        (b"", "application/json"),
        (b"\xff\xfe", "application/x-www-form-urlencoded"),
        (b"payload=%7B%22type%22%3A", "application/x-www-form-urlencoded"),
        (b"payload=%ZZ%7B%7D", "application/x-www-form-urlencoded"),
        (b"payload=%FF%FE", "application/x-www-form-urlencoded"),
    ],
    ids=[
        "payload-not-json",
        "payload-a-list",
        "broken-json",
        "empty",
        "not-utf8",
        "payload-cut-short",
        "payload-bad-escape",
        "payload-not-utf8",
    ],
)
def test_signed_but_malformed_payloads_get_4xx_and_the_bot_stays_up(
    http_driver: SlackDriver, http_bot: BotProcess, ann: str, body: bytes, content_type: str
) -> None:
    response = http_driver.raw_post(body, {**http_driver.sign(body), "Content-Type": content_type})
    assert 400 <= response.status < 500
    assert http_bot.healthz()[0] == 200
    assert http_driver.command(ann, "help").status == 200


def test_healthz_reports_the_database(http_bot: BotProcess) -> None:
    status, body = http_bot.healthz()
    assert status == 200
    assert json.loads(body) == {"status": "ok", "database": "ok"}


def test_the_http_server_opens_no_control_socket_in_its_home(
    http_bot: BotProcess, http_home: Path
) -> None:
    """gunicorn's control socket would sit at one fixed path in $HOME for every server on the
    machine (two replicas would take each other's), and warn on a read-only root filesystem."""
    assert http_bot.healthz()[0] == 200
    assert list(http_home.iterdir()) == []


def test_a_lesson_sent_now_arrives_through_the_running_server(
    http_driver: SlackDriver, standin: SlackStandIn
) -> None:
    lead = standin.add_user("boss", tz="Europe/Berlin", is_admin=True)
    learner = standin.add_user("newcomer", tz="Asia/Kolkata")
    response = http_driver.command(lead, f"send security-basics/spot-phishing to <@{learner}>")
    assert response.status == 200
    # The command wakes the delivery tick at once; wait for the event, not for a fixed time.
    assert standin.wait_for(lambda: len(standin.messages(learner)) >= 4, timeout=15), (
        standin.responses()[-1:]
    )
    texts = [str(m["text"]) for m in standin.messages(learner)]
    assert texts[0] == "New lesson: Spot a phishing message before you click (3 min)"
    assert len(texts) == 4  # the lesson and its three questions


def test_an_answer_through_the_running_server_gets_its_feedback_after_the_ack(
    http_driver: SlackDriver, standin: SlackStandIn
) -> None:
    lead = standin.add_user("lee", tz="Europe/Berlin", is_admin=True)
    learner = standin.add_user("ada", tz="Europe/Berlin")
    http_driver.command(lead, f"send security-basics/spot-phishing to <@{learner}>")
    assert standin.wait_for(lambda: len(standin.messages(learner)) >= 4, timeout=15)
    dm = standin.dm_channel(learner)
    question = [m for m in standin.messages(learner) if str(m["text"]).startswith("Question 1")][0]
    response = http_driver.click(learner, question, channel_id=dm, action_id="answer_1")
    assert response.status == 200 and response.body == ""  # the ack, before any feedback

    def marked() -> bool:
        updated = standin.find_message(dm, question["ts"]) or {}
        return "✅ *Right!*" in json.dumps(updated.get("blocks"), ensure_ascii=False)

    assert standin.wait_for(marked, timeout=15), standin.responses()[-1:]


def _slow(port: int, head: bytes, sent: bytes = b"") -> socket.socket:
    """A client that sends `head` and `sent`, then nothing more."""
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    client.sendall(head + sent)
    return client


def _head(content_length: int, headers: dict[str, str]) -> bytes:
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (
        f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {content_length}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\n{lines}\r\n"
    ).encode()


def test_slow_clients_leave_commands_and_healthz_answering_in_time(
    http_bot: BotProcess, standin: SlackStandIn, http_driver: SlackDriver, ann: str
) -> None:
    """Many connections send headers and 2 bytes of a 100-byte body, or half their headers, and
    stop; more than the server has threads. A signed command still gets its answer within
    Slack's 3 s, and /healthz answers."""
    assert http_bot.url is not None
    port = int(http_bot.url.rsplit(":", 1)[1])
    body = b"x" * 100
    signed_head = _head(100, http_driver.sign(body))  # a fresh signature: it passes the headers
    clients = [_slow(port, signed_head, body[:2]) for _ in range(40)]
    clients += [_slow(port, signed_head[:40]) for _ in range(40)]
    try:
        in_time = SlackDriver(
            standin,
            request_url=f"{http_bot.url}/slack/events",
            signing_secret=SIGNING_SECRET,
            timeout=3.0,
        )
        started = time.monotonic()
        try:
            response = in_time.command(ann, "help")
        except OSError as error:
            raise AssertionError(f"the command was not answered within 3 s: {error}") from error
        assert response.status == 200 and "microlearn commands" in response.body
        assert time.monotonic() - started < 3.0
        assert http_bot.healthz()[0] == 200
        # An unsigned request is refused from its headers, without waiting for its body.
        unsigned = _slow(port, _head(100, {}), body[:2])
        clients.append(unsigned)
        unsigned.settimeout(10.0)
        assert unsigned.recv(65536).startswith(b"HTTP/1.1 401")  # not a 408 after 5 s
    finally:
        for client in clients:
            client.close()


def _refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def test_sigterm_finishes_the_request_in_flight_then_exits_cleanly(
    standin: SlackStandIn, http_bot: BotProcess, http_driver: SlackDriver
) -> None:
    """The module's last test: it stops the server that every test before it used."""
    port = http_bot.port
    user = standin.add_user("lee")
    body = urlencode(
        {
            "command": "/learn",
            "text": "help",
            "user_id": user,
            "team_id": standin.team_id,
            "channel_id": standin.dm_channel(user),
            "response_url": standin.new_response_url(
                user_id=user, channel_id=standin.dm_channel(user)
            ),
            "trigger_id": "t",
        }
    ).encode()
    head = (
        f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in http_driver.sign(body).items())
        + "\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(head + body[:20])
        # the request is in flight: a worker has accepted it and read half its body
        wait_until_read(port, client)

        stopped_at = time.monotonic()
        http_bot.process.terminate()
        deadline = stopped_at + 8
        while not _refuses_connections(port):  # observe the shutdown, don't guess its timing
            assert time.monotonic() < deadline, (
                "the server kept accepting connections after SIGTERM"
            )
        client.sendall(body[20:])
        response = b""
        while chunk := client.recv(65536):
            response += chunk

    assert response.startswith(b"HTTP/1.1 200"), response[:200]
    assert b"microlearn commands" in response
    assert http_bot.stop(timeout=10) == 0
    assert time.monotonic() - stopped_at < 10
    # The module's database was fresh: the server migrated it (one at head: test_logs.py).
    assert f" migrated empty → {migrate.head_revision()}\n" in "".join(http_bot.output)
