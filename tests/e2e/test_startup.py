"""`microlearn serve` in Socket Mode with a token Slack refuses: one line, exit 1, nothing sent."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.content.loader import load_catalog
from bot.storage import migrate
from bot.storage.content import ContentRepository
from bot.storage.db import Database
from bot.storage.outbox import Outbox
from tests.standin import SlackStandIn
from tests.support.process import LESSONS, bot_environment, start_bot

LONG_AGO = datetime(2020, 1, 6, 9, 30, tzinfo=UTC)


def _a_lesson_due(database_url: str, team_id: str, learner: str) -> None:
    """A database where one lesson is waiting to go out (sent by a lead before a restart)."""
    db = Database(database_url)
    try:
        migrate.upgrade(db)
        ContentRepository(db).sync(load_catalog(LESSONS).catalog, now=LONG_AGO)
        Outbox(db).enqueue_lessons(
            team_id=team_id,
            lesson=("security-basics", "spot-phishing"),
            recipients=[(f"send:before:{learner}", learner, "dm")],
            due_at=LONG_AGO,
            now=LONG_AGO,
        )
    finally:
        db.dispose()


def test_a_refused_app_token_ends_serve_with_one_line_and_sends_nothing(
    standin: SlackStandIn, tmp_path: Path, migrated_sqlite_url: str
) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    database_url = migrated_sqlite_url
    _a_lesson_due(database_url, standin.team_id, ann)
    standin.reset_calls()
    env = bot_environment(
        api_url=standin.api_url,
        database_url=database_url,
        SLACK_APP_TOKEN="xapp-revoked",
        MICROLEARN_LOG_LEVEL="INFO",
    )
    bot = start_bot([], env, cwd=tmp_path)
    output = bot.process.communicate(timeout=60)[0]
    assert bot.process.returncode == 1, output
    assert "Traceback" not in output and " ERROR " not in output, output
    last = output.splitlines()[-1]
    assert last.startswith("microlearn: Slack refused SLACK_APP_TOKEN (invalid_auth); "), output
    assert "connections:write" in last
    assert standin.calls("chat.postMessage") == []  # nothing went out before the connection
    [delivery] = Outbox(db := Database(database_url)).deliveries()
    db.dispose()
    assert delivery.status == "pending"
