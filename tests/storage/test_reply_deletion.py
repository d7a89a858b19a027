"""A discussion reply deleted in Slack leaves no text behind in the database."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from tests.standin import SlackStandIn
from tests.support.harness import Bot, running_bot

SECRET = "my password is hunter2"


@pytest.fixture
def bot(database_url: str) -> Iterator[Bot]:
    with SlackStandIn() as standin, running_bot(standin, database_url) as running:
        yield running


def stored_replies(bot: Bot) -> list[tuple[str, bool]]:
    with bot.db.engine.connect() as connection:
        rows = connection.execute(text("SELECT text, deleted FROM thread_reply ORDER BY id"))
        return [(row[0], bool(row[1])) for row in rows]


def lesson_thread(bot: Bot, ann: str) -> tuple[str, str]:
    general = bot.standin.add_channel("general", members=[ann, bot.lead])
    bot.command(bot.lead, f"send security-basics/spot-phishing to <#{general}|general>")
    bot.tick()
    post = [m for m in bot.standin.messages(general) if str(m["text"]).startswith("New lesson")]
    return general, str(post[0]["ts"])


def discussion_rows(bot: Bot) -> list[dict[str, str]]:
    bot.command(bot.lead, "report security-basics")
    upload = [f for f in bot.standin.files() if f["name"] == "security-basics-discussion.csv"][-1]
    return list(csv.DictReader(io.StringIO(bytes(upload["bytes"]).decode("utf-8-sig"))))


def test_a_deleted_reply_is_cleared_and_stays_cleared(bot: Bot) -> None:
    ann = bot.standin.add_user("ann", real_name="Ann Lee")
    general, thread_ts = lesson_thread(bot, ann)
    ts, said = bot.driver.user_says(ann, general, SECRET, thread_ts=thread_ts)
    kept_ts, _ = bot.driver.user_says(ann, general, "Phishing is sneaky.", thread_ts=thread_ts)
    assert stored_replies(bot) == [(SECRET, False), ("Phishing is sneaky.", False)]
    edited = dict(bot.standin.find_message(general, ts) or {})
    bot.driver.user_deletes(ann, general, ts)
    assert stored_replies(bot) == [("", True), ("Phishing is sneaky.", False)]
    # Slack may deliver an edit or a retry of the original message after the deletion.
    edited.update(text=SECRET + " (edited)", edited={"user": ann, "ts": bot.standin.next_ts()})
    bot.driver.event(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": general,
            "ts": bot.standin.next_ts(),
            "message": edited,
        }
    )
    bot.driver.event(said.request["event"], event_id=said.event_id, retry_num=1)
    assert stored_replies(bot) == [("", True), ("Phishing is sneaky.", False)]
    assert [row["reply_ts"] for row in discussion_rows(bot)] == [kept_ts]
    assert "• Discussion replies: 1" in bot.command(ann, "progress")


def test_a_reply_replaced_by_a_tombstone_is_cleared(bot: Bot) -> None:
    ann = bot.standin.add_user("ann", real_name="Ann Lee")
    general, thread_ts = lesson_thread(bot, ann)
    ts, _ = bot.driver.user_says(ann, general, SECRET, thread_ts=thread_ts)
    bot.driver.event(
        {
            "type": "message",
            "subtype": "message_changed",
            "hidden": True,
            "channel": general,
            "ts": bot.standin.next_ts(),
            "message": {
                "type": "message",
                "subtype": "tombstone",
                "hidden": True,
                "text": "This message was deleted.",
                "user": "USLACKBOT",
                "ts": ts,
                "thread_ts": thread_ts,
            },
        }
    )
    assert stored_replies(bot) == [("", True)]
    assert discussion_rows(bot) == []
