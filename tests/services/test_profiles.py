"""Time zones refreshed by the tick: someone Slack no longer knows is stopped, and only they are,
whichever workspace's people were looked up before theirs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.domain.schedule import Target, TargetKind
from bot.services import profiles, scheduling
from bot.services.people import People
from bot.services.ports import Profile
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


def test_a_fan_out_s_new_people_are_looked_up_from_one_directory_read(
    world: DripWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batch after batch, one read of users.list serves (it took 12 s a batch for 10,000
    people, and nothing was sent meanwhile); people it does not have are looked for in a fresh
    read, not taken for gone."""
    monkeypatch.setattr(scheduling, "SYNC_PROFILES", 0)  # nobody looked up while the lead waits
    monkeypatch.setattr(profiles, "PROFILE_BATCH", 30)
    reads: list[str] = []
    directory = world.slack.profiles

    def read(team: str) -> Iterator[Profile]:
        reads.append(team)
        return directory(team)

    monkeypatch.setattr(world.slack, "profiles", read)
    refresh = ProfileRefresh(
        learners=world.learners,
        enrolments=world.enrolments,
        notices=world.notices,
        people=People(world.learners, world.slack, admins=frozenset()),
        messenger=world.slack,
    )

    def enrol(first: int, count: int) -> list[str]:
        people = [
            world.slack.add_person(f"U{n:03}", f"person{n}", tz="Europe/Berlin")
            for n in range(first, first + count)
        ]
        targets = tuple(Target(TargetKind.USER, p, p.lower()) for p in people)
        world.scheduling.schedule(
            team_id=TEAM, lead_id=LEAD, request=ScheduleRequest(COURSE, targets), now=NOW
        )
        return people

    def known(people: list[str]) -> bool:
        return all(
            (learner := world.learners.learner(TEAM, p)) is not None
            and learner.tz == "Europe/Berlin"
            and not learner.deactivated
            for p in people
        )

    first = enrol(0, 90)
    assert [refresh.refresh(now=NOW + timedelta(minutes=m)) for m in range(3)] == [30, 30, 30]
    assert reads == [TEAM] and known(first)
    later = enrol(100, 30)  # in Slack since that read
    assert refresh.refresh(now=NOW + timedelta(minutes=5)) == 30
    assert reads == [TEAM, TEAM] and known(later)
