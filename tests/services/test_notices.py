"""The one way to queue a DM notice: once per key, never to nobody; a finished drip's notice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.schedule import Target, TargetKind
from bot.services.notices import announce_finished
from bot.services.scheduling import ScheduleRequest
from bot.storage.db import Database
from tests.services.drip_world import ANN, COURSE, LEAD, NOW, TEAM, DripWorld, drip_world


@pytest.fixture
def world(db: Database) -> DripWorld:
    return drip_world(db)


def test_a_notice_is_queued_once_per_key_for_the_persons_dm(world: DripWorld) -> None:
    first = world.notices.dm(team_id=TEAM, user_id=ANN, key="hello:1", text="Hi!", now=NOW)
    again = world.notices.dm(team_id=TEAM, user_id=ANN, key="hello:1", text="Hi again", now=NOW)
    other = world.notices.dm(team_id=TEAM, user_id=ANN, key="hello:2", text="Hi!", now=NOW)
    assert (first, again, other) == (True, False, True)
    [one, two] = world.queued()
    assert (one.kind, one.recipient, one.recipient_kind, one.payload) == (
        "notice",
        ANN,
        "dm",
        {"text": "Hi!"},
    )
    assert two.payload == {"text": "Hi!"}


@pytest.mark.parametrize("nobody", [None, ""])
def test_a_notice_to_nobody_is_not_queued(world: DripWorld, nobody: str | None) -> None:
    assert not world.notices.dm(team_id=TEAM, user_id=nobody, key="failed:7", text="x", now=NOW)
    assert world.queued() == []


def test_a_notice_in_a_transaction_that_fails_is_not_queued(world: DripWorld) -> None:
    with pytest.raises(RuntimeError), world.repository.transaction() as tx:
        world.notices.dm(team_id=TEAM, user_id=ANN, key="k", text="x", now=NOW, tx=tx)
        raise RuntimeError("the rest of the use case failed")
    assert world.queued() == []


def test_a_finished_drip_tells_its_lead_and_congratulates_who_joined_alone(
    world: DripWorld,
) -> None:
    lead_drip = world.scheduling.schedule(
        team_id=TEAM,
        lead_id=LEAD,
        request=ScheduleRequest(COURSE, (Target(TargetKind.USER, ANN, "ann"),)),
        now=NOW,
    ).drip_id
    own_drip = world.self_service.join(
        team_id=TEAM, user_id=ANN, course_id="leading-people", now=NOW
    )
    for drip_id in (lead_drip, own_drip.drip_id, lead_drip):
        announce_finished(
            world.notices, world.repository, world.catalog, team_id=TEAM, drip_id=drip_id, now=NOW
        )
    finished = [
        (d.recipient, str((d.payload or {}).get("text", "")).split(" ")[0])
        for d in world.queued(now=NOW + timedelta(seconds=1))
        if "finished" in str(d.payload)
    ]
    # Announced twice, the lead's drip is told once.
    assert sorted(finished) == sorted([(LEAD, ":checkered_flag:"), (ANN, ":tada:")])
