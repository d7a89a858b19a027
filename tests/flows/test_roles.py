"""Roles that grant power are re-checked with Slack within minutes, not trusted for hours."""

from __future__ import annotations

import pytest

from bot.services.people import ROLE_MAX_AGE
from tests.standin import SlackStandIn
from tests.support.harness import Bot

# The tests not marked run on both databases: the statements only they run on PostgreSQL,
# or concurrency, locking and exactly-once that only PostgreSQL can show.
SLACK_SURFACE = pytest.mark.sqlite_only("Slack surface: role checks with Slack")


@pytest.fixture
def ann(standin: SlackStandIn) -> str:
    return standin.add_user("ann", real_name="Ann Lee", tz="Europe/Berlin")


def test_a_demoted_admin_loses_admin_and_lead_rights_within_minutes(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    assert bot.command(bot.lead, f"leads add <@{ann}>") == f"<@{ann}> is now a lead."
    assert "No drips yet" in bot.command(bot.lead, "schedules")
    standin.set_user(bot.lead, is_admin=False)  # demoted in Slack
    bot.clock.advance(seconds=ROLE_MAX_AGE.total_seconds() + 1)
    assert bot.command(bot.lead, f"leads remove <@{ann}>").startswith(
        ":no_entry_sign: Only admins can"
    )
    assert bot.command(bot.lead, "schedules").startswith(":no_entry_sign: Only leads can")
    assert "No drips yet" in bot.command(ann, "schedules")  # the lead she granted stays


@SLACK_SURFACE
def test_role_checks_are_cached_for_a_short_while_only(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    bot.command(bot.lead, "schedules")
    looked_up = len(standin.calls("users.info"))
    bot.command(bot.lead, "schedules")  # within the cache: no new lookup
    assert len(standin.calls("users.info")) == looked_up
    bot.clock.advance(seconds=ROLE_MAX_AGE.total_seconds() + 1)
    bot.command(bot.lead, "schedules")
    assert len(standin.calls("users.info")) == looked_up + 1


@SLACK_SURFACE
def test_a_role_check_slack_cannot_answer_refuses_rather_than_trusting_the_cache(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    assert bot.command(bot.lead, f"leads add <@{ann}>") == f"<@{ann}> is now a lead."
    bot.clock.advance(seconds=ROLE_MAX_AGE.total_seconds() + 1)
    standin.fail("users.info", error="fatal_error", times=5)
    reply = bot.command(bot.lead, f"leads remove <@{ann}>")
    assert reply.startswith(":no_entry_sign: I couldn't check your role with Slack"), reply
    assert "No drips yet" in bot.command(ann, "schedules")  # nothing was changed
