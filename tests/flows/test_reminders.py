"""Reminders for unanswered DM lessons, in working hours, at most N; then the learner pauses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.content.loader import load_catalog
from bot.services.reminders import ReminderService
from bot.storage.auto_pauses import AutoPauseRepository
from bot.storage.enrolments import EnrolmentRepository
from bot.storage.reminders import FollowupRepository
from tests.content.test_checker import make_course
from tests.flows.test_quiz import question, replay
from tests.standin import SlackStandIn
from tests.support.harness import Bot, running_bot

# The tests not marked run on both databases: the statements only they run on PostgreSQL,
# or concurrency, locking and exactly-once that only PostgreSQL can show.
SLACK_SURFACE = pytest.mark.sqlite_only(
    "Slack surface: reminder wording, working hours and pausing"
)

MONDAY_0930_BERLIN = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
DAY = timedelta(days=1)


def reminders(standin: SlackStandIn, user_id: str) -> list[dict[str, Any]]:
    return [m for m in standin.messages(user_id) if str(m["text"]).startswith(":bell: Reminder")]


def lessons(standin: SlackStandIn, user_id: str) -> list[str]:
    return [str(m["text"]) for m in standin.messages(user_id) if "New lesson" in str(m["text"])]


def paused_notes(standin: SlackStandIn, user_id: str) -> list[dict[str, Any]]:
    return [m for m in standin.messages(user_id) if str(m["text"]).startswith(":pause_button:")]


def private_notes(standin: SlackStandIn) -> list[str]:
    return [str((r.get("body") or {}).get("text", "")) for r in standin.responses()]


def status(bot: Bot, user_id: str) -> str:
    enrolments = EnrolmentRepository(bot.db).enrolments(bot.standin.team_id, recipient=user_id)
    return enrolments[0].status


@SLACK_SURFACE
def test_an_ignored_learner_is_reminded_twice_a_lesson_then_paused_told_once_and_may_resume(
    bot: Bot, standin: SlackStandIn
) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    bot.command(ann, "join security-basics")  # weekdays at 09:30, her time
    bot.tick(MONDAY_0930_BERLIN)
    assert len(lessons(standin, ann)) == 1 and reminders(standin, ann) == []
    bot.tick(MONDAY_0930_BERLIN + timedelta(hours=23, minutes=59))
    assert reminders(standin, ann) == []  # not before 24 hours
    bot.tick(MONDAY_0930_BERLIN + DAY)  # Tuesday 09:30: the first reminder, and lesson 2
    first = reminders(standin, ann)
    assert len(first) == 1
    assert "*Spot a phishing message before you click*" in first[0]["text"]
    assert "from *Security basics for everyone*" in first[0]["text"]
    report = bot.command(bot.lead, "report security-basics")
    assert f"reminded and not answering yet: <@{ann}>" in report
    assert "paused after" not in report
    bot.tick(MONDAY_0930_BERLIN + 2 * DAY)  # Wednesday: lesson 1's second, lesson 2's first
    texts = [str(m["text"]) for m in reminders(standin, ann)]
    assert len(texts) == 3
    assert sum("Spot a phishing" in text for text in texts) == 2
    assert [("last reminder" in text) for text in texts] == [False, True, False]
    bot.tick(MONDAY_0930_BERLIN + 3 * DAY)  # Thursday: lesson 1 counts missed
    bot.tick(MONDAY_0930_BERLIN + 4 * DAY)  # Friday: lesson 2 too
    assert status(bot, ann) == "active" and paused_notes(standin, ann) == []
    bot.tick(MONDAY_0930_BERLIN + 7 * DAY)  # Monday: lesson 3 is the third missed in a row
    assert status(bot, ann) == "paused"
    notes = paused_notes(standin, ann)
    assert len(notes) == 1
    assert "last 3 lessons" in notes[0]["text"]
    assert any(
        element.get("action_id") == "resume_enrolment"
        for block in notes[0]["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    )
    report = bot.command(bot.lead, "report security-basics")
    assert f"paused after unanswered lessons: <@{ann}>" in report
    assert "reminded and not answering" not in report  # her open lessons were dropped
    # Nothing more while paused: no lesson, no reminder, no second notice.
    count = (len(lessons(standin, ann)), len(reminders(standin, ann)))
    assert count[0] == 5  # Monday to Friday; the second Monday's lesson 6 never went out
    for day in (8, 9, 10, 14):
        bot.tick(MONDAY_0930_BERLIN + day * DAY)
    assert (len(lessons(standin, ann)), len(reminders(standin, ann))) == count
    assert len(paused_notes(standin, ann)) == 1
    # Per lesson at most two reminders, each once.
    per_lesson = [str(m["text"]).split("*")[1] for m in reminders(standin, ann)]
    assert max(per_lesson.count(title) for title in per_lesson) == 2

    # Resume works only for its learner and starts the count afresh (once a flow of its own,
    # which paused her the same way a week earlier).
    bob = standin.add_user("bob", tz="Europe/Berlin")
    note = notes[0]
    dm = standin.dm_channel(ann)
    refused = bot.driver.click(bob, note, channel_id=dm, action_id="resume_enrolment")
    assert refused.status == 200
    assert "sent to someone else" in private_notes(standin)[-1]
    assert status(bot, ann) == "paused"
    forged = replay(bot.driver, refused, value="x1")
    assert forged.status == 200 and "out of date" in private_notes(standin)[-1]
    bot.clock.set(MONDAY_0930_BERLIN + 14 * DAY + timedelta(hours=2))  # Monday 11:30
    bot.driver.click(ann, note, channel_id=dm, action_id="resume_enrolment")
    assert private_notes(standin)[-1].startswith(":arrow_forward: Welcome back!")
    assert status(bot, ann) == "active"
    again = bot.driver.click(ann, note, channel_id=dm, action_id="resume_enrolment")
    assert again.status == 200 and "running" in private_notes(standin)[-1]
    before = len(lessons(standin, ann))
    bot.tick(MONDAY_0930_BERLIN + 15 * DAY)  # Tuesday: the lesson that waited comes
    assert len(lessons(standin, ann)) == before + 1
    # Earlier misses are forgiven: one more miss does not pause her again.
    for day in (16, 17, 18):
        bot.tick(MONDAY_0930_BERLIN + day * DAY)
    assert status(bot, ann) in ("active", "finished")
    assert len(paused_notes(standin, ann)) == 1


@SLACK_SURFACE
def test_no_reminder_after_an_answer(bot: Bot, standin: SlackStandIn) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    cid = standin.add_user("cid", tz="Europe/Berlin")
    bot.command(ann, "join security-basics")
    bot.command(cid, "join security-basics")
    bot.tick(MONDAY_0930_BERLIN)
    dm = standin.dm_channel(ann)
    bot.driver.click(ann, question(standin, dm, 1), channel_id=dm, action_id="answer_0")
    bot.tick(MONDAY_0930_BERLIN + DAY)
    assert reminders(standin, ann) == []  # one answer is enough
    assert len(reminders(standin, cid)) == 1


@pytest.fixture
def no_quiz_bot(standin: SlackStandIn, database_url: str, tmp_path: Path) -> Iterator[Bot]:
    folder = tmp_path / "lessons"
    make_course(
        folder,
        {
            f"0{n}-read-{n}.md": f"---\ntitle: Read {n}\nobjective: Read it\nminutes: 2\n---\nHi.\n"
            for n in range(1, 4)
        },
    )
    catalog = load_catalog(folder).catalog
    env = {"MICROLEARN_REMIND_HOURS": "1.5", "MICROLEARN_REMINDERS": "1"}
    with running_bot(standin, database_url, catalog=catalog, lessons=folder, env=env) as bot:
        yield bot


@SLACK_SURFACE
def test_a_lesson_without_a_quiz_is_settled_by_done_and_hours_may_be_decimal(
    no_quiz_bot: Bot, standin: SlackStandIn
) -> None:
    bot = no_quiz_bot
    ann = standin.add_user("ann", tz="Europe/Berlin")
    bob = standin.add_user("bob", tz="Europe/Berlin")
    bot.command(ann, "join phish")
    bot.command(bob, "join phish")
    bot.tick(MONDAY_0930_BERLIN)
    dm = standin.dm_channel(ann)
    lesson = [m for m in standin.messages(dm) if "New lesson" in str(m["text"])][-1]
    bot.driver.click(ann, lesson, channel_id=dm, action_id="lesson_done")
    bot.tick(MONDAY_0930_BERLIN + timedelta(hours=1, minutes=29))
    assert reminders(standin, bob) == []
    bot.tick(MONDAY_0930_BERLIN + timedelta(hours=1, minutes=30))  # 11:00
    assert len(reminders(standin, bob)) == 1
    assert "press ✓ Done once you've read it" in reminders(standin, bob)[0]["text"]
    assert "last reminder" in reminders(standin, bob)[0]["text"]
    assert reminders(standin, ann) == []
    bot.tick(MONDAY_0930_BERLIN + timedelta(hours=6))
    assert len(reminders(standin, bob)) == 1  # at most MICROLEARN_REMINDERS=1


@SLACK_SURFACE
def test_reminders_keep_to_the_learners_zone_and_skip_days_their_drip_skips(
    bot: Bot, standin: SlackStandIn
) -> None:
    friday_0930_kolkata = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
    friday_0930_berlin = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
    bot.clock.set(friday_0930_kolkata - timedelta(hours=20))  # Thursday afternoon in both
    ravi = standin.add_user("ravi", tz="Asia/Kolkata")
    ann = standin.add_user("ann", tz="Europe/Berlin")
    bot.command(ravi, "join security-basics")  # weekdays at 09:30, each their own time
    bot.command(ann, "join security-basics")
    bot.tick(friday_0930_kolkata)
    bot.tick(friday_0930_berlin)
    assert len(lessons(standin, ravi)) == len(lessons(standin, ann)) == 1
    for instant in (
        friday_0930_kolkata + DAY,  # Saturday, 24 hours on: the drip skips weekends
        friday_0930_berlin + DAY,
        friday_0930_berlin + timedelta(days=2, hours=3),  # Sunday
        friday_0930_kolkata + timedelta(days=3, minutes=-1),  # Monday 09:29 in Kolkata
    ):
        bot.tick(instant)
        assert reminders(standin, ravi) == reminders(standin, ann) == []
    bot.tick(friday_0930_kolkata + 3 * DAY)  # Monday 09:30 in Kolkata, 05:00 in Berlin
    assert len(reminders(standin, ravi)) == 1
    assert reminders(standin, ann) == []  # not before her slot, never at night
    bot.tick(friday_0930_berlin + 3 * DAY - timedelta(minutes=1))
    assert reminders(standin, ann) == []
    bot.tick(friday_0930_berlin + 3 * DAY)
    assert len(reminders(standin, ann)) == len(reminders(standin, ravi)) == 1


@SLACK_SURFACE
def test_each_reminder_is_sent_once_across_retries_restarts_and_a_failed_post(
    bot: Bot, standin: SlackStandIn
) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    bot.command(ann, "join security-basics")
    bot.tick(MONDAY_0930_BERLIN)
    tuesday = MONDAY_0930_BERLIN + DAY
    # Two processes (or a restarted one) decide the same due follow-up at the same instant.
    other = ReminderService(
        repository=FollowupRepository(bot.db),
        pauses=AutoPauseRepository(bot.db),
        hours=24,
        limit=2,
        pause_after=3,
    )
    assert other.follow_up(now=tuesday).reminded == 1
    assert bot.services.reminders.follow_up(now=tuesday).reminded == 0
    standin.fail("chat.postMessage", "internal_error")  # Slack may or may not have it
    bot.tick(tuesday)
    bot.tick(tuesday + timedelta(minutes=10))
    bot.tick(tuesday + timedelta(hours=1))
    assert len(reminders(standin, ann)) == 1


def test_learn_resume_also_resumes_a_course_that_paused_itself(
    bot: Bot, standin: SlackStandIn
) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    bot.command(ann, "join security-basics")
    for day in (0, 1, 2, 3, 4, 7):
        bot.tick(MONDAY_0930_BERLIN + day * DAY)
    assert status(bot, ann) == "paused"
    assert bot.command(ann, "resume").startswith(":arrow_forward: Resumed. Your next lesson comes")
    assert status(bot, ann) == "active"
    assert len(paused_notes(standin, ann)) == 1


def test_a_snoozed_learner_is_reminded_only_after_the_snooze(
    bot: Bot, standin: SlackStandIn
) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    bot.command(ann, "join security-basics")
    bot.tick(MONDAY_0930_BERLIN)
    assert bot.command(ann, "snooze 2").startswith(":zzz:")  # until Wednesday 00:00
    bot.tick(MONDAY_0930_BERLIN + DAY)
    assert reminders(standin, ann) == []
    bot.tick(MONDAY_0930_BERLIN + 2 * DAY)  # Wednesday 09:30, her first working time after it
    assert len(reminders(standin, ann)) == 1


@pytest.fixture
def quick_bot(standin: SlackStandIn, database_url: str) -> Iterator[Bot]:
    env = {
        "MICROLEARN_REMIND_HOURS": "1",
        "MICROLEARN_REMINDERS": "0",
        "MICROLEARN_AUTO_PAUSE_AFTER": "2",
    }
    with running_bot(standin, database_url, env=env) as bot:
        yield bot


@SLACK_SURFACE
def test_misses_before_a_leads_resume_no_longer_count(
    quick_bot: Bot, standin: SlackStandIn
) -> None:
    bot = quick_bot
    ann = standin.add_user("ann", tz="Europe/Berlin")
    bot.command(ann, "join security-basics")
    for day in (0, 1):  # no reminders; each lesson counts missed an hour after it came
        bot.tick(MONDAY_0930_BERLIN + day * DAY)
        bot.tick(MONDAY_0930_BERLIN + day * DAY + timedelta(hours=1))
    assert reminders(standin, ann) == []
    assert status(bot, ann) == "paused" and len(paused_notes(standin, ann)) == 1
    drip = EnrolmentRepository(bot.db).enrolments(standin.team_id, recipient=ann)[0].drip_id
    assert "resumed" in bot.command(bot.lead, f"resume {drip}")
    bot.tick(MONDAY_0930_BERLIN + 2 * DAY)
    bot.tick(MONDAY_0930_BERLIN + 2 * DAY + timedelta(hours=1))
    assert status(bot, ann) == "active"  # one miss since the pause, not two
    bot.tick(MONDAY_0930_BERLIN + 3 * DAY)
    bot.tick(MONDAY_0930_BERLIN + 3 * DAY + timedelta(hours=1))
    assert status(bot, ann) == "paused" and len(paused_notes(standin, ann)) == 2
