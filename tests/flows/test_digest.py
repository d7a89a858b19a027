"""The weekly digest: once per lead per week at 09:00 their time, across restarts and zones."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import ConfigError, settings_from
from bot.content.loader import load_catalog
from bot.domain.lesson import Catalog
from bot.storage.enrolments import EnrolmentRepository
from tests.content.test_checker import make_course
from tests.standin import SlackStandIn
from tests.support.harness import Bot, running_bot

# The tests not marked run on both databases: the statements only they run on PostgreSQL,
# or concurrency, locking and exactly-once that only PostgreSQL can show.
SLACK_SURFACE = pytest.mark.sqlite_only(
    "Slack surface: the digest's timing, wording and chart upload"
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MONDAY = datetime(2026, 11, 23, 8, 31, tzinfo=UTC)  # 09:31 in Berlin: lesson 1 goes out
TUESDAY = datetime(2026, 11, 24, 8, 31, tzinfo=UTC)
NEXT_MONDAY_0859_BERLIN = datetime(2026, 11, 30, 7, 59, tzinfo=UTC)
NEXT_MONDAY_0900_BERLIN = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
NEXT_MONDAY_0900_NEW_YORK = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
MONDAY_AFTER_0900_BERLIN = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def lesson(title: str, question: str, discussion: str = "") -> str:
    talk = f"discussion: {discussion}\n" if discussion else ""
    return f"""\
---
title: {title}
objective: Try it
minutes: 2
{talk}quiz:
  - question: {question}
    options:
      - text: "Yes"
        correct: true
      - text: "No"
---
Hi {{{{ learner.first_name }}}}.
"""


@dataclass
class Team:
    standin: SlackStandIn
    database_url: str
    lessons: Path
    catalog: Catalog
    ann: str  # lead in Berlin: Cat, Dan and Fay
    bob: str  # lead in New York: Eve
    people: dict[str, str]
    learning: str


@pytest.fixture
def team(standin: SlackStandIn, database_url: str, tmp_path: Path) -> Team:
    lessons = tmp_path / "lessons"
    make_course(
        lessons,
        {
            "01-start.md": lesson("Start small", "Is small better?", "What will you start?"),
            "02-keep.md": lesson("Keep going", "Do cues help?"),
            "03-last.md": lesson("Look back", "Did it stick?"),
        },
        course="habits",
    )
    ann = standin.add_user("ann", real_name="Ann Lead", tz="Europe/Berlin")
    bob = standin.add_user("bob", real_name="Bob Lead", tz="America/New_York")
    people = {
        name: standin.add_user(name, real_name=f"{name.title()} Learner", tz="Europe/Berlin")
        for name in ("cat", "dan", "eve", "fay")
    }
    learning = standin.add_channel("learning", members=[ann, *people.values()])
    catalog = load_catalog(lessons).catalog
    return Team(standin, database_url, lessons, catalog, ann, bob, people, learning)


@pytest.fixture
def bot(team: Team) -> Iterator[Bot]:
    with running_bot(
        team.standin, team.database_url, lessons=team.lessons, catalog=team.catalog
    ) as bot:
        yield bot


def answer(bot: Bot, user: str, option: int) -> None:
    """Answer the latest lesson's question."""
    dm = bot.standin.dm_channel(user)
    question = [m for m in bot.standin.messages(dm) if str(m["text"]).startswith("Question 1")][-1]
    bot.driver.click(user, question, channel_id=dm, action_id=f"answer_{option}")


def digests(standin: SlackStandIn, lead: str) -> list[dict[str, Any]]:
    dm = standin.dm_channel(lead)
    return [
        f for f in standin.files() if f["channel"] == dm and str(f["name"]).startswith("digest-")
    ]


def a_week_of_learning(bot: Bot, team: Team) -> None:
    """Ann drips to Cat, Dan and Fay (discussing in #learning), Bob to Eve; a week goes by."""
    cat, dan, eve, fay = team.people.values()
    assert "now a lead" in bot.command(bot.lead, f"leads add <@{team.ann}> <@{team.bob}>")
    reply = bot.command(
        team.ann,
        f"schedule habits to <@{cat}> <@{dan}> <@{fay}> every day at 09:30 "
        f"discuss in <#{team.learning}|learning>",
    )
    assert "scheduled" in reply
    assert "scheduled" in bot.command(team.bob, f"schedule habits to <@{eve}> every day at 09:30")
    bot.tick()
    bot.tick(MONDAY)
    answer(bot, cat, 0)  # right
    answer(bot, eve, 1)  # wrong
    [thread] = bot.standin.messages(team.learning)
    reply_ts, _ = bot.driver.user_says(
        cat, team.learning, "Two minutes a day", thread_ts=str(thread["ts"])
    )
    bot.driver.react(dan, team.learning, reply_ts, "fire")
    enrolments = EnrolmentRepository(bot.db)
    [fays] = enrolments.enrolments(
        team.standin.team_id, recipient=fay, statuses=("active", "waiting")
    )
    enrolments.pause(fays.id, position=None)  # as auto-pause would
    bot.tick(TUESDAY)
    answer(bot, cat, 1)  # wrong at the first try


@SLACK_SURFACE
def test_each_lead_gets_one_digest_at_nine_on_monday_their_time_and_a_restart_sends_none_again(
    bot: Bot, team: Team
) -> None:
    """One week: Ann's digest at 09:00 Berlin; then the bot restarts (as after a deploy) before
    Bob's 09:00 in New York: the restarted bot sends Bob's, not Ann's again, and next week's."""
    a_week_of_learning(bot, team)
    bot.tick(NEXT_MONDAY_0859_BERLIN)
    assert digests(team.standin, team.ann) == []
    bot.tick(NEXT_MONDAY_0900_BERLIN)
    bot.tick()  # a second tick sends nothing more
    [sent] = digests(team.standin, team.ann)
    assert digests(team.standin, team.bob) == []  # 03:00 in New York
    assert sent["name"] == "digest-2026-11-30.png"
    chart = bytes(sent["bytes"])
    assert chart.startswith(PNG_SIGNATURE) and int.from_bytes(chart[16:20], "big") >= 1000
    text = str(sent["initial_comment"])
    assert "Active learners: 1 (the week before: 0)" in text  # Cat; Eve is Bob's
    assert "Lessons done: 2" in text
    assert "First-try accuracy: 50 %" in text
    assert "Hardest question this week: “Do cues help?”" in text
    assert "Paused: Fay Learner" in text
    assert "Lessons unanswered for 3+ days: Dan Learner" in text
    assert "Best-received reply: “Two minutes a day” by Cat Learner (1 reaction)" in text

    with running_bot(
        team.standin, team.database_url, lessons=team.lessons, catalog=team.catalog
    ) as again:
        again.tick(NEXT_MONDAY_0900_BERLIN)
        assert len(digests(team.standin, team.ann)) == 1
        again.tick(NEXT_MONDAY_0900_NEW_YORK)
        [bobs] = digests(team.standin, team.bob)
        assert "Active learners: 1" in str(bobs["initial_comment"])
        assert "Hardest question this week: “Is small better?”" in str(bobs["initial_comment"])
        assert len(digests(team.standin, team.ann)) == 1
        again.tick(MONDAY_AFTER_0900_BERLIN)
        names = [f["name"] for f in digests(team.standin, team.ann)]
        assert names == ["digest-2026-11-30.png", "digest-2026-12-07.png"]


def test_a_lost_upload_answer_is_found_not_sent_again_and_an_ex_lead_gets_no_digest(
    bot: Bot, team: Team
) -> None:
    """Two checks on one week of learning (once two flows building it each): Ann's digest whose
    upload answer was lost is found, not sent again; Bob, no longer a lead, gets none."""
    a_week_of_learning(bot, team)
    assert "no longer a lead" in bot.command(bot.lead, f"leads remove <@{team.bob}>")
    # Slack shares the file, then the connection drops before its answer arrives.
    team.standin.lose_answer("files.completeUploadExternal", how="drop")
    bot.tick(NEXT_MONDAY_0900_BERLIN)
    assert len(digests(team.standin, team.ann)) == 1  # Slack has it; the bot cannot know
    for minutes in (5, 30, 120):
        bot.tick(NEXT_MONDAY_0900_BERLIN + timedelta(minutes=minutes))
    assert len(digests(team.standin, team.ann)) == 1  # looked for it, found it, not again
    bot.tick(NEXT_MONDAY_0900_NEW_YORK)
    assert digests(team.standin, team.bob) == []
    assert len(digests(team.standin, team.ann)) == 1


@SLACK_SURFACE
def test_a_digest_too_late_waits_for_next_week_and_off_sends_none(team: Team) -> None:
    env = {"MICROLEARN_DIGEST": "off"}
    with running_bot(
        team.standin, team.database_url, lessons=team.lessons, catalog=team.catalog, env=env
    ) as bot:
        a_week_of_learning(bot, team)
        bot.tick(NEXT_MONDAY_0900_BERLIN)
        assert digests(team.standin, team.ann) == []
    with running_bot(
        team.standin, team.database_url, lessons=team.lessons, catalog=team.catalog
    ) as bot:
        bot.tick(datetime(2026, 12, 2, 8, 0, tzinfo=UTC))  # Wednesday: two days late
        assert digests(team.standin, team.ann) == []


@SLACK_SURFACE
def test_learn_digest_shows_a_lead_their_digest_privately_now(bot: Bot, team: Team) -> None:
    a_week_of_learning(bot, team)
    bot.clock.set(NEXT_MONDAY_0859_BERLIN)
    reply = bot.command(team.ann, "digest")
    assert "*Your weekly digest*" in reply and "Paused: Fay Learner" in reply
    assert bot.standin.responses()[-1]["body"]["response_type"] == "ephemeral"
    assert [f["name"] for f in digests(team.standin, team.ann)] == ["digest-2026-11-30.png"]
    cat = team.people["cat"]
    assert bot.command(cat, "digest").startswith(":no_entry_sign: Only leads can get a digest")
    bot.tick(NEXT_MONDAY_0900_BERLIN)  # the weekly one still comes
    assert len(digests(team.standin, team.ann)) == 2


@SLACK_SURFACE
def test_microlearn_digest_sends_a_lead_s_digest_now_once_a_day(
    bot: Bot, team: Team, tmp_path: Path
) -> None:
    a_week_of_learning(bot, team)
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"SLACK_BOT_TOKEN={team.standin.bot_token}\nSLACK_API_URL={team.standin.api_url}\n"
        f"DATABASE_URL={bot.db.url}\nLESSONS_DIR={team.lessons}\n",
        encoding="utf-8",
    )
    assert main(["--env-file", str(env_file), "digest", "--lead", team.ann]) == 0
    assert len(digests(team.standin, team.ann)) == 1
    assert digests(team.standin, team.bob) == []
    assert main(["--env-file", str(env_file), "digest", "--lead", team.ann]) == 0
    assert len(digests(team.standin, team.ann)) == 1  # today's went out already


@SLACK_SURFACE
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("monday", "must be a day and a time"),
        ("mon 25:00", "needs a 24-hour time"),
        ("mon,fri 09:00", "takes one day a week"),
    ],
)
def test_microlearn_digest_setting_is_validated(value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        settings_from({"MICROLEARN_DIGEST": value})
    assert settings_from({"MICROLEARN_DIGEST": "OFF"}).digest is None
    assert settings_from({}).digest is not None
