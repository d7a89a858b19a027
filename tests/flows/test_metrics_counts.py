"""What the use cases report through the Metrics port: sends by kind, failures by reason,
retries, stored answers and acknowledgements, and every Slack call by method and outcome."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from tests.standin import SlackStandIn
from tests.support.harness import Bot, running_bot

pytestmark = pytest.mark.sqlite_only("Slack surface: what the Metrics port is told")

MONDAY_0930_BERLIN = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


class Recorder:
    """The Metrics port, remembering what it was told."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, ...]] = Counter()
        self.acks: list[float] = []
        self.ticks: list[tuple[float, float]] = []

    def delivery_sent(self, *, kind: str) -> None:
        self.counts["sent", kind] += 1

    def delivery_failed(self, *, kind: str, reason: str) -> None:
        self.counts["failed", kind, reason] += 1

    def delivery_retried(self, *, kind: str, reason: str) -> None:
        self.counts["retried", kind, reason] += 1

    def answer_stored(self, *, kind: str) -> None:
        self.counts["answer", kind] += 1

    def answer_acknowledged(self, *, seconds: float) -> None:
        self.acks.append(seconds)

    def slack_call(self, *, method: str, outcome: str) -> None:
        self.counts["call", method, outcome] += 1

    def tick_finished(self, *, seconds: float, lag: float) -> None:
        self.ticks.append((seconds, lag))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def bot(
    standin: SlackStandIn, database_url: str, recorder: Recorder, shipped_lessons: None
) -> Iterator[Bot]:
    with running_bot(standin, database_url, metrics=recorder) as running:
        yield running


def test_sends_retries_and_failures_are_counted_by_kind_and_reason(
    bot: Bot, standin: SlackStandIn, recorder: Recorder
) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    bot.command(bot.lead, f"send security-basics/spot-phishing to <@{ann}>")
    standin.fail("chat.postMessage", "service_unavailable", times=1)
    assert bot.tick().drain.retried == 1
    assert recorder.counts["retried", "lesson", "service_unavailable"] == 1
    assert recorder.counts["call", "chat.postMessage", "service_unavailable"] == 1
    assert bot.tick(bot.clock() + timedelta(minutes=1)).drain.sent == 1
    assert recorder.counts["sent", "lesson"] == 1
    assert recorder.counts["call", "chat.postMessage", "ok"] == 4  # the lesson, three questions

    general = standin.add_channel("general", members=[bot.lead])
    reply = bot.command(bot.lead, f"schedule security-basics to <#{general}|general>")
    assert reply.startswith(":white_check_mark:"), reply
    standin.set_channel(general, bot_is_member=False)
    bot.tick(MONDAY_0930_BERLIN)
    assert recorder.counts["failed", "lesson", "not_in_channel"] == 1
    assert recorder.counts["sent", "notice"] >= 1  # the lead was told
    assert recorder.counts["call", "chat.postMessage", "not_in_channel"] == 1


def test_an_answer_is_counted_once_and_its_acknowledgement_timed(
    bot: Bot, standin: SlackStandIn, recorder: Recorder
) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    bot.command(bot.lead, f"send security-basics/spot-phishing to <@{ann}>")
    bot.tick()
    dm = standin.dm_channel(ann)
    question = next(m for m in standin.messages(dm) if str(m["text"]).startswith("Question 1"))
    first = bot.driver.click(ann, question, channel_id=dm, action_id="answer_1")
    # Slack retrying the same click: answered already, nothing more is stored.
    body = urlencode({"payload": json.dumps(first.request)}).encode()
    headers = {**bot.driver.sign(body), "Content-Type": "application/x-www-form-urlencoded"}
    assert first.status == 200 and bot.driver.raw_post(body, headers).status == 200
    assert recorder.counts["answer", "lesson"] == 1
    assert len(recorder.acks) == 2 and all(0 <= seconds < 3 for seconds in recorder.acks)
