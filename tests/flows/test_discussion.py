"""Discussion threads through the stand-in: opened per lesson, joined after answering, replies
recorded from events exactly once, edits and deletions followed, quiet threads nudged once."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.standin import SlackStandIn
from tests.support.harness import Bot

# The tests not marked run on both databases: the statements only they run on PostgreSQL,
# or concurrency, locking and exactly-once that only PostgreSQL can show.
SLACK_SURFACE = pytest.mark.sqlite_only("Slack surface: threads, links and nudges posted in Slack")

MONDAY_0930_BERLIN = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
PROMPT_START = ":speech_balloon: *Discuss:*"


@pytest.fixture
def ann(standin: SlackStandIn) -> str:
    return standin.add_user("ann", real_name="Ann Lee", tz="Europe/Berlin")


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [str(m["text"]) for m in messages]


def lesson_post(standin: SlackStandIn, channel: str, index: int = 0) -> dict[str, Any]:
    return [m for m in standin.messages(channel) if str(m["text"]).startswith("New lesson")][index]


@SLACK_SURFACE
def test_a_channel_lesson_gets_its_prompt_as_the_first_reply(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    general = standin.add_channel("general", members=[ann, bot.lead])
    bot.command(bot.lead, f"send security-basics/spot-phishing to <#{general}|general>")
    bot.tick()
    post = lesson_post(standin, general)
    [prompt] = standin.thread(general, post["ts"])  # the replies under the lesson post
    assert str(prompt["text"]).startswith(PROMPT_START)
    assert "most convincing" in str(prompt["text"]) or "phish" in str(prompt["text"]).lower()
    questions = [m for m in standin.messages(general) if str(m["text"]).startswith("Question")]
    assert len(questions) == 3 and all(
        not m.get("thread_ts") or m["thread_ts"] == m["ts"] for m in questions
    )


@SLACK_SURFACE
def test_a_reply_retried_by_slack_is_counted_once_and_edits_follow(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    general = standin.add_channel("general", members=[ann, bot.lead])
    bot.command(bot.lead, f"send security-basics/spot-phishing to <#{general}|general>")
    bot.tick()
    thread_ts = lesson_post(standin, general)["ts"]
    ts, first = bot.driver.user_says(
        ann, general, "I once got a fake invoice from 'our CEO'.", thread_ts=thread_ts
    )
    assert first.status == 200
    retried = bot.driver.event(first.request["event"], event_id=first.event_id, retry_num=1)
    assert retried.status == 200
    assert "• Discussion replies: 1" in bot.command(ann, "progress")
    bot.driver.user_edits(ann, general, ts, "I once got a fake invoice from our CFO.")
    bot.driver.user_says(ann, general, "Not a lesson thread.")  # a top-level message: ignored
    other_ts, _ = bot.driver.user_says(bot.lead, general, "Unrelated")
    bot.driver.user_says(
        ann, general, "a reply elsewhere", thread_ts=other_ts
    )  # not a lesson thread
    bot.command(bot.lead, "report security-basics")
    rows = discussion_csv(standin)
    assert [
        (r["learner_id"], r["lesson"], r["channel"], r["thread_ts"], r["reply_ts"], r["text"])
        for r in rows
    ] == [(ann, "spot-phishing", general, thread_ts, ts, "I once got a fake invoice from our CFO.")]
    assert rows[0]["learner_name"] == "Ann Lee" and rows[0]["replied_at"].endswith("Z")
    bot.driver.user_deletes(ann, general, ts)
    assert "• Discussion replies: 0" in bot.command(ann, "progress")


def discussion_csv(standin: SlackStandIn) -> list[dict[str, str]]:
    upload = [f for f in standin.files() if f["name"] == "security-basics-discussion.csv"][-1]
    text = bytes(upload["bytes"]).decode("utf-8")
    assert text.startswith("\ufeff")  # a byte-order mark for spreadsheets
    text = text.removeprefix("\ufeff")
    assert text.splitlines()[0] == (
        "learner_id,learner_name,course,lesson,channel,thread_ts,reply_ts,text,replied_at"
    )
    return list(csv.DictReader(io.StringIO(text, newline="")))


@SLACK_SURFACE
def test_the_dm_link_to_the_discussion_comes_only_after_answering(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    learning = standin.add_channel("learning", members=[bot.lead])
    bob = standin.add_user("bob", tz="Europe/Berlin")
    reply = bot.command(
        bot.lead, f"schedule security-basics to <@{ann}> <@{bob}> discuss in <#{learning}|learning>"
    )
    assert "I'm not in" not in reply
    bot.tick(MONDAY_0930_BERLIN)
    [parent] = standin.messages(learning)  # one thread for the lesson, not one per learner
    assert "*Discussion: Spot a phishing message before you click*" in str(parent["text"])
    dm = standin.dm_channel(ann)
    assert not any("Join the discussion" in t for t in texts(standin.messages(dm)))  # no spoilers
    for number, option in ((1, "answer_1"), (2, None), (3, "answer_0")):
        question = [
            m for m in standin.messages(dm) if str(m["text"]).startswith(f"Question {number} of")
        ][0]
        if option is None:
            bot.driver.click(
                ann, question, channel_id=dm, action_id="answer_submit", selected=["0"]
            )
        else:
            bot.driver.click(ann, question, channel_id=dm, action_id=option)
        bot.tick()
        joined = [t for t in texts(standin.messages(dm)) if "Join the discussion" in t]
        assert len(joined) == (1 if number == 3 else 0), number
    link = joined[0]
    assert f"/archives/{learning}/p{str(parent['ts']).replace('.', '')}" in link
    assert not any(
        "Join the discussion" in t for t in texts(standin.messages(standin.dm_channel(bob)))
    )


@SLACK_SURFACE
def test_without_a_discussion_channel_a_dm_lesson_has_no_dead_link(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    bot.command(bot.lead, f"schedule security-basics to <@{ann}>")
    bot.tick(MONDAY_0930_BERLIN)
    dm = standin.dm_channel(ann)
    lesson = lesson_post(standin, dm)
    bot.driver.click(ann, lesson, channel_id=dm, action_id="lesson_done")
    for number, option in ((1, "answer_1"), (3, "answer_0")):
        question = [
            m for m in standin.messages(dm) if str(m["text"]).startswith(f"Question {number} of")
        ][0]
        bot.driver.click(ann, question, channel_id=dm, action_id=option)
    bot.tick()
    everything = json.dumps(standin.messages(dm))
    assert "Join the discussion" not in everything and "/archives/" not in everything


@SLACK_SURFACE
def test_the_lead_is_told_when_the_bot_is_not_in_the_discussion_channel(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    closed = standin.add_channel("closed", bot_is_member=False)
    reply = bot.command(
        bot.lead, f"schedule security-basics to <@{ann}> discuss in <#{closed}|closed>"
    )
    assert f"I'm not in <#{closed}>, so I can't open discussion threads there yet" in reply
    assert "/invite @microlearn" in reply


@SLACK_SURFACE
def test_a_quiet_thread_gets_exactly_one_nudge(bot: Bot, standin: SlackStandIn, ann: str) -> None:
    general = standin.add_channel("general", members=[ann, bot.lead])
    quiet = standin.add_channel("quiet", members=[ann, bot.lead])
    bot.command(
        bot.lead, f"send security-basics/spot-phishing to <#{general}|general> <#{quiet}|quiet>"
    )
    bot.tick()
    busy_ts = lesson_post(standin, general)["ts"]
    bot.driver.user_says(ann, general, "Great tips", thread_ts=busy_ts)
    quiet_ts = lesson_post(standin, quiet)["ts"]
    bot.tick(bot.clock() + timedelta(hours=23))
    assert len(standin.thread(quiet, quiet_ts)) == 1  # only the prompt: no nudge yet
    bot.tick(bot.clock() + timedelta(hours=2))
    bot.tick(bot.clock() + timedelta(hours=30))
    nudges = [
        m for m in standin.thread(quiet, quiet_ts) if "Quiet in here so far" in str(m["text"])
    ]
    assert len(nudges) == 1
    assert not [m for m in standin.thread(general, busy_ts) if "Quiet in here" in str(m["text"])]


def test_the_most_reacted_reply_is_quoted_in_the_next_lesson(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    bob = standin.add_user("bob", real_name="Bob Stone", tz="Europe/Berlin")
    general = standin.add_channel("general", members=[ann, bob, bot.lead])
    bot.command(bot.lead, f"schedule security-basics to <#{general}|general> every day")
    bot.tick(MONDAY_0930_BERLIN)
    thread_ts = lesson_post(standin, general)["ts"]
    plain_ts, _ = bot.driver.user_says(ann, general, "I check the sender.", thread_ts=thread_ts)
    best_ts, _ = bot.driver.user_says(
        bob, general, "Hover before you click, always.", thread_ts=thread_ts
    )
    bot.driver.react(ann, general, best_ts, "thumbsup")
    bot.driver.react(bot.lead, general, best_ts, "100")
    bot.driver.react(bob, general, plain_ts, "eyes")
    bot.tick(MONDAY_0930_BERLIN + timedelta(days=1))
    second = lesson_post(standin, general, 1)
    shown = json.dumps(second["blocks"], ensure_ascii=False)
    assert "*From the last discussion*" in shown
    assert "Hover before you click, always." in shown and f"<@{bob}>" in shown


@SLACK_SURFACE
def test_a_lesson_without_a_quiz_opens_its_discussion_on_done(
    bot: Bot, standin: SlackStandIn, ann: str, tmp_path: Any
) -> None:
    from bot.content.loader import load_catalog
    from tests.content.test_checker import make_course
    from tests.support.harness import running_bot

    lessons = tmp_path / "lessons"
    make_course(
        lessons,
        {
            "01-reflect.md": "---\ntitle: Reflect on your week\nobjective: Name one win\n"
            "minutes: 2\ndiscussion: What went well this week?\n---\nHi {{ learner.first_name }}.\n"
        },
        course="habits",
    )
    learning = standin.add_channel("learning", members=[ann])
    with running_bot(
        standin, bot.db.url, lessons=lessons, catalog=load_catalog(lessons).catalog
    ) as other:
        other.command(other.lead, f"schedule habits to <@{ann}> discuss in <#{learning}|learning>")
        other.tick(MONDAY_0930_BERLIN)
        dm = standin.dm_channel(ann)
        assert not any("Join the discussion" in t for t in texts(standin.messages(dm)))
        other.driver.click(ann, lesson_post(standin, dm), channel_id=dm, action_id="lesson_done")
        other.tick()
        [invite] = [t for t in texts(standin.messages(dm)) if "Join the discussion" in t]
        assert "What went well this week?" in invite and f"/archives/{learning}/" in invite


def _rows(bot: Bot, sql: str) -> list[tuple[Any, ...]]:
    with bot.db.read() as session:
        return [tuple(row) for row in session.connection().exec_driver_sql(sql).all()]


def test_only_events_acted_on_are_remembered_and_only_for_slacks_retry_window(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    general = standin.add_channel("general", members=[ann, bot.lead])
    bot.command(bot.lead, f"send security-basics/spot-phishing to <#{general}|general>")
    bot.tick()
    lesson_ts = lesson_post(standin, general)["ts"]
    reply_ts, said = bot.driver.user_says(ann, general, "Hover first.", thread_ts=lesson_ts)
    chat_ts, _ = bot.driver.user_says(bot.lead, general, "Lunch at noon?")
    bot.driver.react(ann, general, chat_ts, "pizza")  # a message that is no lesson reply
    bot.driver.react(ann, general, lesson_ts, "eyes")  # the lesson post itself
    counted = bot.driver.react(bot.lead, general, reply_ts, "thumbsup")
    retried = bot.driver.event(counted.request["event"], event_id=counted.event_id, retry_num=1)
    assert retried.status == 200
    assert _rows(bot, "SELECT reaction_count FROM thread_reply") == [(1,)]
    remembered = {row[0] for row in _rows(bot, "SELECT event_id FROM processed_event")}
    assert remembered == {counted.event_id, said.event_id}  # the reply, and one reaction to it
    bot.tick(bot.clock() + timedelta(minutes=30))  # Slack may still retry: kept
    assert len(_rows(bot, "SELECT id FROM processed_event")) == 2
    bot.tick(bot.clock() + timedelta(hours=1))
    assert _rows(bot, "SELECT id FROM processed_event") == []
    assert _rows(bot, "SELECT reaction_count FROM thread_reply") == [(1,)]
