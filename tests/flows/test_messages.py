"""Someone who writes to the bot in its Messages tab is told where help is, once a day."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.standin import SlackStandIn
from tests.support.harness import Bot, running_bot

pytestmark = pytest.mark.sqlite_only("Slack surface: replies in the Messages tab")

HELP_POINTER = "Type `/learn help` to see what I can do"


def replies(standin: SlackStandIn, user_id: str) -> list[str]:
    return [str(m["text"]) for m in standin.messages(user_id) if HELP_POINTER in str(m["text"])]


def _dm_event(standin: SlackStandIn, channel: str, **fields: Any) -> dict[str, Any]:
    ts = standin.next_ts()
    event = {"type": "message", "channel": channel, "channel_type": "im", "ts": ts}
    return event | {"event_ts": ts} | fields


def test_a_message_to_the_bot_gets_one_reply_a_day(
    bot: Bot, standin: SlackStandIn, database_url: str
) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    dm = standin.dm_channel(ann)
    _ts, first = bot.driver.user_says(ann, dm, "hi! how do I get the next lesson?")
    assert first.status == 200
    bot.tick()
    [reply] = replies(standin, ann)
    assert "*Home* tab" in reply
    # Again the same day, a retry of the same event, and from another serving process.
    bot.driver.user_says(ann, dm, "hello?")
    assert bot.driver.event(first.request["event"], event_id=first.event_id, retry_num=1).status
    with running_bot(standin, database_url) as other:
        other.clock.set(bot.clock())
        other.driver.user_says(ann, dm, "anyone there?")
        other.tick()
    bot.tick()
    assert len(replies(standin, ann)) == 1
    bot.clock.advance(days=1)
    bot.driver.user_says(ann, dm, "me again")
    bot.tick()
    assert len(replies(standin, ann)) == 2


def test_only_people_writing_in_the_dm_get_the_reply(bot: Bot, standin: SlackStandIn) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    dm = standin.dm_channel(ann)
    general = standin.add_channel("general", members=[ann, bot.lead])
    bot.command(bot.lead, f"send security-basics/spot-phishing to <#{general}|general>")
    bot.tick()
    lesson = [m for m in standin.messages(general) if str(m["text"]).startswith("New lesson")][0]
    posts = len(standin.calls("chat.postMessage"))
    for event in (
        _dm_event(standin, dm, user=standin.bot_user_id, bot_id=standin.bot_id, text="mine"),
        _dm_event(standin, dm, subtype="bot_message", bot_id="B0OTHER", text="another bot"),
        _dm_event(standin, dm, user="USLACKBOT", text="Slackbot here"),
        _dm_event(
            standin,
            dm,
            subtype="message_changed",
            message={"type": "message", "user": ann, "text": "edited", "ts": "1.000100"},
        ),
        _dm_event(standin, dm, subtype="message_deleted", deleted_ts="1.000100"),
    ):
        assert bot.driver.event(event).status == 200
    # A reply in a lesson's discussion thread is recorded there, and not answered.
    bot.driver.user_says(ann, general, "I report them all now.", thread_ts=lesson["ts"])
    bot.tick(bot.clock() + timedelta(minutes=1))
    assert len(standin.calls("chat.postMessage")) == posts  # nobody was answered
    assert "• Discussion replies: 1" in bot.command(ann, "progress")
    bot.driver.user_says(ann, dm, "Where do I see my progress?")
    bot.tick()
    assert len(replies(standin, ann)) == 1
