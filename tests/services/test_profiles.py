"""Time zones refreshed by the tick: someone Slack no longer knows is stopped, and only they are,
whichever workspace's people were looked up before theirs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.domain.schedule import Target, TargetKind
from bot.services import profiles, scheduling
from bot.services.notices import Notices
from bot.services.people import People
from bot.services.ports import Profile
from bot.services.profiles import ProfileRefresh
from bot.services.scheduling import ScheduleRequest
from bot.storage.db import Database
from bot.storage.enrolments import EnrolmentRecord, EnrolmentRepository
from bot.storage.learners import LearnerRepository
from bot.storage.lookups import LookupLeases
from bot.storage.outbox import Outbox
from tests.services.drip_world import ANN, BOB, COURSE, LEAD, NOW, TEAM, DripWorld, drip_world
from tests.services.fake_slack import FakeMessenger

OTHER_TEAM = "T2"
CAROL = "UCAROL"


@pytest.fixture
def world(db: Database) -> DripWorld:
    return drip_world(db)


def _refresh(db: Database, slack: FakeMessenger) -> ProfileRefresh:
    """The time-zone job as a serving process builds it, on `db`."""
    learners = LearnerRepository(db)
    return ProfileRefresh(
        learners=learners,
        enrolments=EnrolmentRepository(db),
        notices=Notices(Outbox(db)),
        people=People(learners, slack, admins=frozenset()),
        messenger=slack,
        leases=LookupLeases(db),
    )


def _in_slack(world: DripWorld, first: int, count: int) -> list[str]:
    return [
        world.slack.add_person(f"U{n:03}", f"person{n}", tz="Europe/Berlin")
        for n in range(first, first + count)
    ]


def _enrol(world: DripWorld, first: int, count: int) -> list[str]:
    """`count` people new to the bot, in Slack, enrolled in one drip."""
    return _enrolled(world, _in_slack(world, first, count))


def _enrolled(world: DripWorld, people: list[str]) -> list[str]:
    targets = tuple(Target(TargetKind.USER, p, p.lower()) for p in people)
    world.scheduling.schedule(
        team_id=TEAM, lead_id=LEAD, request=ScheduleRequest(COURSE, targets), now=NOW
    )
    return people


def _known(world: DripWorld, people: list[str]) -> bool:
    return all(
        (learner := world.learners.learner(TEAM, p)) is not None
        and learner.tz == "Europe/Berlin"
        and not learner.deactivated
        for p in people
    )


def _count_reads(world: DripWorld, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The workspaces whose directory (users.list) is read, in order, by any refresh."""
    reads: list[str] = []
    directory = world.slack.profiles

    def read(team: str) -> Iterator[Profile]:
        reads.append(team)
        return directory(team)

    monkeypatch.setattr(world.slack, "profiles", read)
    return reads


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
    refresh = _refresh(world.db, world.slack)
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
    reads = _count_reads(world, monkeypatch)
    refresh = _refresh(world.db, world.slack)

    first = _enrol(world, 0, 90)
    assert [refresh.refresh(now=NOW + timedelta(minutes=m)) for m in range(3)] == [30, 30, 30]
    assert reads == [TEAM] and _known(world, first)
    later = _enrol(world, 100, 30)  # in Slack since that read
    assert refresh.refresh(now=NOW + timedelta(minutes=5)) == 30
    assert reads == [TEAM, TEAM] and _known(world, later)


def test_processes_sharing_a_database_read_the_directory_once(
    world: DripWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every worker and replica runs the lookup. The one holding the workspace's lease reads the
    directory and looks its people up, batch after batch; the other leaves them to it (for
    10,000 people, four processes each read users.list, ~11 s, and stored the same profiles, all
    at once while sending). When the holder stops, the lease runs out and another takes over."""
    monkeypatch.setattr(scheduling, "SYNC_PROFILES", 0)
    monkeypatch.setattr(profiles, "PROFILE_BATCH", 30)
    reads = _count_reads(world, monkeypatch)
    elsewhere = Database(world.db.url)  # another process: its own connections
    try:
        one, other = _refresh(world.db, world.slack), _refresh(elsewhere, world.slack)
        first = _enrol(world, 0, 90)
        looked_up = [
            (one.refresh(now=now), other.refresh(now=now))
            for now in (NOW + timedelta(minutes=m) for m in range(3))
        ]
        assert looked_up == [(30, 0), (30, 0), (30, 0)]
        assert reads == [TEAM] and _known(world, first)

        later = _enrol(world, 100, 30)  # `one` stopped after its run at minute 2
        last = _in_slack(world, 200, 30)  # enrolled below
        gone_quiet = NOW + timedelta(minutes=2)
        assert other.refresh(now=gone_quiet + profiles.LOOKUP_LEASE - timedelta(seconds=1)) == 0
        assert not _known(world, later)
        assert other.refresh(now=gone_quiet + profiles.LOOKUP_LEASE) == 30
        assert reads == [TEAM, TEAM] and _known(world, later)

        _enrolled(world, last)  # `one` is back, but `other` holds the lease now
        back = gone_quiet + profiles.LOOKUP_LEASE + timedelta(seconds=30)
        assert (one.refresh(now=back), other.refresh(now=back)) == (0, 30)
        assert reads == [TEAM, TEAM] and _known(world, last)
    finally:
        elsewhere.dispose()


def test_a_batch_from_the_directory_starts_stops_and_moves_lessons_as_lookups_one_by_one_do(
    world: DripWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch looked up from the directory is stored in one transaction; what each profile
    changes is as before: waiting lessons start in the person's zone, an account deleted in
    Slack or gone from it stops theirs, and a zone that changed moves them."""
    monkeypatch.setattr(scheduling, "SYNC_PROFILES", 0)
    zones = ("Europe/Berlin", "Asia/Tokyo")
    people = [world.slack.add_person(f"U{n:03}", f"person{n}", tz=zones[n % 2]) for n in range(30)]
    _enrolled(world, people)
    deleted, gone = people[-2:]
    world.slack.profiles_by_id[deleted] = replace(world.slack.profiles_by_id[deleted], deleted=True)
    del world.slack.profiles_by_id[gone]
    assert len(people) > profiles.BULK_PROFILES  # so the directory is read
    refresh = _refresh(world.db, world.slack)

    assert refresh.refresh(now=NOW) == 29  # everyone in the directory, the deleted one too

    def enrolments() -> dict[str, EnrolmentRecord]:
        return {e.recipient: e for e in world.enrolments.enrolments(TEAM)}

    started = enrolments()
    for n, person in enumerate(people[:-2]):
        assert (started[person].status, started[person].tz) == ("active", zones[n % 2])
        assert started[person].next_due_at is not None
    assert (started[deleted].status, started[gone].status) == ("stopped", "stopped")

    moved = people[1]  # from Tokyo to New York
    world.slack.add_person(moved, "person1", tz="America/New_York")
    assert refresh.refresh(now=NOW + timedelta(days=2)) == 28  # a day old: all looked up again
    after = enrolments()
    assert after[moved].tz == "America/New_York"
    assert after[moved].next_due_at != started[moved].next_due_at
    assert all(after[p] == started[p] for p in people if p != moved)


def test_a_few_people_coming_after_a_directory_read_are_looked_up_in_it(
    world: DripWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fan-out's people come in a few at a time as its lessons go out: those a recent read of
    the directory has are looked up there, not with users.info each; anyone it lacks is."""
    monkeypatch.setattr(scheduling, "SYNC_PROFILES", 0)
    reads = _count_reads(world, monkeypatch)
    asked: list[str] = []
    one = world.slack.profile

    def info(team: str, user_id: str) -> Profile:
        asked.append(user_id)
        return one(team, user_id)

    monkeypatch.setattr(world.slack, "profile", info)
    refresh = _refresh(world.db, world.slack)
    first = _enrol(world, 0, profiles.BULK_PROFILES + 1)
    later = _in_slack(world, 100, 3)  # in Slack at the read, enrolled after it
    asked.clear()  # the lead's own, when they enrolled people
    assert refresh.refresh(now=NOW) == len(first)
    assert (reads, asked) == ([TEAM], [])

    _enrolled(world, later)
    asked.clear()
    assert refresh.refresh(now=NOW + timedelta(minutes=1)) == 3
    assert (reads, asked) == ([TEAM], [])
    assert _known(world, later)

    newcomer = _enrol(world, 200, 1)  # joined Slack since the read: asked about alone
    asked.clear()
    assert refresh.refresh(now=NOW + timedelta(minutes=2)) == 1
    assert (reads, asked) == ([TEAM], newcomer)
    assert _known(world, newcomer)
