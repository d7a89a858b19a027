"""`microlearn serve` logs at INFO: our own one-line tick summary when something went out, and
nothing from the scheduler's every run."""

from __future__ import annotations

from pathlib import Path

from bot.storage import migrate
from tests.standin import SlackDriver, SlackStandIn
from tests.support.process import SIGNING_SECRET, bot_environment, start_http_bot


def test_ticks_log_one_line_when_they_send_and_the_scheduler_stays_quiet(
    standin: SlackStandIn, tmp_path: Path, migrated_sqlite_url: str
) -> None:
    env = bot_environment(
        api_url=standin.api_url,
        database_url=migrated_sqlite_url,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        MICROLEARN_LOG_LEVEL="INFO",
        MICROLEARN_TICK_SECONDS="1",
    )
    bot = start_http_bot(env, cwd=tmp_path)
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
    # A database at head is left as it is (a fresh one: test_serve.py).
    assert f"microlearn: database {migrated_sqlite_url} at {migrate.head_revision()}\n" in output
    assert "apscheduler" not in output, output
    assert [line.split(" INFO ", 1)[1] for line in output.splitlines() if ": tick: " in line] == [
        "bot.app: tick: 1 sent, 0 to retry, 0 failed"
    ], output
