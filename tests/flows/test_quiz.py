"""Quizzes through the stand-in: one-tap answers, instant feedback, stored exactly once."""

from __future__ import annotations

import copy
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.cli import main
from bot.storage.answer_reports import AnswerReports
from bot.storage.learners import LearnerRepository
from tests.standin import DriverResponse, SlackDriver, SlackStandIn
from tests.support.harness import Bot, running_bot

# The tests not marked run on both databases: the statements only they run on PostgreSQL,
# or concurrency, locking and exactly-once that only PostgreSQL can show.
SLACK_SURFACE = pytest.mark.sqlite_only("Slack surface: buttons, forms and feedback in place")

MONDAY_0930_BERLIN = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
SPOT = "security-basics/spot-phishing"  # Q1 single (right: option 1), Q2 multiple, Q3 true/false
MFA = "security-basics/use-mfa-safely"
SCHEDULE = "career-microlearning/schedule-short-sessions"  # Q3 is a poll


@pytest.fixture
def ann(standin: SlackStandIn) -> str:
    return standin.add_user("ann", real_name="Ann Lee", tz="Europe/Berlin")


def send(bot: Bot, lesson: str, target: str) -> None:
    assert "Sending" in bot.command(bot.lead, f"send {lesson} to {target}")
    bot.tick()


def question(standin: SlackStandIn, channel: str, number: int) -> dict[str, Any]:
    found = [
        m for m in standin.messages(channel) if str(m["text"]).startswith(f"Question {number} of")
    ]
    return found[-1]


def replay(driver: SlackDriver, response: DriverResponse, **action: Any) -> DriverResponse:
    """Send the same block_actions again (a Slack retry), optionally with a changed action."""
    payload = copy.deepcopy(response.request)
    payload["actions"][0].update(action)
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = {**driver.sign(body), "Content-Type": "application/x-www-form-urlencoded"}
    return driver.raw_post(body, headers)


def stored(bot: Bot, course: str = "security-basics") -> list[tuple[str, str, bool | None, int]]:
    rows = AnswerReports(bot.db).answer_rows(bot.standin.team_id, course)
    return [(row.user_id, row.choice, row.correct, row.attempt) for row in rows]


def text_of(message: dict[str, Any] | None) -> str:
    assert message is not None
    return json.dumps(message.get("blocks"), ensure_ascii=False)


@SLACK_SURFACE
def test_a_wrong_answer_in_a_dm_is_marked_in_place_with_feedback(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    send(bot, SPOT, f"<@{ann}>")
    dm = standin.dm_channel(ann)
    q1 = question(standin, dm, 1)
    response = bot.driver.click(ann, q1, channel_id=dm, action_id="answer_0")
    assert response.status == 200
    updated = standin.find_message(dm, q1["ts"])
    shown = text_of(updated)
    assert "❌ *Not quite.* You answered *https://login.microsoftonline.com/*." in shown
    assert "The right answer: *https://microsoftonline.com.signin-verify.net/*." in shown
    assert "This is Microsoft’s real sign-in address" in shown  # the option's feedback
    assert "*Why:* Read the host name from the right" in shown  # the explanation
    assert "answer_" not in shown  # the buttons are gone
    assert stored(bot) == [(ann, "0", False, 1)]


def test_answers_are_taken_while_a_slow_command_holds_every_listener_thread(
    standin: SlackStandIn, database_url: str, ann: str
) -> None:
    with running_bot(standin, database_url) as bot:
        send(bot, SPOT, f"<@{ann}>")
        dm = standin.dm_channel(ann)
        bot.driver.click(ann, question(standin, dm, 3), channel_id=dm, action_id="answer_0")
    # As `microlearn serve` runs listeners, with one listener thread, which a lead's report
    # holds while its upload to Slack hangs.
    slow = {"MICROLEARN_LISTENER_THREADS": "1"}
    with running_bot(standin, database_url, env=slow, process_before_response=False) as bot:
        upload = standin.hold("files.getUploadURLExternal")
        try:
            assert bot.driver.command(bot.lead, "report security-basics").status == 200
            assert standin.wait_for(lambda: standin.held("files.getUploadURLExternal") == 1)
            q1 = question(standin, dm, 1)
            response = bot.driver.click(ann, q1, channel_id=dm, action_id="answer_1")
            assert response.status == 200
            assert (ann, "1", True, 1) in stored(bot)
            assert standin.wait_for(lambda: "✅" in text_of(standin.find_message(dm, q1["ts"])))
        finally:
            upload.set()
        assert standin.wait_for(  # the report goes on and finishes (drawing its chart: a few
            # seconds on a loaded machine, with matplotlib's first import)
            lambda: any("are in your DMs" in json.dumps(r) for r in standin.responses()),
            timeout=60,
        )


@SLACK_SURFACE
def test_repeat_clicks_and_retries_change_nothing_and_say_so(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    send(bot, SPOT, f"<@{ann}>")
    dm = standin.dm_channel(ann)
    first = bot.driver.click(ann, question(standin, dm, 1), channel_id=dm, action_id="answer_1")
    assert "✅ *Right!*" in text_of(standin.find_message(dm, question(standin, dm, 1)["ts"]))
    retry = replay(bot.driver, first)  # Slack retrying the same request
    other = replay(
        bot.driver,
        first,
        action_id="answer_0",
        value=first.request["actions"][0]["value"][:-1] + "0",
    )
    assert retry.status == 200 and other.status == 200
    assert stored(bot) == [(ann, "1", True, 1)]  # the first answer, exactly once
    notes = [e["text"] for e in standin.ephemerals(user=ann)]
    assert len(notes) == 2 and all(note == "✅ Right!" for note in notes)
    said = json.dumps([e["blocks"] for e in standin.ephemerals(user=ann)], ensure_ascii=False)
    assert "You already answered this one; your first answer stands." in said


@SLACK_SURFACE
def test_multiple_choice_uses_checkboxes_and_submit(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    send(bot, SPOT, f"<@{ann}>")
    dm = standin.dm_channel(ann)
    q2 = question(standin, dm, 2)
    assert (
        bot.driver.click(ann, q2, channel_id=dm, action_id="answer_choices", selected=["0"]).status
        == 200
    )
    empty = bot.driver.click(ann, q2, channel_id=dm, action_id="answer_submit", selected=[])
    assert empty.status == 200
    assert (
        standin.ephemerals(user=ann)[-1]["text"] == "Tick at least one option, then press Submit."
    )
    lesson = bot.services.catalog.find_lessons(SPOT)[0]
    right = sorted(str(i) for i in lesson.quiz[1].correct_indexes)
    bot.driver.click(ann, q2, channel_id=dm, action_id="answer_submit", selected=right)
    assert "✅ *Right!*" in text_of(standin.find_message(dm, q2["ts"]))
    assert stored(bot) == [(ann, ";".join(right), True, 1)]


@SLACK_SURFACE
def test_a_poll_shows_how_everyone_voted(bot: Bot, standin: SlackStandIn, ann: str) -> None:
    bob = standin.add_user("bob", tz="Europe/Berlin")
    send(bot, SCHEDULE, f"<@{ann}> <@{bob}>")
    for user_id, option in ((ann, "answer_0"), (bob, "answer_1")):
        dm = standin.dm_channel(user_id)
        bot.driver.click(user_id, question(standin, dm, 3), channel_id=dm, action_id=option)
    shown = text_of(
        standin.find_message(
            standin.dm_channel(bob), question(standin, standin.dm_channel(bob), 3)["ts"]
        )
    )
    assert "🗳 *Thanks for voting*" in shown
    assert "*How everyone voted so far*" in shown and "50% " in shown
    assert "✅" not in shown and "❌" not in shown
    rows = stored(bot, "career-microlearning")
    assert [correct for _, _, correct, _ in rows] == [None, None]


def test_in_a_channel_feedback_is_private_and_the_post_counts_answers(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    general = standin.add_channel("general", members=[ann, bot.lead])
    send(bot, SPOT, f"<#{general}|general>")
    q1 = question(standin, general, 1)
    bot.driver.click(ann, q1, channel_id=general, action_id="answer_1")
    [feedback] = standin.ephemerals(channel=general, user=ann)
    assert feedback["text"] == "✅ Right!"
    assert "answer_" in text_of(standin.find_message(general, q1["ts"]))  # others can still answer
    bot.driver.click(bot.lead, q1, channel_id=general, action_id="answer_0")
    assert standin.wait_for(
        lambda: "2 people have answered" in text_of(standin.find_message(general, q1["ts"]))
    )
    assert "Right" not in text_of(
        standin.find_message(general, q1["ts"])
    )  # nobody's result is public


@SLACK_SURFACE
def test_open_answers_go_through_a_form(
    bot: Bot, standin: SlackStandIn, ann: str, tmp_path: Any
) -> None:
    send(bot, "career-microlearning/set-specific-goals", f"<@{ann}>")
    lesson = bot.services.catalog.find_lessons("career-microlearning/set-specific-goals")[0]
    assert all(q.kind.value != "open" for q in lesson.quiz)  # shipped lessons have no open question
    from tests.content.test_checker import make_course  # a course with one open question

    lessons = tmp_path / "lessons"
    make_course(
        lessons,
        {
            "01-reflect.md": "---\ntitle: Reflect\nobjective: Name one habit\nminutes: 2\n"
            "quiz:\n  - question: Which habit will you start?\n    kind: open\n"
            "    explanation: Writing it down makes it likelier.\n---\nHi {{ learner.first_name }}.\n"
        },
        course="habits",
    )
    from bot.content.loader import load_catalog
    from tests.support.harness import running_bot

    with running_bot(
        standin, bot.db.url, lessons=lessons, catalog=load_catalog(lessons).catalog
    ) as other:
        assert "Sending" in other.command(other.lead, f"send habits/reflect to <@{ann}>")
        other.tick()
        dm = standin.dm_channel(ann)
        q = question(standin, dm, 1)
        other.driver.click(ann, q, channel_id=dm, action_id="answer_open")
        [form] = standin.open_views(ann)
        blank = other.driver.submit_view(ann, form, {"answer": {"answer": "  "}})
        assert blank.json()["errors"] == {"answer": "Write an answer first."}
        other.driver.submit_view(ann, form, {"answer": {"answer": "A 10-minute walk after lunch"}})
        shown = text_of(standin.find_message(dm, q["ts"]))
        assert "📝 *Thanks, your answer is saved:*" in shown and "10-minute walk" in shown
        rows = AnswerReports(other.db).answer_rows(standin.team_id, "habits")
        assert [(r.choice, r.correct) for r in rows] == [("A 10-minute walk after lunch", None)]


@SLACK_SURFACE
def test_done_marks_the_lesson_and_progress_shows_it(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    send(bot, SPOT, f"<@{ann}>")
    dm = standin.dm_channel(ann)
    lesson = [m for m in standin.messages(dm) if str(m["text"]).startswith("New lesson")][0]
    bot.driver.click(ann, lesson, channel_id=dm, action_id="lesson_done")
    assert "✓ Done: *Spot a phishing message before you click*. Nice work." in text_of(
        standin.find_message(dm, lesson["ts"])
    )
    bot.driver.click(ann, question(standin, dm, 1), channel_id=dm, action_id="answer_1")
    bot.driver.click(ann, question(standin, dm, 3), channel_id=dm, action_id="answer_0")
    progress = bot.command(ann, "progress")
    assert "• Lessons done: 1" in progress
    assert "• Questions: 1/2 right" in progress
    assert "• Streak: 1 day" in progress


@SLACK_SURFACE
def test_a_missed_question_comes_back_on_a_later_day_until_it_sticks(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    bot.command(ann, "join security-basics")
    bot.tick(MONDAY_0930_BERLIN)
    dm = standin.dm_channel(ann)
    bot.driver.click(ann, question(standin, dm, 1), channel_id=dm, action_id="answer_0")  # wrong
    assert "• Reviews due: 0 (next <!date^" in bot.command(ann, "progress")
    bot.tick(MONDAY_0930_BERLIN + timedelta(hours=3))  # not the same day
    assert not [m for m in standin.messages(dm) if str(m["text"]).startswith("Review")]
    bot.tick(MONDAY_0930_BERLIN + timedelta(days=1))  # Tuesday 09:30, the learner's slot
    reviews = [m for m in standin.messages(dm) if str(m["text"]).startswith("Review: ")]
    assert len(reviews) == 1 and "Which link is most likely" in str(reviews[0]["text"])
    assert "• Reviews due: 1" in bot.command(ann, "progress")
    bot.driver.click(ann, reviews[0], channel_id=dm, action_id="answer_1")  # right this time
    assert "Well remembered" in text_of(standin.find_message(dm, reviews[0]["ts"]))
    assert [(c, a) for _, _, c, a in stored(bot)] == [(False, 1), (True, 2)]
    bot.tick(MONDAY_0930_BERLIN + timedelta(days=2))
    assert len([m for m in standin.messages(dm) if str(m["text"]).startswith("Review: ")]) == 1
    later = [m for m in standin.messages(dm) if str(m["text"]).startswith("Review: ")]
    bot.tick(MONDAY_0930_BERLIN + timedelta(days=7))  # pushed further out, in the slot again
    later = [m for m in standin.messages(dm) if str(m["text"]).startswith("Review: ")]
    assert len(later) == 2


@SLACK_SURFACE
def test_a_lead_gets_a_report_and_the_answers_csv(
    bot: Bot, standin: SlackStandIn, ann: str, tmp_path: Any
) -> None:
    bob = standin.add_user("bob", real_name="Bob Stone", tz="Europe/Berlin")
    send(bot, SPOT, f"<@{ann}> <@{bob}>")
    for user_id, option in ((ann, "answer_1"), (bob, "answer_0")):
        dm = standin.dm_channel(user_id)
        bot.driver.click(user_id, question(standin, dm, 1), channel_id=dm, action_id=option)
    reply = bot.command(bot.lead, "report security-basics")
    assert "*Report: Security basics for everyone* · 2 answers from 2 learners" in reply
    assert "1/2 right (50%)" in reply and "*Hardest questions*" in reply
    uploads = {f["name"]: f for f in standin.files()}
    assert set(uploads) == {
        "security-basics-answers.csv",
        "security-basics-discussion.csv",
        "security-basics-questions.csv",
        "security-basics-report.png",
    }
    upload = uploads["security-basics-answers.csv"]
    assert bytes(upload["bytes"]).startswith(b"\xef\xbb\xbf")  # a byte-order mark for spreadsheets
    rows = list(csv.reader(io.StringIO(bytes(upload["bytes"]).decode("utf-8-sig"), newline="")))
    assert rows[0] == [
        "learner_id",
        "learner_name",
        "course",
        "lesson",
        "question",
        "kind",
        "answer",
        "correct",
        "attempt",
        "answered_at",
    ]
    assert [(r[0], r[1], r[3], r[5], r[7], r[8]) for r in rows[1:]] == [
        (ann, "Ann Lee", "spot-phishing", "single", "true", "1"),
        (bob, "Bob Stone", "spot-phishing", "single", "false", "1"),
    ]
    assert rows[1][6] == "https://microsoftonline.com.signin-verify.net/"
    assert rows[1][9].endswith("Z") and datetime.fromisoformat(rows[1][9]).tzinfo is not None
    out = tmp_path / "answers.csv"
    env_file = tmp_path / ".env"
    env_file.write_text(f"DATABASE_URL={bot.db.url}\nLESSONS_DIR=lessons\n", encoding="utf-8")
    assert main(["--env-file", str(env_file), "report", "security-basics", "--csv", str(out)]) == 0
    assert out.read_bytes() == bytes(upload["bytes"])
    assert "Only leads can" in bot.command(ann, "report security-basics")


@SLACK_SURFACE
def test_people_a_lesson_was_sent_to_are_known_before_they_answer(
    bot: Bot, standin: SlackStandIn
) -> None:
    people = [
        standin.add_user(f"p{n}", real_name=f"Person {n}", tz="Asia/Kolkata") for n in range(3)
    ]
    team = standin.add_usergroup("team", people)
    send(bot, SPOT, f"<!subteam^{team}|@team>")  # the tick posts their DMs by user id
    bot.tick()  # the next one looks up who they are, in the background

    learners = LearnerRepository(bot.db)
    for n, user_id in enumerate(people):
        learner = learners.learner(standin.team_id, user_id)
        assert learner is not None
        assert (learner.name, learner.tz) == (f"Person {n}", "Asia/Kolkata")
        assert learner.dm_channel == standin.dm_channel(user_id)
    standin.reset_calls()
    dm = standin.dm_channel(people[0])
    response = bot.driver.click(
        people[0], question(standin, dm, 1), channel_id=dm, action_id="answer_1"
    )
    assert response.status == 200
    assert standin.calls("users.info") == []  # a click never waits on a profile lookup
    assert stored(bot) == [(people[0], "1", True, 1)]


@SLACK_SURFACE
def test_someone_slack_no_longer_knows_is_looked_up_once_not_every_tick(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    send(bot, SPOT, f"<@{ann}>")
    standin.fail("users.info", "user_not_found")
    bot.tick()
    bot.tick()

    lookups = [c for c in standin.calls("users.info") if c["params"].get("user") == ann]
    assert len(lookups) == 1
    learner = LearnerRepository(bot.db).learner(standin.team_id, ann)
    assert learner is not None and learner.deactivated
