"""A lesson body that never went through `lessons check` still cannot run code when delivered."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.lesson import Catalog
from tests.content.test_template_safety import exploit, unchecked_lesson
from tests.standin import SlackStandIn
from tests.support.harness import running_bot

pytestmark = pytest.mark.sqlite_only("Slack surface: what a lesson body renders to in Block Kit")


def test_sending_an_unchecked_malicious_lesson_runs_nothing(
    standin: SlackStandIn, database_url: str, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    _, course = unchecked_lesson(exploit("mro-chain", marker), tmp_path)
    catalog = Catalog((course,))
    ann = standin.add_user("ann", real_name="Ann Lee", tz="Europe/Berlin")
    with running_bot(standin, database_url, catalog=catalog) as bot:
        assert "Sending" in bot.command(bot.lead, f"send phish/three-tells to <@{ann}>")
        report = bot.tick()
        assert not marker.exists()
        assert report.drain.sent == 0 and report.drain.failed == 1
        assert not [
            m for m in standin.messages(standin.dm_channel(ann)) if "Three tells" in str(m["text"])
        ]
