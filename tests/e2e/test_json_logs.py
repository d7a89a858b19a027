"""`MICROLEARN_LOG_FORMAT=json`: a whole run at DEBUG writes one JSON object per line, with the
ids of what each line is about, and no token, secret or message text at any level."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.standin import SlackDriver, SlackStandIn
from tests.support.process import (
    bot_environment,
    start_bot,
    start_http_bot,
    wait_until_connected,
)

BOT_TOKEN = "xoxb-4242-e2e-bot-token-never-logged"
APP_TOKEN = "xapp-1-A42-e2e-app-token-never-logged"
SIGNING = "e2e-signing-secret-never-logged-8c1f"


def _run_a_lesson_and_an_answer(
    mode: str, standin: SlackStandIn, tmp_path: Path, database_url: str
) -> tuple[str, str, list[str]]:
    """Serve at DEBUG in JSON, send a lesson, answer it; the output, learner and texts seen."""
    env = bot_environment(
        api_url=standin.api_url,
        database_url=database_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING,
        MICROLEARN_LOG_LEVEL="DEBUG",
        MICROLEARN_LOG_FORMAT="json",
        MICROLEARN_TICK_SECONDS="1",
    )
    if mode == "http":
        bot = start_http_bot(env, cwd=tmp_path)
        driver = SlackDriver(standin, request_url=f"{bot.url}/slack/events", signing_secret=SIGNING)
    else:
        bot = start_bot([], {**env, "SLACK_APP_TOKEN": APP_TOKEN}, cwd=tmp_path)
        wait_until_connected(bot)
        driver = SlackDriver(standin, mode="socket")
    try:
        lead = standin.add_user("lou", tz="Europe/Berlin", is_admin=True)
        learner = standin.add_user("lin", tz="Europe/Berlin")
        driver.command(lead, f"send security-basics/spot-phishing to <@{learner}>")
        assert standin.wait_for(lambda: len(standin.messages(learner)) >= 4, timeout=20)
        dm = standin.dm_channel(learner)
        question = next(
            m for m in standin.messages(learner) if str(m["text"]).startswith("Question 1")
        )
        driver.click(learner, question, channel_id=dm, action_id="answer_1")

        def marked() -> bool:
            updated = standin.find_message(dm, question["ts"]) or {}
            return "Right!" in json.dumps(updated.get("blocks"), ensure_ascii=False)

        assert standin.wait_for(marked, timeout=20)
        texts = [str(m["text"]) for m in standin.messages(learner)]
        texts += [_text(m) for m in standin.messages(dm)]
        texts += [str((r.get("body") or {}).get("text", "")) for r in standin.responses()]
    finally:
        assert bot.stop() == 0
    return "".join(bot.output), learner, [t for t in texts if len(t) >= 12]


def _text(message: dict[str, Any]) -> str:
    return str(message.get("text", ""))


@pytest.mark.parametrize("mode", ["http", "socket"])
def test_a_debug_run_logs_json_lines_with_ids_and_nothing_secret(
    mode: str, tmp_path: Path, migrated_sqlite_url: str
) -> None:
    with SlackStandIn(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as standin:
        output, learner, texts = _run_a_lesson_and_an_answer(
            mode, standin, tmp_path, migrated_sqlite_url
        )
        team = standin.team_id
    records = []
    for line in output.splitlines():
        if line.startswith("microlearn: "):  # what `serve` prints on stdout for the operator
            continue
        record = json.loads(line)
        assert isinstance(record, dict), line
        assert {"time", "level", "logger", "message"} <= record.keys(), line
        records.append(record)
    assert any(r["level"] == "DEBUG" for r in records)
    assert any(r["logger"].startswith("bot.") for r in records)
    sent = [r for r in records if r["message"].startswith("delivery ") and "sent" in r["message"]]
    assert sent and all(r["team_id"] == team and r["user_id"] == learner for r in sent), sent
    assert all(isinstance(r["delivery_id"], int) for r in sent)
    stored = [r for r in records if r["message"] == "answer stored"]
    assert len(stored) == 1
    assert stored[0]["team_id"] == team and stored[0]["user_id"] == learner
    assert stored[0]["delivery_id"] == sent[0]["delivery_id"]
    for secret in (BOT_TOKEN, APP_TOKEN, SIGNING, "xoxb-", "xapp-"):
        assert secret not in output
    assert texts
    for text in texts:
        for piece in (text, json.dumps(text)[1:-1]):
            assert piece not in output, piece
