"""An answer acknowledged by the running server survives a kill -9 right after the ack."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import count_database_run
from tests.standin import SlackDriver, SlackStandIn
from tests.support.process import SIGNING_SECRET, bot_environment, start_http_bot


def test_an_acknowledged_answer_survives_kill_minus_9(
    standin: SlackStandIn,
    e2e_migrated_database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    count_database_run(e2e_migrated_database_url)
    env = bot_environment(
        api_url=standin.api_url,
        database_url=e2e_migrated_database_url,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
    )
    bot = start_http_bot(env, cwd=tmp_path)
    try:
        driver = SlackDriver(
            standin, request_url=f"{bot.url}/slack/events", signing_secret=SIGNING_SECRET
        )
        admin = standin.add_user("kim", tz="Europe/Berlin", is_admin=True)
        learner = standin.add_user("kai", real_name="Kai Kill", tz="Europe/Berlin")
        driver.command(admin, f"send security-basics/spot-phishing to <@{learner}>")
        assert standin.wait_for(lambda: len(standin.messages(learner)) >= 4, timeout=15)
        question = [
            m for m in standin.messages(learner) if str(m["text"]).startswith("Question 1")
        ][0]
        response = driver.click(
            learner, question, channel_id=standin.dm_channel(learner), action_id="answer_1"
        )
        assert response.status == 200  # Slack's acknowledgement...
    finally:
        bot.kill_hard()  # ...and the process dies at once, before any feedback or cleanup
    # What the killed server left, read by `microlearn report` with the server's settings (in
    # this process: a second process would only import the app again).
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "answers.csv"
    assert main(["report", "security-basics", "--csv", str(out)]) == 0
    with out.open(encoding="utf-8-sig", newline="") as answers:
        rows = [row for row in csv.DictReader(answers) if row["learner_id"] == learner]
    assert [(r["lesson"], r["correct"], r["attempt"]) for r in rows] == [
        ("spot-phishing", "true", "1")
    ]
