"""Every `/learn` command answers privately with what happened, or what was wrong and the form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.standin import SlackStandIn
from tests.support.harness import Bot

pytestmark = pytest.mark.sqlite_only(
    "Slack surface: command parsing, private replies and usage forms"
)

MONDAY_0930_BERLIN = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


@pytest.fixture
def ann(standin: SlackStandIn) -> str:
    return standin.add_user("ann", real_name="Ann Lee", tz="Europe/Berlin")


def lessons(standin: SlackStandIn, channel: str) -> list[str]:
    return [
        str(m["text"]) for m in standin.messages(channel) if str(m["text"]).startswith("New lesson")
    ]


def test_replies_are_private(bot: Bot, standin: SlackStandIn, ann: str) -> None:
    general = standin.add_channel("general", members=[ann])
    bot.command(ann, "courses", channel_id=general)
    bot.command(bot.lead, "schedules", channel_id=general)
    assert standin.messages(general) == []  # nothing posted for everyone to see
    assert {reply["body"]["response_type"] for reply in standin.responses()} == {"ephemeral"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("schedule nonexistent to #general", "There is no course `nonexistent`. The courses are"),
        ("schedule security-basics #general", "Expected `to` after `security-basics`."),
        ("schedule security-basics to #nowhere", "I can't find a channel called #nowhere."),
        ("schedule security-basics to @nobody", "I can't find anyone or any group called @nobody"),
        ("schedule security-basics to #general at 25:00", "`25:00` is not a time"),
        ("schedule security-basics to #general every funday", "'funday' is not a day"),
        ("schedule security-basics to #general from 2026-13-01", "`2026-13-01` is not a date"),
        ("schedule security-basics to ann", "`ann` is not a target."),
        ("schedule security-basics to #general from 2020-01-01", "2020-01-01 has passed"),
        ("send nothing-here to #general", "There is no lesson or course `nothing-here`."),
        ("pause 42", "There is no drip #42."),
        ("pause soon", "Give the drip's number"),
    ],
)
def test_mistakes_say_what_was_wrong(
    bot: Bot, standin: SlackStandIn, ann: str, text: str, expected: str
) -> None:
    standin.add_channel("general", members=[ann])
    reply = bot.command(bot.lead, text)
    assert reply.startswith(":no_entry_sign: "), reply
    assert expected in reply, reply


def test_a_usage_mistake_shows_the_right_form(bot: Bot, standin: SlackStandIn) -> None:
    reply = bot.command(bot.lead, "schedule security-basics #general")
    assert "The form is `/learn schedule <course> to <targets> [every <days>]" in reply


def test_the_bot_not_in_a_channel_says_how_to_invite_it(bot: Bot, standin: SlackStandIn) -> None:
    private = standin.add_channel("random", bot_is_member=False)
    reply = bot.command(bot.lead, f"schedule security-basics to <#{private}|random>")
    assert f"I'm not in <#{private}> yet. Invite me with `/invite @microlearn`" in reply


@pytest.mark.parametrize(
    "text",
    [
        "schedule security-basics to #general",
        "send security-basics to #general",
        "schedules",
        "pause 1",
        "cancel 1",
        "resume 1",
    ],
)
def test_learners_cannot_use_lead_commands(
    bot: Bot, standin: SlackStandIn, ann: str, text: str
) -> None:
    standin.add_channel("general", members=[ann])
    reply = bot.command(ann, text)
    assert reply.startswith(":no_entry_sign: Only leads can "), reply


def test_admins_grant_the_lead_role(bot: Bot, standin: SlackStandIn, ann: str) -> None:
    bob = standin.add_user("bob")
    assert bot.command(ann, f"leads add <@{bob}|bob>").startswith(":no_entry_sign: Only admins can")
    assert bot.command(bot.lead, f"leads add <@{ann}|ann>") == f"<@{ann}> is now a lead."
    assert bot.command(bot.lead, "leads add @ann") == f"<@{ann}> is already a lead."  # plain form
    assert "no drips yet" in bot.command(ann, "schedules").lower()
    assert bot.command(bot.lead, f"leads remove <@{ann}>") == f"<@{ann}> is no longer a lead."
    assert bot.command(ann, "schedules").startswith(":no_entry_sign: Only leads")


def test_plain_and_escaped_mentions_are_the_same(bot: Bot, standin: SlackStandIn, ann: str) -> None:
    general = standin.add_channel("general", members=[ann])
    standin.add_usergroup("design", [ann])
    plain = bot.command(
        bot.lead, "schedule security-basics to #general @ann @design members of #general"
    )
    assert plain.startswith(":white_check_mark: Drip #1"), plain
    assert "1 person by DM" in plain and f"<#{general}>" in plain
    listed = bot.command(bot.lead, "schedules")
    assert (
        f"<#{general}>" in listed and f"<@{ann}>" in listed and f"members of <#{general}>" in listed
    )


def test_schedule_reply_says_when_the_first_lesson_goes_out(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    bot.clock.set(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))  # Monday 08:00 in Berlin
    reply = bot.command(bot.lead, f"schedule security-basics to <@{ann}> at 09:00")
    first = int(datetime(2026, 11, 23, 8, 0, tzinfo=UTC).timestamp())  # today, 09:00 Berlin
    assert f"First lesson <!date^{first}^" in reply
    bot.clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))  # 10:00: today's 09:00 has passed
    reply = bot.command(bot.lead, f"schedule leading-people to <@{ann}> at 09:00 from 2026-12-01")
    first = int(datetime(2026, 12, 1, 8, 0, tzinfo=UTC).timestamp())
    assert f"First lesson <!date^{first}^" in reply


def test_pause_resume_and_cancel_a_drip(bot: Bot, standin: SlackStandIn, ann: str) -> None:
    bot.command(bot.lead, f"schedule security-basics to <@{ann}>")
    assert bot.command(bot.lead, "pause 1") == "Drip #1 (`security-basics`) is paused."
    assert "can't be paused" in bot.command(bot.lead, "pause 1")
    bot.tick(MONDAY_0930_BERLIN)
    assert lessons(standin, ann) == []
    resumed = bot.command(bot.lead, "resume #1")
    assert resumed.startswith("Drip #1 (`security-basics`) is resumed. Next lesson")
    bot.tick(MONDAY_0930_BERLIN + timedelta(days=1))
    assert len(lessons(standin, ann)) == 1
    assert bot.command(bot.lead, "cancel 1") == "Drip #1 (`security-basics`) is cancelled."
    bot.tick(MONDAY_0930_BERLIN + timedelta(days=2))
    assert len(lessons(standin, ann)) == 1
    assert "cancelled" in bot.command(bot.lead, "schedules")


def test_send_now_delivers_at_once(bot: Bot, standin: SlackStandIn, ann: str) -> None:
    general = standin.add_channel("general", members=[ann])
    reply = bot.command(bot.lead, f"send spot-phishing to <#{general}|general> <@{ann}>")
    assert reply == (
        f":outbox_tray: Sending *Spot a phishing message before you click* now to 1 person, <#{general}>."
    )
    bot.tick()
    assert len(lessons(standin, ann)) == 1 and len(lessons(standin, general)) == 1


def test_a_learner_joins_pulls_snoozes_resumes_and_leaves(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    reply = bot.command(ann, "join career-microlearning")
    assert reply.startswith(":books: You're in *Microlearning habits for career growth*")
    assert "weekdays at 09:30 your time (Europe/Berlin)" in reply
    assert "already taking" in bot.command(ann, "join career-microlearning")
    assert bot.command(ann, "next").endswith("is on its way to your DMs.")
    bot.tick()
    assert len(lessons(standin, ann)) == 1
    snoozed = bot.command(ann, "snooze 3")
    assert snoozed.startswith(":zzz: Snoozed for 3 days: lessons start again")
    bot.tick(MONDAY_0930_BERLIN)
    assert len(lessons(standin, ann)) == 1  # snoozed
    assert bot.command(ann, "resume").startswith(":arrow_forward: Resumed. Your next lesson comes")
    bot.tick(MONDAY_0930_BERLIN + timedelta(days=1))
    assert len(lessons(standin, ann)) == 2  # the drip carried on after the pulled lesson
    assert bot.command(ann, "leave career-microlearning").startswith("You've left")
    bot.tick(MONDAY_0930_BERLIN + timedelta(days=2))
    assert len(lessons(standin, ann)) == 2
    assert "You're not taking a course yet" in bot.command(ann, "next")


def test_courses_and_search(bot: Bot, ann: str) -> None:
    courses = bot.command(ann, "courses")
    assert "*Security basics for everyone* (`security-basics`, 6 lessons)" in courses
    found = bot.command(ann, "search passkeys")
    assert found.startswith("Lessons about “passkeys”:")
    assert "`security-basics/passwords-and-passkeys`" in found
    assert "No lesson matches" in bot.command(ann, "search xylophone")


def test_new_channel_members_join_a_members_of_drip(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    eng = standin.add_channel("eng", members=[ann])
    bot.command(bot.lead, f"schedule security-basics to members of <#{eng}|eng>")
    newcomer = standin.add_user("newbie", tz="America/New_York")
    standin.add_member(eng, newcomer)
    response = bot.driver.join(newcomer, eng)
    assert response.status == 200
    bot.driver.join(newcomer, eng)  # Slack may send the event twice: still one enrolment
    bot.tick()
    welcome = [m for m in standin.messages(newcomer) if "enrolled you in" in str(m["text"])]
    assert len(welcome) == 1
    bot.tick(datetime(2026, 11, 23, 14, 30, tzinfo=UTC))  # 09:30 in New York
    assert len(lessons(standin, newcomer)) == 1


def test_finishing_a_course_you_joined_yourself_is_congratulated(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    bot.command(ann, "join security-basics")
    for _ in range(6):
        bot.command(ann, "next")
    bot.tick()
    texts = [str(m["text"]) for m in standin.messages(ann)]
    assert sum(t.startswith("New lesson") for t in texts) == 6
    assert any(t.startswith(":tada: You've finished *Security basics for everyone*") for t in texts)
    assert not any("/learn report" in t for t in texts)
