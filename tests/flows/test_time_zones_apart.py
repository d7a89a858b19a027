"""A serving process looks up time zones beside its tick: the tick it runs sends what is due
without looking anyone up, and the lookup on its own lets people waiting for theirs start."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.services import scheduling
from bot.storage.enrolments import EnrolmentRepository
from tests.standin import SlackStandIn
from tests.support.harness import Bot

pytestmark = pytest.mark.sqlite_only(
    "Slack surface: the tick and the lookup wired side by side, one after the other"
)

BERLIN = ZoneInfo("Europe/Berlin")


def test_the_tick_sends_without_looking_up_time_zones_and_the_lookup_starts_the_waiting(
    bot: Bot, standin: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduling, "SYNC_PROFILES", 0)  # nobody looked up while the lead waits
    ann = standin.add_user("ann", tz="Europe/Berlin")
    bob = standin.add_user("bob", tz="Europe/Berlin")
    bot.command(bot.lead, f"schedule security-basics to <@{ann}> at 09:00")
    bot.command(bot.lead, f"send security-basics/spot-phishing to <@{bob}>")
    enrolments = EnrolmentRepository(bot.db)

    report = bot.services.delivery.tick(bot.clock(), profiles=False)
    assert report.profiles == 0
    assert report.drain.sent >= 1 and standin.messages(bob), "what was due waited for time zones"
    assert [e.status for e in enrolments.enrolments(standin.team_id, recipient=ann)] == ["waiting"]

    assert bot.services.delivery.refresh_profiles(now=bot.clock()) >= 1
    assert [e.status for e in enrolments.enrolments(standin.team_id, recipient=ann)] == ["active"]
    bot.clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN))
    bot.services.delivery.tick(bot.clock(), profiles=False)
    assert standin.messages(ann), "ann's first lesson did not come at 09:00 her time"
