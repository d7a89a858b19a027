"""When a drip's lessons arrive, as services over a fake Slack: each person at 09:30 on weekdays
in their own time zone (five zones, one with a 45-minute offset), a channel at the lead's, and
nothing a minute before. tests/flows/test_drips.py shows the same drip scheduled by command
through Slack, every target receiving every lesson."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.schedule import Days, Target, TargetKind
from bot.services.scheduling import ScheduleRequest
from bot.storage.db import Database
from tests.services.drip_world import (
    ANN,
    BOB,
    COURSE,
    LEAD,
    NOW,
    TEAM,
    Clock,
    DripWorld,
    drain_for,
    drip_world,
    planner_for,
)

LESSON_COUNT = 6


@pytest.fixture
def world(db: Database) -> DripWorld:
    return drip_world(db)


def lessons_to(world: DripWorld, channel: str) -> int:
    return sum(
        1
        for to, message in world.slack.posts
        if to == channel and str(message.get("text", "")).startswith("New lesson: ")
    )


@pytest.mark.sqlite_only(
    "the timing is computed in Python; the statements run on PostgreSQL in the flows'"
    " backlog test (tests/flows/test_drips.py), which delivers a drip the same way"
)
def test_each_target_gets_each_lesson_at_0930_on_weekdays_in_its_zone_and_none_before(
    world: DripWorld,
) -> None:
    zones = {
        ANN: "Europe/Berlin",
        BOB: "America/New_York",
        "UCID": "Asia/Kolkata",
        "UDAN": "Asia/Tokyo",
        "UEVE": "Pacific/Chatham",  # UTC+13:45
    }
    for user_id, zone in zones.items():
        world.slack.add_person(user_id, user_id[1:].lower(), tz=zone)
    general = world.slack.add_channel("C1", "general", [ANN, LEAD])
    targets = (
        *(Target(TargetKind.USER, user_id, user_id) for user_id in zones),
        Target(TargetKind.CHANNEL, general, "general"),
    )
    request = ScheduleRequest(COURSE, targets, days=Days.parse("weekdays"), at=time(9, 30))
    result = world.scheduling.schedule(team_id=TEAM, lead_id=LEAD, request=request, now=NOW)
    assert (result.users, result.channels) == (len(zones), (general,))

    clock = Clock(NOW)
    planner, drain = planner_for(world), drain_for(world, clock)

    def tick(at: datetime) -> None:
        clock.now = at
        planner.plan(now=at)
        drain.drain(now=at)

    channels = [*zones, general]
    received: dict[str, list[datetime]] = defaultdict(list)
    seen = dict.fromkeys(channels, 0)
    for _ in range(200):
        due = [
            e.next_due_at
            for e in world.enrolments.enrolments(TEAM, statuses=("active",))
            if e.next_due_at is not None
        ]
        if not due:
            break
        instant = min(due)
        tick(instant - timedelta(minutes=1))
        for channel in channels:  # nothing arrives before its time
            assert lessons_to(world, channel) == seen[channel], channel
        tick(instant)
        for channel in channels:
            count = lessons_to(world, channel)
            received[channel] += [instant] * (count - seen[channel])
            seen[channel] = count

    for user_id, zone in zones.items():
        local = [instant.astimezone(ZoneInfo(zone)) for instant in received[user_id]]
        assert [t.strftime("%H:%M") for t in local] == ["09:30"] * LESSON_COUNT, zone
        assert all(t.weekday() < 5 for t in local), zone
        days = [t.date() for t in local]
        assert days == sorted(set(days)), zone  # one a day
    lead_zone = ZoneInfo(world.slack.profile(TEAM, LEAD).tz)
    channel_local = [i.astimezone(lead_zone).strftime("%a %H:%M") for i in received[general]]
    weekdays = ["Mon 09:30", "Tue 09:30", "Wed 09:30", "Thu 09:30", "Fri 09:30"]
    assert channel_local == [*weekdays, "Mon 09:30"]  # the sixth lesson after the weekend
    told = [str(message.get("text")) for to, message in world.slack.posts if to == LEAD]
    finished = [text for text in told if "has finished" in text]
    assert len(finished) == 1 and f"Drip #{result.drip_id}" in finished[0]
