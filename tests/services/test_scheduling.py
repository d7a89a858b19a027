"""Scheduling as a service: a lead's drip enrols people at their own local time and welcomes each
once; members joining the channel later are enrolled once; refusals leave nothing behind."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.domain.schedule import Target, TargetKind
from bot.services.refused import Refused
from bot.services.scheduling import ScheduleRequest
from bot.storage.db import Database
from tests.services.drip_world import ANN, BOB, COURSE, LEAD, NOW, TEAM, DripWorld, drip_world


@pytest.fixture
def world(db: Database) -> DripWorld:
    return drip_world(db)


def members_of(channel_id: str) -> Target:
    return Target(TargetKind.MEMBERS, channel_id, "general")


def welcomes(world: DripWorld) -> list[str]:
    return sorted(
        d.recipient for d in world.queued() if "enrolled you" in str((d.payload or {}).get("text"))
    )


def test_a_drip_to_a_channels_members_enrols_each_at_their_local_time_and_welcomes_them_once(
    world: DripWorld,
) -> None:
    general = world.slack.add_channel("C1", "general", [ANN, BOB, LEAD, "UBOT"])
    result = world.scheduling.schedule(
        team_id=TEAM,
        lead_id=LEAD,
        request=ScheduleRequest(COURSE, (members_of(general),)),
        now=NOW,
    )
    assert (result.users, result.already, result.waiting, result.channels) == (3, 0, 0, ())
    due = {
        e.recipient: e.next_due_at
        for e in world.enrolments.enrolments(TEAM, drip_id=result.drip_id)
    }
    # Monday 09:00 UTC: 09:30 has passed in Berlin, not yet in New York (04:00 there).
    assert due == {
        ANN: datetime(2026, 11, 24, 8, 30, tzinfo=UTC),
        BOB: datetime(2026, 11, 23, 14, 30, tzinfo=UTC),
        LEAD: datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
    }
    assert result.first_at == datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    assert welcomes(world) == [ANN, BOB]  # not the lead, who scheduled it
    assert world.kicks


def test_someone_joining_the_channel_is_enrolled_and_welcomed_once(world: DripWorld) -> None:
    general = world.slack.add_channel("C1", "general", [ANN])
    world.scheduling.schedule(
        team_id=TEAM,
        lead_id=LEAD,
        request=ScheduleRequest(COURSE, (members_of(general),)),
        now=NOW,
    )
    joined = [
        world.scheduling.member_joined(team_id=TEAM, user_id=BOB, channel_id=general, now=NOW)
        for _ in range(2)  # Slack retries the event
    ]
    elsewhere = world.scheduling.member_joined(team_id=TEAM, user_id=BOB, channel_id="C2", now=NOW)
    assert (joined, elsewhere) == ([1, 0], 0)
    assert welcomes(world) == [ANN, BOB]


def test_only_a_lead_schedules_and_a_refusal_leaves_no_drip(world: DripWorld) -> None:
    request = ScheduleRequest(COURSE, (Target(TargetKind.USER, BOB, "bob"),))
    with pytest.raises(Refused, match="Only leads can schedule courses"):
        world.scheduling.schedule(team_id=TEAM, lead_id=ANN, request=request, now=NOW)
    past = ScheduleRequest(COURSE, request.targets, start_on=date(2026, 11, 1))
    with pytest.raises(Refused, match="has passed"):
        world.scheduling.schedule(team_id=TEAM, lead_id=LEAD, request=past, now=NOW)
    with pytest.raises(Refused, match="There is no course `nope`"):
        world.scheduling.schedule(
            team_id=TEAM, lead_id=LEAD, request=ScheduleRequest("nope", request.targets), now=NOW
        )
    assert world.repository.drips(TEAM) == []
    assert world.queued() == []


def test_a_role_slack_cannot_confirm_is_refused_rather_than_trusted(world: DripWorld) -> None:
    world.slack.unreachable = True
    request = ScheduleRequest(COURSE, (Target(TargetKind.USER, BOB, "bob"),))
    with pytest.raises(Refused, match="couldn't check your role"):
        world.scheduling.schedule(team_id=TEAM, lead_id=ANN, request=request, now=NOW)


def test_a_lesson_sent_now_goes_once_to_each_person_and_channel(world: DripWorld) -> None:
    general = world.slack.add_channel("C1", "general", [ANN])
    result = world.scheduling.send_now(
        team_id=TEAM,
        lead_id=LEAD,
        address=COURSE,
        targets=(
            Target(TargetKind.USER, ANN, "ann"),
            Target(TargetKind.CHANNEL, general, "general"),
        ),
        now=NOW,
    )
    assert (result.lesson.position, result.users, result.channels) == (1, 1, (general,))
    sent = sorted((d.recipient, d.recipient_kind, d.kind) for d in world.queued())
    assert sent == [(general, "channel", "lesson"), (ANN, "dm", "lesson")]
