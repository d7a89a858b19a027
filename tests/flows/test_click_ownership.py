"""A click acts only for the person its lesson was sent to, in the workspace it was sent in."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from bot.content.loader import load_catalog
from bot.storage.answer_reports import AnswerReports
from tests.content.test_checker import make_course
from tests.flows.test_quiz import question, send
from tests.standin import DriverResponse, SlackDriver, SlackStandIn
from tests.support.harness import Bot, running_bot
from tests.support.payloads import post_signed

pytestmark = pytest.mark.sqlite_only(
    "Slack surface: who may click what is decided before any write"
)

SPOT = "security-basics/spot-phishing"  # Q1 single (right: option 1), Q2 multiple, Q3 true/false
OTHER_TEAM = "T0OTHER"


@pytest.fixture
def ann(standin: SlackStandIn) -> str:
    return standin.add_user("ann", real_name="Ann Lee", tz="Europe/Berlin")


@pytest.fixture
def bob(standin: SlackStandIn) -> str:
    return standin.add_user("bob", real_name="Bob Ray", tz="Europe/Berlin")


def lesson_message(standin: SlackStandIn, channel: str) -> dict[str, Any]:
    return [m for m in standin.messages(channel) if str(m["text"]).startswith("New lesson")][-1]


def stored(bot: Bot) -> list[tuple[str, str]]:
    rows = AnswerReports(bot.db).answer_rows(bot.standin.team_id, "security-basics")
    rows += AnswerReports(bot.db).answer_rows(OTHER_TEAM, "security-basics")
    return [(row.user_id, row.choice) for row in rows]


def from_team(driver: SlackDriver, sent: DriverResponse, team_id: str) -> DriverResponse:
    """The same click again, as if from another workspace."""
    payload = copy.deepcopy(sent.request)
    payload["team"]["id"] = team_id
    payload["user"]["team_id"] = team_id
    return post_signed(driver, payload)


def private_notes(standin: SlackStandIn) -> list[str]:
    return [str((r.get("body") or {}).get("text", "")) for r in standin.responses()]


def test_an_answer_click_on_someone_elses_dm_question_is_refused(
    bot: Bot, standin: SlackStandIn, ann: str, bob: str
) -> None:
    send(bot, SPOT, f"<@{ann}>")
    dm = standin.dm_channel(ann)
    q1 = question(standin, dm, 1)
    response = bot.driver.click(bob, q1, channel_id=dm, action_id="answer_1")
    assert response.status == 200
    assert stored(bot) == []
    assert "This question was sent to someone else" in private_notes(standin)[-1]
    assert standin.find_message(dm, q1["ts"]) == q1  # ann's question is untouched
    bot.driver.click(ann, q1, channel_id=dm, action_id="answer_0")
    assert stored(bot) == [(ann, "0")]  # her own answer still counts


def test_an_answer_click_from_another_workspace_is_refused(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    general = standin.add_channel("general", members=[ann])
    send(bot, SPOT, f"<#{general}|general>")
    q1 = question(standin, general, 1)
    first = bot.driver.click(ann, q1, channel_id=general, action_id="answer_1")
    assert stored(bot) == [(ann, "1")]  # any member of the workspace answers a channel post
    again = from_team(bot.driver, first, OTHER_TEAM)
    assert again.status == 200
    assert stored(bot) == [(ann, "1")]
    assert "another workspace" in private_notes(standin)[-1]


def test_done_on_someone_elses_lesson_is_refused(
    bot: Bot, standin: SlackStandIn, ann: str, bob: str
) -> None:
    send(bot, SPOT, f"<@{ann}>")
    dm = standin.dm_channel(ann)
    lesson = lesson_message(standin, dm)
    response = bot.driver.click(bob, lesson, channel_id=dm, action_id="lesson_done")
    assert response.status == 200
    assert "This lesson was sent to someone else" in private_notes(standin)[-1]
    mine = bot.services.reports.progress(team_id=standin.team_id, user_id=bob, now=bot.clock())
    assert mine.lessons_done == 0
    assert standin.find_message(dm, lesson["ts"]) == lesson


def test_done_from_another_workspace_is_refused(bot: Bot, standin: SlackStandIn, ann: str) -> None:
    send(bot, SPOT, f"<@{ann}>")
    dm = standin.dm_channel(ann)
    lesson = lesson_message(standin, dm)
    payload_source = bot.driver.click(ann, lesson, channel_id=dm, action_id="lesson_done")
    assert payload_source.status == 200
    again = from_team(bot.driver, payload_source, OTHER_TEAM)
    assert again.status == 200
    theirs = bot.services.reports.progress(team_id=OTHER_TEAM, user_id=ann, now=bot.clock())
    assert theirs.lessons_done == 0
    assert "another workspace" in private_notes(standin)[-1]


def test_someone_else_cannot_open_or_submit_the_answer_form_of_an_open_question(
    bot: Bot, standin: SlackStandIn, ann: str, bob: str, tmp_path: Path
) -> None:
    lessons = tmp_path / "lessons"
    make_course(
        lessons,
        {
            "01-reflect.md": "---\ntitle: Reflect\nobjective: Name one habit\nminutes: 2\n"
            "quiz:\n  - question: Which habit will you start?\n    kind: open\n---\nHi.\n"
        },
        course="habits",
    )
    catalog = load_catalog(lessons).catalog
    with running_bot(standin, bot.db.url, lessons=lessons, catalog=catalog) as other:
        assert "Sending" in other.command(other.lead, f"send habits/reflect to <@{ann}>")
        other.tick()
        dm = standin.dm_channel(ann)
        q = question(standin, dm, 1)
        other.driver.click(bob, q, channel_id=dm, action_id="answer_open")
        assert standin.open_views(bob) == []
        assert "This question was sent to someone else" in private_notes(standin)[-1]
        other.driver.click(ann, q, channel_id=dm, action_id="answer_open")
        [form] = standin.open_views(ann)
        response = other.driver.submit_view(bob, form, {"answer": {"answer": "Not mine"}})
        assert "sent to someone else" in response.json()["errors"]["answer"]
        assert AnswerReports(other.db).answer_rows(standin.team_id, "habits") == []
