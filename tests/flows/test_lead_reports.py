"""A lead's report covers the learners their own drips and sends reached, with a chart."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.content.loader import load_catalog
from tests.content.test_checker import make_course
from tests.standin import SlackStandIn
from tests.support.harness import Bot, running_bot

pytestmark = pytest.mark.sqlite_only("Slack surface: report replies, the PNG and CSV uploads")

BOM = b"\xef\xbb\xbf"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
QUESTIONS_HEADER = (
    "course,lesson,question,kind,answered,first_try_right,first_try_accuracy,option,"
    "option_picks,option_pick_rate,discrimination"
)
LESSON = """\
---
title: Pick a habit
objective: Choose one habit to start
minutes: 2
quiz:
  - question: Which habit sticks best?
    options:
      - text: A small daily one
        correct: true
      - text: A big weekly one
      - text: None at all
---
Hi {{ learner.first_name }}.
"""


@dataclass
class Team:
    bot: Bot
    ann: str  # a lead who sends the lesson to her two people
    bob: str  # a lead who schedules a drip to his one
    learners: dict[str, str]


def question(bot: Bot, user: str) -> dict[str, Any]:
    channel = bot.standin.dm_channel(user)
    return [m for m in bot.standin.messages(channel) if str(m["text"]).startswith("Question 1")][-1]


def answer(bot: Bot, user: str, option: int) -> None:
    channel = bot.standin.dm_channel(user)
    bot.driver.click(user, question(bot, user), channel_id=channel, action_id=f"answer_{option}")


def report(bot: Bot, user: str, text: str) -> tuple[str, dict[str, bytes], dict[str, Any]]:
    """The reply's text, the files uploaded for it by name, and the reply's body."""
    before = len(bot.standin.files())
    reply = bot.command(user, text)
    body = bot.standin.responses()[-1]["body"]
    uploads = {f["name"]: bytes(f["bytes"]) for f in bot.standin.files()[before:]}
    return reply, uploads, body


def learners_in(data: bytes) -> set[str]:
    assert data.startswith(BOM)
    rows = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    return {row["learner_id"] for row in rows}


@pytest.fixture
def team(standin: SlackStandIn, database_url: str, tmp_path: Path) -> Iterator[Team]:
    lessons = tmp_path / "lessons"
    make_course(lessons, {"01-pick.md": LESSON}, course="habits")
    ann = standin.add_user("ann", real_name="Ann Lead", tz="Europe/Berlin")
    bob = standin.add_user("bob", real_name="Bob Lead", tz="America/New_York")
    learners = {
        name: standin.add_user(name, real_name=name.title(), tz="Europe/Berlin")
        for name in ("cat", "dan", "eve")
    }
    catalog = load_catalog(lessons).catalog
    with running_bot(standin, database_url, lessons=lessons, catalog=catalog) as bot:
        assert "now a lead" in bot.command(bot.lead, f"leads add <@{ann}> <@{bob}>")
        cat, dan, eve = learners.values()
        assert "Sending" in bot.command(ann, f"send habits/pick to <@{cat}> <@{dan}>")
        assert "scheduled" in bot.command(bob, f"schedule habits to <@{eve}> every day at 09:30")
        bot.tick()
        bot.tick(datetime(2026, 11, 23, 8, 31, tzinfo=UTC))  # 09:31 in Berlin: Eve's lesson
        answer(bot, cat, 0)  # right, on Monday
        answer(bot, eve, 2)  # wrong
        bot.clock.set(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
        answer(bot, dan, 1)  # wrong, on Tuesday
        yield Team(bot, ann, bob, learners)


def test_a_lead_sees_only_their_own_learners_and_an_admin_sees_everyone(team: Team) -> None:
    bot, (cat, dan, eve) = team.bot, team.learners.values()
    reply, ann_files, _ = report(bot, team.ann, "report habits")
    assert "Covers the learners your drips and sends reached" in reply
    assert learners_in(ann_files["habits-answers.csv"]) == {cat, dan}
    _, bob_files, _ = report(bot, team.bob, "report habits")
    assert learners_in(bob_files["habits-answers.csv"]) == {eve}
    reply, admin_files, _ = report(bot, bot.lead, "report habits")
    assert "Covers everyone's learners" in reply
    assert learners_in(admin_files["habits-answers.csv"]) == {cat, dan, eve}


def test_for_and_since_narrow_a_report(team: Team) -> None:
    bot, (cat, dan, _eve) = team.bot, team.learners.values()
    reply, files, _ = report(bot, team.ann, f"report habits for <@{dan}|dan>")
    assert "among @dan" in reply
    assert learners_in(files["habits-answers.csv"]) == {dan}
    reply, files, _ = report(bot, team.ann, "report habits since 2026-11-24")
    assert "since 2026-11-24" in reply
    assert learners_in(files["habits-answers.csv"]) == {dan}  # Cat answered on Monday
    _, files, _ = report(bot, bot.lead, f"report habits for <@{cat}> since 2026-11-23")
    assert learners_in(files["habits-answers.csv"]) == {cat}
    assert "is not a date" in bot.command(team.ann, "report habits since last week")
    assert "/learn report <course> [for <targets>]" in bot.command(team.ann, "report habits for")


def test_the_report_uploads_a_wide_png_shown_inline_and_the_questions_csv(team: Team) -> None:
    bot = team.bot
    reply, files, body = report(bot, team.ann, "report habits")
    chart = files["habits-report.png"]
    assert chart.startswith(PNG_SIGNATURE) and chart[12:16] == b"IHDR"
    width, height = int.from_bytes(chart[16:20], "big"), int.from_bytes(chart[20:24], "big")
    assert width >= 1000 and height > 0
    [uploaded] = [f for f in bot.standin.files() if f["name"] == "habits-report.png"]
    images = [b for b in body["blocks"] if b["type"] == "image"]
    assert images == [
        {"type": "image", "slack_file": {"id": uploaded["id"]}, "alt_text": images[0]["alt_text"]}
    ]
    assert "`habits-report.png`" in reply and "Completion per lesson" in reply  # text alone reads
    questions = files["habits-questions.csv"]
    assert questions.startswith(BOM)
    rows = list(csv.reader(io.StringIO(questions.decode("utf-8-sig"), newline="")))
    assert ",".join(rows[0]) == QUESTIONS_HEADER
    picks = {row[7]: (row[4], row[5], row[8], row[9]) for row in rows[1:]}
    assert picks == {
        "A small daily one": ("2", "1", "1", "0.500"),
        "A big weekly one": ("2", "1", "1", "0.500"),
        "None at all": ("2", "1", "0", "0.000"),
    }


def test_lessons_stats_prints_the_question_analysis(team: Team, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"DATABASE_URL={team.bot.db.url}\nLESSONS_DIR={tmp_path / 'lessons'}\n", encoding="utf-8"
    )
    out = io.StringIO()
    assert main(["--env-file", str(env_file), "lessons", "stats", "habits"], out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0] == "Spot the phish (habits): question analysis, first tries only"
    [row] = [line for line in lines if line.startswith("pick Q1")]
    assert row.split() == ["pick", "Q1", "single", "3", "1", "33", "%"]
    assert any("None at all" in line and " 1 picked   33 %" in line for line in lines)  # Eve
    assert "No flags" in out.getvalue()  # three first tries are too few to flag
    assert main(["--env-file", str(env_file), "lessons", "stats", "nope"], out=out) == 1
