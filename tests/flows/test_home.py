"""App Home and its forms: a learner's lessons and settings, a lead's drips and the schedule form."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.standin import SlackStandIn
from tests.support.harness import Bot

# The tests not marked run on both databases: the statements only they run on PostgreSQL,
# or concurrency, locking and exactly-once that only PostgreSQL can show.
SLACK_SURFACE = pytest.mark.sqlite_only("Slack surface: App Home views and forms")

MONDAY_0930_BERLIN = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


@pytest.fixture
def ann(standin: SlackStandIn) -> str:
    return standin.add_user("ann", real_name="Ann Lee", tz="Europe/Berlin")


def home_text(standin: SlackStandIn, user_id: str) -> str:
    home = standin.home(user_id)
    assert home is not None, "no App Home was published"
    return json.dumps(home["blocks"])


@SLACK_SURFACE
def test_a_learner_sees_their_lessons_and_settings(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    bot.driver.open_home(ann)
    text = home_text(standin, ann)
    assert "You're not taking a course yet" in text
    assert "Schedule a course" not in text  # not a lead
    bot.command(ann, "join security-basics")
    bot.driver.open_home(ann)
    text = home_text(standin, ann)
    assert "*Security basics for everyone*" in text
    assert "0 of 6 lessons done" in text and "<!date^" in text
    bot.driver.click_view(ann, standin.home(ann) or {}, action_id="home_snooze_7")
    assert "Snoozed until" in home_text(standin, ann)
    bot.driver.click_view(ann, standin.home(ann) or {}, action_id="home_resume")
    assert "Snoozed until" not in home_text(standin, ann)


@SLACK_SURFACE
def test_a_learner_changes_their_delivery_time(bot: Bot, standin: SlackStandIn, ann: str) -> None:
    bot.command(ann, "join security-basics")
    bot.driver.open_home(ann)
    bot.driver.click_view(ann, standin.home(ann) or {}, action_id="home_prefs")
    [form] = standin.open_views(ann)
    response = bot.driver.submit_view(
        ann, form, {"days": {"days": ["mon", "wed"]}, "time": {"time": "07:15"}}
    )
    assert response.status == 200
    assert "Delivery: Monday, Wednesday, 07:15 (Europe/Berlin)" in home_text(standin, ann)
    bot.tick(datetime(2026, 11, 23, 6, 15, tzinfo=UTC))  # Monday 07:15 in Berlin
    lessons = [m for m in standin.messages(ann) if str(m["text"]).startswith("New lesson")]
    assert len(lessons) == 1


@SLACK_SURFACE
def test_a_lead_schedules_from_the_form(bot: Bot, standin: SlackStandIn, ann: str) -> None:
    general = standin.add_channel("general", members=[ann])
    bot.driver.open_home(bot.lead)
    assert "Schedule a course" in home_text(standin, bot.lead)
    bot.driver.click_view(bot.lead, standin.home(bot.lead) or {}, action_id="home_schedule")
    [form] = standin.open_views(bot.lead)
    empty = bot.driver.submit_view(bot.lead, form, {"course": {"course": "security-basics"}})
    assert empty.json() == {
        "response_action": "errors",
        "errors": {"people": "Choose at least one person, channel or group."},
    }
    response = bot.driver.submit_view(
        bot.lead,
        form,
        {
            "course": {"course": "security-basics"},
            "people": {"people": [ann]},
            "channels": {"channels": [general]},
            "days": {"days": ["mon", "tue", "wed", "thu", "fri"]},
            "time": {"time": "10:00"},
        },
    )
    assert response.status == 200 and not response.body  # the form closes
    [confirmation] = [
        m for m in standin.messages(bot.lead) if "Drip #1 scheduled" in str(m["text"])
    ]
    assert "1 person by DM" in str(confirmation["text"])
    assert f"<#{general}>" in str(confirmation["text"])
    assert "*#1* `security-basics`" in home_text(standin, bot.lead)


@SLACK_SURFACE
def test_the_form_refuses_a_channel_the_bot_is_not_in(bot: Bot, standin: SlackStandIn) -> None:
    closed = standin.add_channel("closed", bot_is_member=False)
    bot.driver.click_view(bot.lead, bot_home(bot, standin), action_id="home_schedule")
    [form] = standin.open_views(bot.lead)
    response = bot.driver.submit_view(
        bot.lead,
        form,
        {"course": {"course": "security-basics"}, "channels": {"channels": [closed]}},
    )
    errors = response.json()["errors"]
    assert errors["channels"].startswith("I'm not in #that channel yet. Invite me with /invite")


@SLACK_SURFACE
def test_schedule_without_arguments_opens_the_form_for_leads_only(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    bot.command(bot.lead, "schedule")
    assert [v["callback_id"] for v in standin.open_views(bot.lead)] == ["schedule_form"]
    assert bot.command(ann, "schedule").startswith(":no_entry_sign: Only leads can")
    assert standin.open_views(ann) == []


@SLACK_SURFACE
def test_a_lead_pauses_a_drip_from_home(bot: Bot, standin: SlackStandIn, ann: str) -> None:
    bot.command(bot.lead, f"schedule security-basics to <@{ann}>")
    bot.driver.click_view(bot.lead, bot_home(bot, standin), action_id="drip_pause", value="1")
    assert "paused" in home_text(standin, bot.lead)
    assert "Resume" in home_text(standin, bot.lead)
    bot.tick(MONDAY_0930_BERLIN)
    assert [m for m in standin.messages(ann) if str(m["text"]).startswith("New lesson")] == []


def bot_home(bot: Bot, standin: SlackStandIn) -> dict[str, object]:
    bot.driver.open_home(bot.lead)
    home = standin.home(bot.lead)
    assert home is not None
    return home
