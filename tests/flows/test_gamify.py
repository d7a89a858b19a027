"""Points, milestones, leaderboards, goals and recommendations through the stand-in (issue 15,
items 4-6): a retried click or event never counts twice, each milestone is celebrated once,
hidden people appear on no leaderboard, and a goal changes what `/learn next` sends."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.domain.lesson import Catalog, Course, Lesson
from bot.domain.points import Award, PointEvent
from bot.storage.gamify import GamifyRepository
from tests.standin import DriverResponse, SlackDriver, SlackStandIn
from tests.support.harness import Bot, running_bot

# The tests not marked run on both databases: the statements only they run on PostgreSQL,
# or concurrency, locking and exactly-once that only PostgreSQL can show.
SLACK_SURFACE = pytest.mark.sqlite_only(
    "Slack surface: points, milestones and goals shown in Slack"
)

SPOT = "security-basics/spot-phishing"  # Q1 single (right: option 1), Q2 multiple, Q3 true/false
MONDAY_1000_BERLIN = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TINY = Course(
    id="tiny",
    title="Tiny course",
    description="One lesson, no quiz.",
    skills=("tinyskill",),
    lessons=(
        Lesson(
            course_id="tiny",
            id="only",
            position=1,
            title="The only lesson",
            objective="Finish a course",
            minutes=2,
            body="Read this, then press Done.",
        ),
    ),
)


@pytest.fixture
def ann(standin: SlackStandIn) -> str:
    return standin.add_user("ann", real_name="Ann Lee", tz="Europe/Berlin")


def lessons_in(standin: SlackStandIn, user: str) -> list[dict[str, Any]]:
    dm = standin.dm_channel(user)
    return [m for m in standin.messages(dm) if str(m["text"]).startswith("New lesson")]


def with_done(standin: SlackStandIn, user: str) -> list[dict[str, Any]]:
    """The DM messages that carry a lesson's Done button, oldest first."""
    dm = standin.dm_channel(user)
    return [m for m in standin.messages(dm) if '"lesson_done"' in json.dumps(m.get("blocks"))]


def question(standin: SlackStandIn, channel: str, number: int) -> dict[str, Any]:
    found = [
        m for m in standin.messages(channel) if str(m["text"]).startswith(f"Question {number} of")
    ]
    return found[-1]


def replay(driver: SlackDriver, response: DriverResponse, **action: Any) -> DriverResponse:
    """The same block_actions again (a Slack retry), optionally with a changed action."""
    payload = copy.deepcopy(response.request)
    payload["actions"][0].update(action)
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = {**driver.sign(body), "Content-Type": "application/x-www-form-urlencoded"}
    return driver.raw_post(body, headers)


def ledger(bot: Bot, user: str) -> list[tuple[str, str, int]]:
    return GamifyRepository(bot.db).entries(bot.standin.team_id, user)


def dm_texts(standin: SlackStandIn, user: str) -> list[str]:
    return [str(m["text"]) for m in standin.messages(standin.dm_channel(user))]


def seed(
    bot: Bot, user: str, points: int, *, course: str = "security-basics", at: Any = None
) -> None:
    GamifyRepository(bot.db).award(
        team_id=bot.standin.team_id,
        user_id=user,
        award=Award(PointEvent.ANSWER, points, f"seed:{user}:{points}:{course}:{at}"),
        course=course,
        now=at or bot.clock(),
    )


# -- points ----------------------------------------------------------------------------------------


@SLACK_SURFACE
def test_answers_and_done_earn_points_once_however_often_slack_retries(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    bot.command(bot.lead, f"send {SPOT} to <@{ann}>")
    bot.tick()
    dm = standin.dm_channel(ann)
    right = bot.driver.click(ann, question(standin, dm, 1), channel_id=dm, action_id="answer_1")
    replay(bot.driver, right)  # Slack retries the click
    replay(bot.driver, right, action_id="answer_0", value="0")  # a second, different click
    bot.driver.click(ann, question(standin, dm, 3), channel_id=dm, action_id="answer_0")  # wrong
    lesson = with_done(standin, ann)[0]
    done = bot.driver.click(ann, lesson, channel_id=dm, action_id="lesson_done")
    replay(bot.driver, done)
    replay(bot.driver, done)
    entries = ledger(bot, ann)
    assert sorted((event, points) for _, event, points in entries) == [
        ("answer", 2),
        ("done", 5),
        ("right_first_try", 10),
    ]
    assert len({cause for cause, _, _ in entries}) == 3
    assert "• Points: 17" in bot.command(ann, "progress")


@SLACK_SURFACE
def test_only_the_first_reply_in_a_lesson_thread_earns_points_even_when_retried(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    general = standin.add_channel("general", members=[ann, bot.lead])
    bot.command(bot.lead, f"send {SPOT} to <#{general}|general>")
    bot.tick()
    post = [m for m in standin.messages(general) if str(m["text"]).startswith("New lesson")][0]
    _, first = bot.driver.user_says(ann, general, "Hover before you click.", thread_ts=post["ts"])
    bot.driver.event(first.request["event"], event_id=first.event_id, retry_num=1)
    bot.driver.user_says(ann, general, "And check the domain.", thread_ts=post["ts"])
    bot.driver.user_says(ann, general, "Not in a thread.")
    assert [(event, points) for _, event, points in ledger(bot, ann)] == [("reply", 5)]


# -- milestones ------------------------------------------------------------------------------------


@pytest.fixture
def tiny_bot(standin: SlackStandIn, database_url: str) -> Any:
    from tests.support.harness import _catalog
    from tests.support.process import LESSONS

    catalog = Catalog((*_catalog(LESSONS).courses, TINY))
    with running_bot(standin, database_url, catalog=catalog) as running:
        yield running


@SLACK_SURFACE
def test_finishing_a_course_earns_its_badge_and_one_dm_under_retries(
    tiny_bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    bot = tiny_bot
    bot.command(bot.lead, f"send tiny/only to <@{ann}>")
    bot.tick()
    dm = standin.dm_channel(ann)
    lesson = with_done(standin, ann)[0]
    done = bot.driver.click(ann, lesson, channel_id=dm, action_id="lesson_done")
    replay(bot.driver, done)
    bot.tick()
    replay(bot.driver, done)
    bot.tick(bot.clock() + timedelta(minutes=5))
    celebrations = [t for t in dm_texts(standin, ann) if "You finished *Tiny course*" in t]
    assert len(celebrations) == 1
    progress = bot.command(ann, "progress")
    assert "• Badges: *Tiny course*" in progress
    assert "• Points: 5" in progress


@SLACK_SURFACE
def test_a_three_day_streak_is_celebrated_once(bot: Bot, standin: SlackStandIn, ann: str) -> None:
    lessons = [SPOT, "security-basics/passwords-and-passkeys", "security-basics/use-mfa-safely"]
    dm = standin.dm_channel(ann)
    for day, address in enumerate(lessons):
        bot.clock.set(MONDAY_1000_BERLIN + timedelta(days=day))
        bot.command(bot.lead, f"send {address} to <@{ann}>")
        bot.tick()
        lesson = with_done(standin, ann)[-1]
        done = bot.driver.click(ann, lesson, channel_id=dm, action_id="lesson_done")
        replay(bot.driver, done)
        bot.tick()
    replay(bot.driver, done)
    bot.tick(bot.clock() + timedelta(minutes=5))
    streaks = [t for t in dm_texts(standin, ann) if "3-day streak" in t]
    assert len(streaks) == 1
    progress = bot.command(ann, "progress")
    assert "• Streak: 3 days :fire: (best: 3 days)" in progress
    assert "*3-day streak*" in progress


# -- leaderboards ----------------------------------------------------------------------------------


def _drip_id(bot: Bot, course: str) -> int:
    drips = bot.services.drips.team_drips(bot.standin.team_id)
    return next(d.id for d in drips if d.course == course)


@pytest.fixture
def team(bot: Bot, standin: SlackStandIn, ann: str) -> dict[str, str]:
    people = {
        "ann": ann,
        "bob": standin.add_user("bob", real_name="Bob Stone", tz="Europe/Berlin"),
        "cat": standin.add_user("cat", real_name="Cat Hidden", tz="Europe/Berlin"),
        "dan": standin.add_user("dan", real_name="Dan Far", tz="Europe/Berlin"),
    }
    learning = standin.add_channel("learning", members=[*people.values(), bot.lead])
    assert "Drip #1 scheduled" in bot.command(
        bot.lead,
        f"schedule security-basics to <@{ann}> <@{people['bob']}> <@{people['cat']}> "
        f"discuss in <#{learning}|learning>",
    )
    bot.command(bot.lead, f"schedule leading-people to <@{people['dan']}>")
    people["learning"] = learning
    return people


def test_the_board_ranks_people_sharing_a_drip_and_never_shows_hidden_ones(
    bot: Bot, standin: SlackStandIn, team: dict[str, str]
) -> None:
    ann, bob, cat, dan = team["ann"], team["bob"], team["cat"], team["dan"]
    seed(bot, ann, 12)
    seed(bot, bob, 30)
    seed(bot, cat, 50)
    seed(bot, dan, 99)
    board = bot.command(ann, "leaderboard")
    assert "1. <@" + cat + "> — 50 pts" in board
    assert f"2. <@{bob}> — 30 pts" in board and f"3. <@{ann}> — 12 pts" in board
    assert dan not in board  # shares no drip with ann
    assert "You: #3 of 3 with 12 points." in board

    assert ":see_no_evil:" in bot.command(cat, "leaderboard hide")
    board = bot.command(ann, "leaderboard")
    assert cat not in board
    assert f"1. <@{bob}> — 30 pts" in board and "You: #2 of 2 with 12 points." in board
    everyone = bot.command(bot.lead, "leaderboard all")  # the lead is an admin: everyone
    assert f"1. <@{dan}> — 99 pts" in everyone and cat not in everyone
    own = bot.command(cat, "leaderboard")
    assert "You: #1 of 2 with 50 points (you're hidden" in own and f"<@{cat}>" not in own

    bot.command(bot.lead, f"leaderboard post {_drip_id(bot, 'security-basics')}")
    bot.tick()
    [posted] = [
        str(m["text"])
        for m in standin.messages(team["learning"])
        if "top learners" in str(m["text"])
    ]
    assert "1. Bob Stone — 30 pts" in posted and "2. Ann Lee — 12 pts" in posted
    assert "Cat" not in posted and cat not in posted and "Dan" not in posted

    assert ":eyes:" in bot.command(cat, "leaderboard show")
    assert f"<@{cat}> — 50 pts" in bot.command(ann, "leaderboard")


def test_the_board_counts_the_period_and_the_course_asked_for(
    bot: Bot, team: dict[str, str]
) -> None:
    ann, bob = team["ann"], team["bob"]
    seed(bot, ann, 20, at=bot.clock() - timedelta(days=10))  # before this week
    seed(bot, bob, 5)
    seed(bot, ann, 3, course="leading-people")
    week = bot.command(ann, "leaderboard")
    assert f"1. <@{bob}> — 5 pts" in week and f"2. <@{ann}> — 3 pts" in week
    alltime = bot.command(ann, "leaderboard all")
    assert f"1. <@{ann}> — 23 pts" in alltime and "all time" in alltime
    course = bot.command(ann, "leaderboard security-basics all")
    assert f"1. <@{ann}> — 20 pts" in course and "Security basics" in course
    assert "You have no points this month yet." not in bot.command(ann, "leaderboard month")


@SLACK_SURFACE
def test_leaderboard_mistakes_get_a_private_usage_reply(bot: Bot, team: dict[str, str]) -> None:
    ann = team["ann"]
    wrong = bot.command(ann, "leaderboard week month")
    assert "one period" in wrong and "/learn leaderboard [<course>] [week|month|all]" in wrong
    assert "no course `nope`" in bot.command(ann, "leaderboard nope")
    assert "takes nothing after it" in bot.command(ann, "leaderboard hide me")
    drip = _drip_id(bot, "security-basics")
    refused = bot.command(ann, f"leaderboard post {drip}")
    assert "Only the lead who runs drip" in refused
    assert "drip's number" in bot.command(bot.lead, "leaderboard post soon")
    help_text = bot.command(ann, "help")
    for usage in ("/learn leaderboard hide|show", "/learn leaderboard post <drip id>"):
        assert usage in help_text
    assert "/learn goal [<skill>|clear]" in help_text


# -- goals, recommendations and Open -------------------------------------------------------------


@SLACK_SURFACE
def test_a_goal_changes_what_next_sends(bot: Bot, standin: SlackStandIn, ann: str) -> None:
    nothing = bot.command(ann, "next")
    assert "not taking a course yet" in nothing
    assert "Your goal is now *security*" in bot.command(ann, "goal Security")
    sent = bot.command(ann, "next")
    assert "*Spot a phishing message before you click* is on its way" in sent
    assert "your goal: *security*" in sent
    bot.tick()
    assert "Spot a phishing" in str(lessons_in(standin, ann)[-1]["text"])
    assert "Your goal is now *leadership*" in bot.command(ann, "goal leadership")
    assert "your goal: *leadership*" in bot.command(ann, "next")
    bot.tick()
    assert "feedback" in str(lessons_in(standin, ann)[-1]["text"]).lower()
    shown = bot.command(ann, "goal")
    assert ":dart: Your goal: *leadership*." in shown and "*Recommended for you*" in shown
    assert "no skill `knitting`" in bot.command(ann, "goal knitting")
    assert "Goal cleared." in bot.command(ann, "goal clear")
    assert "You had no goal set." in bot.command(ann, "goal clear")
    assert "not taking a course yet" in bot.command(ann, "next")


def test_peers_courses_are_recommended_with_the_reason(bot: Bot, team: dict[str, str]) -> None:
    ann, bob = team["ann"], team["bob"]
    bot.command(bot.lead, f"schedule career-microlearning to <@{bob}>")
    shown = bot.command(ann, "goal")
    assert "1 person in your drips is taking *Microlearning habits for career growth*" in shown


@SLACK_SURFACE
def test_search_results_open_any_lesson_for_the_clicker(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    bot.command(ann, "search phishing")
    [results] = [e for e in standin.ephemerals(user=ann) if "Lessons about" in str(e["text"])]
    buttons = [
        b["accessory"] for b in results["blocks"] if b.get("accessory", {}).get("type") == "button"
    ]
    assert buttons and all(b["text"]["text"] == "Open" for b in buttons)
    before = len(standin.responses())
    clicked = bot.driver.click_ephemeral(ann, results, action_id=buttons[0]["action_id"])
    assert clicked.status == 200
    replay(bot.driver, clicked)  # a retried click sends nothing more
    forged = replay(bot.driver, clicked, value="security-basics/../../etc", action_ts="9.9")
    assert forged.status == 200
    replies = [str(r["body"].get("text")) for r in standin.responses()[before:]]
    assert any("is on its way to your DMs" in r for r in replies)
    assert any("no longer available" in r for r in replies)
    bot.tick()
    [lesson] = lessons_in(standin, ann)
    opened = bot.services.catalog.find_lessons(buttons[0]["value"])[0]
    assert opened.title in str(lesson["text"])


@SLACK_SURFACE
def test_the_lead_of_a_drip_posts_its_board_while_a_lead(
    bot: Bot, standin: SlackStandIn, team: dict[str, str]
) -> None:
    leo = standin.add_user("leo", real_name="Leo Lead", tz="Europe/Berlin")
    learning = team["learning"]
    assert "is now a lead" in bot.command(bot.lead, f"leads add <@{leo}>")
    assert "scheduled" in bot.command(
        leo, f"schedule career-microlearning to <#{learning}|learning>"
    )
    drip = _drip_id(bot, "career-microlearning")
    assert "Posting drip" in bot.command(leo, f"leaderboard post {drip}")
    bot.command(bot.lead, f"leads remove <@{leo}>")
    assert "Only the lead who runs drip" in bot.command(leo, f"leaderboard post {drip}")
    no_channel = _drip_id(bot, "leading-people")  # DMs only, no discussion channel
    assert "has no channel to post in" in bot.command(bot.lead, f"leaderboard post {no_channel}")
