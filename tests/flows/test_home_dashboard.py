"""App Home as a dashboard (issue 15 item 1) through the stand-in: a learner's courses with
progress, points, badges, reviews with Review now, mastery, recommendations and settings; a
lead's drips with their progress and buttons; refreshed after an answer; within Block Kit's
limits with many courses and drips."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.lesson import Catalog, Course, Lesson
from tests.flows.test_gamify import TINY, question, replay, with_done
from tests.standin import SlackStandIn
from tests.support.harness import Bot, _catalog, running_bot
from tests.support.process import LESSONS

# The tests not marked run on both databases: the statements only they run on PostgreSQL,
# or concurrency, locking and exactly-once that only PostgreSQL can show.
SLACK_SURFACE = pytest.mark.sqlite_only("Slack surface: App Home blocks, buttons and refreshes")

MONDAY_0930_BERLIN = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
TUESDAY_0700_BERLIN = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


@pytest.fixture
def ann(standin: SlackStandIn) -> str:
    return standin.add_user("ann", real_name="Ann Lee", tz="Europe/Berlin")


@pytest.fixture
def tiny_bot(standin: SlackStandIn, database_url: str) -> Iterator[Bot]:
    catalog = Catalog((*_catalog(LESSONS).courses, TINY))
    with running_bot(standin, database_url, catalog=catalog) as running:
        yield running


def home(standin: SlackStandIn, user_id: str) -> dict[str, Any]:
    view = standin.home(user_id)
    assert view is not None, "no App Home was published"
    return view


def home_text(standin: SlackStandIn, user_id: str) -> str:
    return json.dumps(home(standin, user_id)["blocks"], ensure_ascii=False)


def block_text(standin: SlackStandIn, user_id: str, block_id: str) -> str:
    [block] = [b for b in home(standin, user_id)["blocks"] if b.get("block_id") == block_id]
    return str(block["text"]["text"])


def action_ids(standin: SlackStandIn, user_id: str) -> set[str]:
    found = set()
    for block in home(standin, user_id)["blocks"]:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if "action_id" in element:
                found.add(element["action_id"])
    return found


def reviews_in(standin: SlackStandIn, user_id: str) -> list[dict[str, Any]]:
    dm = standin.dm_channel(user_id)
    return [m for m in standin.messages(dm) if str(m["text"]).startswith("Review")]


def learning_ann(bot: Bot, standin: SlackStandIn, ann: str) -> str:
    """Ann in a drip of security-basics: lesson 1 sent, Q1 right, Q3 wrong (a review), Home open."""
    bot.command(bot.lead, f"schedule security-basics to <@{ann}>")
    bot.tick(MONDAY_0930_BERLIN)
    bot.driver.open_home(ann)
    dm = standin.dm_channel(ann)
    bot.driver.click(ann, question(standin, dm, 1), channel_id=dm, action_id="answer_1")
    bot.driver.click(ann, question(standin, dm, 3), channel_id=dm, action_id="answer_0")
    return dm


@SLACK_SURFACE
def test_home_shows_the_learners_dashboard_and_is_refreshed_after_an_answer(
    tiny_bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    bot = tiny_bot
    bot.command(bot.lead, f"schedule security-basics to <@{ann}>")
    bot.tick(MONDAY_0930_BERLIN)
    bot.driver.open_home(ann)
    assert "Points: *0*" in block_text(standin, ann, "standing")
    dm = standin.dm_channel(ann)
    bot.driver.click(ann, question(standin, dm, 1), channel_id=dm, action_id="answer_1")
    # No reopening: the answer itself re-published Home.
    assert "Points: *10*" in block_text(standin, ann, "standing")
    bot.driver.click(ann, question(standin, dm, 3), channel_id=dm, action_id="answer_0")
    bot.command(bot.lead, f"send tiny/only to <@{ann}>")
    bot.tick()
    done = bot.driver.click(
        ann, with_done(standin, ann)[-1], channel_id=dm, action_id="lesson_done"
    )
    assert done.status == 200
    courses = block_text(standin, ann, "courses")
    assert "*Security basics for everyone* `▱▱▱▱▱▱▱▱▱▱` 0 of 6 lessons done" in courses
    assert "next: _Use passwords and passkeys_ <!date^" not in courses  # lesson 1 not done yet
    standing = block_text(standin, ann, "standing")
    assert "Points: *17*" in standing  # 10 right first try + 2 another answer + 5 Done
    assert "Badges: *Tiny course*" in standing
    assert "Streak: 1 day (best: 1 day)" in standing
    # The wrong answer's review falls due Tuesday in Ann's slot.
    bot.command(ann, "goal leadership")
    bot.clock.set(TUESDAY_0700_BERLIN)
    bot.driver.open_home(ann)
    assert block_text(standin, ann, "reviews") == "*Reviews*: 1 due today."
    assert "phishing" in block_text(standin, ann, "mastery").lower()
    assert "%" in block_text(standin, ann, "mastery")
    assert "*Recommended for you*" in home_text(standin, ann)
    assert "leadership" in block_text(standin, ann, "recommended_0")
    settings = block_text(standin, ann, "settings")
    assert "Show me on leaderboards: *on*" in settings
    assert {"home_review_now", "open_lesson_0", "home_snooze_1", "home_prefs"} <= action_ids(
        standin, ann
    )
    recommended = block_text(standin, ann, "recommended_0")
    bot.driver.click_view(ann, home(standin, ann), action_id="open_lesson_0")
    bot.tick()
    title = recommended.split("*")[1]
    assert any(title in str(m["text"]) for m in standin.messages(dm)[-6:])


def test_review_now_sends_the_due_reviews_once_however_often_it_is_clicked(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    learning_ann(bot, standin, ann)
    bot.clock.set(TUESDAY_0700_BERLIN)  # due at 09:30 today, not yet
    bot.tick()
    assert reviews_in(standin, ann) == []
    bot.driver.open_home(ann)
    first = bot.driver.click_view(ann, home(standin, ann), action_id="home_review_now")
    assert first.status == 200
    assert "1 review on the way to your DMs." in home_text(standin, ann)
    replay_ = replay(bot.driver, first)  # Slack retries the click
    assert replay_.status == 200
    # A double click: a second click on the same button, before Home was re-published.
    second = replay(bot.driver, first, action_ts="1795500000.000200")
    assert second.status == 200
    assert "No reviews were due: nothing was sent." in home_text(standin, ann)
    bot.tick()
    assert len(reviews_in(standin, ann)) == 1
    bot.tick(datetime(2026, 11, 24, 8, 31, tzinfo=UTC))  # the slot itself sends nothing more
    bot.tick(bot.clock() + timedelta(hours=2))
    assert len(reviews_in(standin, ann)) == 1
    assert "1 review waiting for your answer" in block_text(standin, ann, "reviews")


@SLACK_SURFACE
def test_review_now_sends_only_the_clickers_reviews(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    learning_ann(bot, standin, ann)
    bob = standin.add_user("bob", real_name="Bob Stone", tz="Europe/Berlin")
    bot.clock.set(TUESDAY_0700_BERLIN)
    bot.driver.open_home(ann)
    bot.driver.open_home(bob)
    forged = bot.driver.click_view(bob, home(standin, ann), action_id="home_review_now")
    assert forged.status == 200
    bot.tick()
    assert reviews_in(standin, ann) == []


@SLACK_SURFACE
def test_the_leaderboard_toggle_on_home(bot: Bot, standin: SlackStandIn, ann: str) -> None:
    bot.driver.open_home(ann)
    bot.driver.click_view(ann, home(standin, ann), action_id="home_leaderboard_hide")
    team = standin.team_id
    assert not bot.services.leaderboards.visible(team_id=team, user_id=ann)
    assert "Show me on leaderboards: *off*" in block_text(standin, ann, "settings")
    assert "home_leaderboard_show" in action_ids(standin, ann)
    bot.driver.click_view(ann, home(standin, ann), action_id="home_leaderboard_show")
    assert bot.services.leaderboards.visible(team_id=team, user_id=ann)
    assert "Show me on leaderboards: *on*" in block_text(standin, ann, "settings")


@SLACK_SURFACE
def test_a_lead_sees_their_drips_progress_and_manages_them_and_a_learner_never_does(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    learning_ann(bot, standin, ann)
    assert not {"drip_pause", "drip_resume", "drip_cancel", "home_schedule"} & action_ids(
        standin, ann
    )
    assert "Your drips" not in home_text(standin, ann)
    bot.driver.open_home(bot.lead)
    drip = block_text(standin, bot.lead, "drip_text_1")
    assert "*#1* `security-basics`" in drip
    assert "1 learner · 0 % complete · 50 % right first try · 0 waiting · 0 paused" in drip
    bot.driver.click_view(bot.lead, home(standin, bot.lead), action_id="drip_pause", value="1")
    assert "paused" in block_text(standin, bot.lead, "drip_text_1")
    assert "1 paused" in block_text(standin, bot.lead, "drip_text_1")
    bot.driver.open_home(ann)
    assert "0 of 6 lessons done · paused" in block_text(standin, ann, "courses")
    assert "drip_pause" not in action_ids(standin, bot.lead)
    # Ann clicks the lead's Resume (a forged click): refused, nothing changes.
    bot.driver.click_view(ann, home(standin, bot.lead), action_id="drip_resume", value="1")
    assert "Only leads" in home_text(standin, ann)
    assert bot.services.drips.team_drips(standin.team_id)[0].status == "paused"
    bot.driver.click_view(bot.lead, home(standin, bot.lead), action_id="drip_resume", value="1")
    assert "active" in block_text(standin, bot.lead, "drip_text_1")
    bot.driver.click_view(bot.lead, home(standin, bot.lead), action_id="drip_cancel", value="1")
    assert "*Your drips* (0 running)" in home_text(standin, bot.lead)
    assert bot.services.drips.team_drips(standin.team_id)[0].status == "cancelled"


def test_a_leads_drips_show_learners_completion_accuracy_and_paused(
    bot: Bot, standin: SlackStandIn
) -> None:
    ann = standin.add_user("ann", real_name="Ann Lee", tz="Europe/Berlin")
    bob = standin.add_user("bob", real_name="Bob Stone", tz="Europe/Berlin")
    bot.command(bot.lead, f"schedule security-basics to <@{ann}> <@{bob}>")
    bot.command(bot.lead, f"schedule leading-people to <@{bob}>")
    bot.tick(MONDAY_0930_BERLIN)
    dm = standin.dm_channel(ann)
    bot.driver.click(ann, question(standin, dm, 1), channel_id=dm, action_id="answer_1")
    bot.driver.click(ann, question(standin, dm, 3), channel_id=dm, action_id="answer_0")
    bot.driver.click(ann, with_done(standin, ann)[-1], channel_id=dm, action_id="lesson_done")
    bot.command(bob, "snooze 3")
    bot.command(ann, "join career-microlearning")  # Ann's own: not the lead's drip
    team = standin.team_id
    security, leading = bot.services.dashboard.lead_drips(team_id=team, user_id=bot.lead)
    assert security.drip.course == "security-basics" and security.learners == 2
    assert security.completion == 8  # 1 lesson of 2 × 6
    assert security.accuracy == 50  # 1 of 2 first tries right
    assert (security.waiting, security.paused) == (0, 0)
    assert leading.learners == 1 and leading.completion == 0 and leading.accuracy is None
    bot.command(bot.lead, f"pause {leading.drip.id}")
    _, leading = bot.services.dashboard.lead_drips(team_id=team, user_id=bot.lead)
    assert leading.paused == 1 and leading.drip.status == "paused"
    assert bot.services.dashboard.lead_drips(team_id=team, user_id=ann) == ()


def _many_courses(count: int) -> tuple[Course, ...]:
    return tuple(
        Course(
            id=f"course-{n:02d}",
            title=f"Course number {n} with a rather long title to fill the section " * 2,
            description="Synthetic.",
            skills=(f"skill-{n:02d}",),
            lessons=(
                Lesson(
                    course_id=f"course-{n:02d}",
                    id="one",
                    position=1,
                    title=f"Lesson one of course {n}",
                    objective="Fill App Home",
                    minutes=2,
                    body="Text.",
                ),
            ),
        )
        for n in range(count)
    )


@SLACK_SURFACE
def test_home_stays_within_block_kit_limits_with_30_courses_and_50_drips(
    standin: SlackStandIn, database_url: str
) -> None:
    catalog = Catalog((*_catalog(LESSONS).courses, *_many_courses(30)))
    with running_bot(standin, database_url, catalog=catalog) as bot:
        ann = standin.add_user("ann", real_name="Ann Lee", tz="Europe/Berlin")
        for n in range(30):
            assert "You're in" in bot.command(bot.lead, f"join course-{n:02d}")
        for n in range(50):
            reply = bot.command(bot.lead, f"schedule course-{n % 30:02d} to <@{ann}>")
            assert "scheduled" in reply
        response = bot.driver.open_home(bot.lead)
        assert response.status == 200
        view = home(standin, bot.lead)  # published: the stand-in validated it as Slack does
        assert len(view["blocks"]) <= 100
        text = json.dumps(view["blocks"], ensure_ascii=False)
        assert "…and 20 more: `/learn progress`" in text
        assert "*Your drips* (50 running)" in text
        assert "…and 30 more drips: `/learn schedules`" in text
        for block in view["blocks"]:
            assert len(block.get("text", {}).get("text", "")) <= 3000


@SLACK_SURFACE
def test_home_is_refreshed_after_join_snooze_and_resume_and_done(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    bot.driver.open_home(ann)
    bot.command(ann, "join security-basics")
    assert "*Security basics for everyone*" in block_text(standin, ann, "courses")
    bot.command(ann, "snooze 2")
    assert "Snoozed until" in block_text(standin, ann, "settings")
    bot.command(ann, "resume")
    assert "Snoozed until" not in block_text(standin, ann, "settings")
    bot.command(bot.lead, f"send security-basics/spot-phishing to <@{ann}>")
    bot.tick()
    dm = standin.dm_channel(ann)
    bot.driver.click(ann, with_done(standin, ann)[-1], channel_id=dm, action_id="lesson_done")
    assert "Points: *5*" in block_text(standin, ann, "standing")


@SLACK_SURFACE
def test_no_home_is_published_for_someone_who_never_opened_it(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    bot.command(ann, "join security-basics")
    bot.tick(MONDAY_0930_BERLIN)
    dm = standin.dm_channel(ann)
    bot.driver.click(ann, question(standin, dm, 1), channel_id=dm, action_id="answer_1")
    assert standin.home(ann) is None


@SLACK_SURFACE
def test_a_lead_sees_on_home_who_was_reminded_and_has_not_answered(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    bot.command(bot.lead, f"schedule security-basics to <@{ann}>")
    bot.tick(MONDAY_0930_BERLIN)
    bot.driver.open_home(bot.lead)
    assert "Reminded" not in block_text(standin, bot.lead, "drip_text_1")
    bot.tick(MONDAY_0930_BERLIN + timedelta(days=1))  # Tuesday: lesson 1 is reminded
    bot.driver.open_home(bot.lead)
    drip = block_text(standin, bot.lead, "drip_text_1")
    assert f"Reminded, not answering yet: <@{ann}>" in drip
    assert "Paused themselves" not in drip
