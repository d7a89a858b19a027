"""Time zones refreshed by the tick: someone Slack no longer knows is stopped, and only they are,
whichever workspace's people were looked up before theirs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.schedule import Target, TargetKind
from bot.services.people import People
from bot.services.profiles import ProfileRefresh
from bot.services.scheduling import ScheduleRequest
from bot.storage.db import Database
from tests.services.drip_world import ANN, BOB, COURSE, LEAD, NOW, TEAM, DripWorld, drip_world

OTHER_TEAM = "T2"
CAROL = "UCAROL"


@pytest.fixture
def world(db: Database) -> DripWorld:
    return drip_world(db)


def test_a_person_gone_from_slack_is_stopped_and_nobody_else(world: DripWorld) -> None:
    world.slack.add_person(CAROL, "carol", tz="Asia/Tokyo")
    for team, people in ((TEAM, (ANN,)), (OTHER_TEAM, (BOB, CAROL))):
        world.scheduling.schedule(
            team_id=team,
            lead_id=LEAD,
            request=ScheduleRequest(
                COURSE, tuple(Target(TargetKind.USER, p, p.lower()) for p in people)
            ),
            now=NOW,
        )
    del world.slack.profiles_by_id[CAROL]  # her account was deleted
    refresh = ProfileRefresh(
        learners=world.learners,
        enrolments=world.enrolments,
        notices=world.notices,
        people=People(world.learners, world.slack, admins=frozenset()),
        messenger=world.slack,
    )
    refresh.refresh(now=NOW + timedelta(days=2))  # every profile is a day old or more
    gone = {
        (team, user)
        for team, user in ((TEAM, ANN), (OTHER_TEAM, BOB), (OTHER_TEAM, CAROL))
        if (learner := world.learners.learner(team, user)) is not None and learner.deactivated
    }
    assert gone == {(OTHER_TEAM, CAROL)}
    statuses = {
        (e.team_id, e.recipient): e.status
        for team in (TEAM, OTHER_TEAM)
        for e in world.enrolments.enrolments(team)
    }
    assert statuses == {
        (TEAM, ANN): "active",
        (OTHER_TEAM, BOB): "active",
        (OTHER_TEAM, CAROL): "stopped",
    }
