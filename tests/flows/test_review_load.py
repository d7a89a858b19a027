"""Review load: a few questions a day, most overdue first, in one Review message; snooze holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.storage.answer_reports import AnswerReports
from tests.flows.test_quiz import question, replay
from tests.standin import SlackStandIn
from tests.support.harness import Bot, running_bot

# The tests not marked run on both databases: the statements only they run on PostgreSQL,
# or concurrency, locking and exactly-once that only PostgreSQL can show.
SLACK_SURFACE = pytest.mark.sqlite_only("Slack surface: the Review message")

MONDAY_0930_BERLIN = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
DAY = timedelta(days=1)
SPOT = "security-basics/spot-phishing"  # Q1 single (right: option 1), Q2 multiple, Q3 true/false


@pytest.fixture
def bot(standin: SlackStandIn, database_url: str, shipped_lessons: None) -> Iterator[Bot]:
    env = {"MICROLEARN_REVIEWS_PER_DAY": "2", "MICROLEARN_REMINDERS": "0"}
    with running_bot(standin, database_url, env=env) as running:
        yield running


def reviews(standin: SlackStandIn, channel: str) -> list[dict[str, Any]]:
    return [m for m in standin.messages(channel) if str(m["text"]).startswith("Review: ")]


def items(message: dict[str, Any]) -> list[str]:
    """The answer refs of the open questions of a Review message, in order."""
    refs = []
    for block in message["blocks"]:
        for element in block.get("elements") or []:
            value = str(element.get("value") or "")
            if element.get("type") == "button" and value and value.split(":")[0] not in refs:
                refs.append(value.split(":")[0])
    return refs


def answers(bot: Bot) -> list[tuple[str, bool | None, int, int]]:
    rows = AnswerReports(bot.db).answer_rows(bot.standin.team_id, "security-basics")
    return [(row.lesson, row.correct, row.position, row.attempt) for row in rows]


def wrong_on_every_question(bot: Bot, standin: SlackStandIn, user_id: str) -> None:
    dm = standin.dm_channel(user_id)
    bot.driver.click(user_id, question(standin, dm, 1), channel_id=dm, action_id="answer_0")
    lesson = bot.services.catalog.find_lessons(SPOT)[0]
    wrong = [str(i) for i in range(4) if i not in lesson.quiz[1].correct_indexes][:1]
    bot.driver.click(
        user_id, question(standin, dm, 2), channel_id=dm, action_id="answer_submit", selected=wrong
    )
    q3_wrong = next(i for i in range(2) if i not in lesson.quiz[2].correct_indexes)
    bot.driver.click(
        user_id, question(standin, dm, 3), channel_id=dm, action_id=f"answer_{q3_wrong}"
    )


def test_a_days_reviews_come_capped_most_overdue_first_in_one_message(
    bot: Bot, standin: SlackStandIn
) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    bot.command(ann, "join security-basics")
    bot.tick(MONDAY_0930_BERLIN)
    dm = standin.dm_channel(ann)
    wrong_on_every_question(bot, standin, ann)  # three cards, all due Tuesday 09:30
    quiz = bot.services.catalog.find_lessons(SPOT)[0].quiz
    bot.tick(MONDAY_0930_BERLIN + DAY)
    (tuesday,) = reviews(standin, dm)  # one message, not one per question
    refs = items(tuesday)
    assert len(refs) == 2  # MICROLEARN_REVIEWS_PER_DAY=2
    assert refs[0].split(".")[0] == refs[1].split(".")[0]  # one delivery: one message
    assert len(tuesday["blocks"]) <= 50
    bot.tick(MONDAY_0930_BERLIN + DAY + timedelta(hours=3))
    assert len(reviews(standin, dm)) == 1  # the third waits: today's cap is reached
    # Answer the first question in place: the second keeps its buttons.
    first = bot.driver.click(
        ann, tuesday, channel_id=dm, action_id="answer_0", value=f"{refs[0]}:0"
    )
    updated = standin.find_message(dm, tuesday["ts"])
    assert updated is not None
    assert items(updated) == refs[1:]
    shown = str(updated["blocks"])
    assert "❌ *Not quite.*" in shown and "It will come back in a few days" in shown
    assert replay(bot.driver, first, value=f"{refs[0]}:1").status == 200  # a second click
    # Each answer stored once, as the review's attempt, and it feeds spaced repetition.
    assert answers(bot).count(("spot-phishing", False, 1, 2)) == 1
    assert len(answers(bot)) == 4
    bot.tick(MONDAY_0930_BERLIN + 2 * DAY)  # Wednesday: Q3, waiting since Tuesday, comes first
    wednesday = reviews(standin, dm)[-1]
    assert len(reviews(standin, dm)) == 2
    assert str(wednesday["text"]).startswith("Review: " + quiz[2].text[:25])


def test_a_snoozed_learner_gets_no_reviews_and_their_dates_move_on_by_the_snooze(
    bot: Bot, standin: SlackStandIn
) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    bot.command(ann, "join security-basics")
    bot.tick(MONDAY_0930_BERLIN)
    dm = standin.dm_channel(ann)
    wrong_on_every_question(bot, standin, ann)  # due Tuesday 09:30
    assert bot.command(ann, "snooze 3").startswith(":zzz: Snoozed for 3 days")
    for day in (1, 2, 3):  # Tuesday to Thursday: nothing; the snooze ended Thursday 00:00
        bot.tick(MONDAY_0930_BERLIN + day * DAY)
    assert reviews(standin, dm) == []
    bot.tick(MONDAY_0930_BERLIN + 4 * DAY)  # Friday: Tuesday's reviews, three days on
    (friday,) = reviews(standin, dm)
    assert len(items(friday)) == 2  # still at most the daily cap


@SLACK_SURFACE
def test_a_question_missed_minutes_after_the_lesson_comes_back_the_next_day(
    bot: Bot, standin: SlackStandIn
) -> None:
    """FSRS counts in days: "in a day" is the next day's slot, even when the answer came a few
    minutes after this morning's slot (its due instant is then minutes past tomorrow's slot)."""
    ann = standin.add_user("ann", tz="Europe/Berlin")
    bot.command(ann, "join security-basics")
    bot.tick(MONDAY_0930_BERLIN)
    dm = standin.dm_channel(ann)
    bot.clock.set(MONDAY_0930_BERLIN + timedelta(minutes=7))  # read the lesson, then answered
    wrong_on_every_question(bot, standin, ann)
    bot.tick(MONDAY_0930_BERLIN + DAY - timedelta(minutes=1))
    assert reviews(standin, dm) == []  # not before Tuesday's slot
    bot.tick(MONDAY_0930_BERLIN + DAY)
    assert len(reviews(standin, dm)) == 1  # Tuesday 09:30, not Wednesday
