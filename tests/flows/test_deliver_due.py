"""`microlearn deliver-due`: one pass of planning and sending, for cron."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.storage.outbox import Outbox
from tests.standin import SlackStandIn
from tests.support.harness import Bot
from tests.support.process import LESSONS

pytestmark = pytest.mark.sqlite_only(
    "Slack surface: the cron command's wiring; test_delivery_faults sends exactly once on both"
)


def test_deliver_due_sends_what_is_due_once(
    bot: Bot, standin: SlackStandIn, tmp_path: Path
) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    bot.command(bot.lead, f"send security-basics/spot-phishing to <@{ann}>")
    Outbox(bot.db).enqueue(
        team_id=standin.team_id,
        dedupe_key="hello",
        kind="notice",
        recipient=ann,
        recipient_kind="dm",
        due_at=datetime(2026, 1, 1, tzinfo=UTC),
        now=datetime(2026, 1, 1, tzinfo=UTC),
        payload={"text": "Welcome aboard"},
    )
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"SLACK_BOT_TOKEN={standin.bot_token}\nSLACK_API_URL={standin.api_url}\n"
        f"DATABASE_URL={bot.db.url}\nLESSONS_DIR={LESSONS}\n",
        encoding="utf-8",
    )
    out = io.StringIO()
    assert main(["--env-file", str(env_file), "deliver-due"], out=out) == 0
    assert out.getvalue().strip().endswith("sent 2 deliveries (5 messages), 0 to retry, 0 failed")
    texts = [str(m["text"]) for m in standin.messages(ann)]
    assert "Welcome aboard" in texts and len(texts) == 5
    again = io.StringIO()
    assert main(["--env-file", str(env_file), "deliver-due"], out=again) == 0
    assert "sent 0 deliveries" in again.getvalue()
    assert len(standin.messages(ann)) == 5
