"""Drips through the stand-in: scheduling by command, delivery on the right local days and times."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services import planner
from bot.storage.enrolments import EnrolmentRepository
from tests.standin import SlackStandIn
from tests.support.harness import Bot, running_bot

# The tests not marked run on both databases: the statements only they run on PostgreSQL,
# or concurrency, locking and exactly-once that only PostgreSQL can show.
SLACK_SURFACE = pytest.mark.sqlite_only(
    "Slack surface: scheduling by command and what each target receives"
)

COURSE = "security-basics"
LESSON_COUNT = 6


@pytest.fixture
def bot(standin: SlackStandIn, database_url: str, shipped_lessons: None) -> Iterator[Bot]:
    """Nobody here answers a lesson: with auto-pause on, their courses would pause themselves
    after three (tests/flows/test_reminders.py); these tests follow delivery to the end."""
    env = {"MICROLEARN_AUTO_PAUSE_AFTER": "0"}
    with running_bot(standin, database_url, env=env) as running:
        yield running


def lesson_titles(messages: list[dict[str, object]]) -> list[str]:
    return [str(m["text"]) for m in messages if str(m["text"]).startswith("New lesson: ")]


def next_due(bot: Bot) -> datetime | None:
    enrolments = EnrolmentRepository(bot.db).enrolments(bot.standin.team_id, statuses=("active",))
    due = [e.next_due_at for e in enrolments if e.next_due_at is not None]
    return min(due) if due else None


# Slack methods that add or change no message: a tick that called none but these posted nothing.
READS = frozenset(
    {
        "auth.test",
        "chat.getPermalink",
        "conversations.history",
        "conversations.info",
        "conversations.list",
        "conversations.members",
        "conversations.open",
        "conversations.replies",
        "usergroups.list",
        "usergroups.users.list",
        "users.info",
        "users.list",
    }
)


def writes(standin: SlackStandIn) -> int:
    """Calls so far to any Slack method not in READS (counted by the stand-in): unchanged
    across a tick, no message can have arrived, and reading every channel's messages (each
    one copied) to show it is skipped."""
    calls = sum(s["calls"] for method, s in standin.stats().items() if method not in READS)
    return calls + len(standin.responses())  # posts to response URLs are not in stats()


def run_until_done(
    bot: Bot, channels: list[str], *, first_only: bool = False, limit: int = 200
) -> dict[str, list[datetime]]:
    """Jump from one due instant to the next, ticking a minute before it too; return when each
    channel got a lesson. `first_only`: stop once every channel got its first."""
    received: dict[str, list[datetime]] = defaultdict(list)
    seen: dict[str, int] = defaultdict(int)
    for _ in range(limit):
        due = next_due(bot)
        if due is None:
            break
        if first_only and all(seen[channel] for channel in channels):
            break
        written = writes(bot.standin)
        bot.tick(due - timedelta(minutes=1))
        if writes(bot.standin) != written:  # only then can anything have arrived
            for channel in channels:  # nothing arrives before its time
                assert len(lesson_titles(bot.standin.messages(channel))) == seen[channel]
        bot.tick(due)
        for channel in channels:
            titles = lesson_titles(bot.standin.messages(channel))
            for _new in titles[seen[channel] :]:
                received[channel].append(due)
            seen[channel] = len(titles)
    return received


@SLACK_SURFACE
def test_a_lead_schedules_a_course_to_every_kind_of_target(bot: Bot, standin: SlackStandIn) -> None:
    zones = {
        "ann": "Europe/Berlin",
        "bob": "America/New_York",
        "cid": "Asia/Kolkata",
        "dan": "Asia/Tokyo",
        "eve": "Pacific/Chatham",
    }
    people = {
        name: standin.add_user(name, real_name=name.title(), tz=tz) for name, tz in zones.items()
    }
    general = standin.add_channel("general", members=[people["ann"], bot.lead])
    eng = standin.add_channel("eng", members=[people["dan"], people["eve"]])
    design = standin.add_usergroup("design", [people["bob"], people["cid"]])

    reply = bot.command(
        bot.lead,
        f"schedule {COURSE} to <#{general}|general> <@{people['ann']}|ann> "
        f"<!subteam^{design}|@design> members of <#{eng}|eng> every weekdays at 09:30",
    )
    assert reply.startswith(":white_check_mark: Drip #1 scheduled: *Security basics for everyone*")
    assert "5 people by DM" in reply and f"<#{general}>" in reply

    # Each target's first lesson, through Slack, at 09:30 its time. The rest of the drip (every
    # lesson once, one each weekday at 09:30 in these five zones and in a channel at the lead's,
    # none a minute early, then the lead told it finished) is tests/services/test_drip_timing.py's;
    # the backlog flow below delivers a whole drip through Slack, its end told to the lead.
    dms = [standin.dm_channel(user_id) for user_id in people.values()]
    received = run_until_done(bot, [*dms, general], first_only=True)
    lead_zone = ZoneInfo("Europe/Berlin")
    for name, user_id in people.items():
        dm = standin.dm_channel(user_id)
        [title] = lesson_titles(standin.messages(dm))
        assert title.startswith("New lesson: "), name
        [instant] = [instant.astimezone(ZoneInfo(zones[name])) for instant in received[dm]]
        assert instant.strftime("%H:%M") == "09:30" and instant.weekday() < 5, name
    channel_local = [i.astimezone(lead_zone).strftime("%a %H:%M") for i in received[general]]
    assert channel_local == ["Mon 09:30"]
    assert len(lesson_titles(standin.messages(general))) == 1
    welcome = [m for m in standin.messages(people["bob"]) if "enrolled you in" in str(m["text"])]
    assert len(welcome) == 1 and f"<@{bot.lead}>" in str(welcome[0]["text"])


def test_a_backlog_bigger_than_one_plan_chunk_reaches_everyone_once_in_one_tick(
    bot: Bot, standin: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Five learners: three chunks per lesson, the last one short (ten learners in chunks of
    # three showed the same at twice the posts).
    monkeypatch.setattr(planner, "PLAN_CHUNK", 2)
    people = [standin.add_user(f"p{n}", tz="Europe/Berlin") for n in range(5)]
    team = standin.add_usergroup("team", people)
    reply = bot.command(bot.lead, f"schedule {COURSE} to <!subteam^{team}|@team> every weekdays")
    assert reply.startswith(":white_check_mark: Drip #1 scheduled"), reply

    dms = [standin.dm_channel(user_id) for user_id in people]
    received = run_until_done(bot, dms)

    lesson_ticks = [report for report in bot.reports if report.planned]
    assert [report.planned for report in lesson_ticks] == [len(people)] * LESSON_COUNT
    for dm in dms:
        assert len(lesson_titles(standin.messages(dm))) == LESSON_COUNT
        assert len(set(received[dm])) == LESSON_COUNT  # each lesson on its own day, all on time
    finished = [m for m in standin.messages(bot.lead) if "has finished" in str(m["text"])]
    assert len(finished) == 1
