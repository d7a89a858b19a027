"""A lead's drips as a service: pause, resume (a missed slot moves on) and cancel, each only
from a state it makes sense in, and only by a lead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.schedule import Target, TargetKind
from bot.services.refused import Refused
from bot.services.scheduling import ScheduleRequest
from bot.storage.db import Database
from tests.services.drip_world import ANN, COURSE, LEAD, NOW, TEAM, DripWorld, drip_world


@pytest.fixture
def world(db: Database) -> DripWorld:
    return drip_world(db)


def test_pause_resume_and_cancel_a_drip(world: DripWorld) -> None:
    drip_id = world.scheduling.schedule(
        team_id=TEAM,
        lead_id=LEAD,
        request=ScheduleRequest(COURSE, (Target(TargetKind.USER, ANN, "ann"),)),
        now=NOW,
    ).drip_id
    change = world.drips.change
    assert change(team_id=TEAM, lead_id=LEAD, drip_id=drip_id, action="pause", now=NOW).status == (
        "paused"
    )
    with pytest.raises(Refused, match="is paused, so it can't be paused"):
        change(team_id=TEAM, lead_id=LEAD, drip_id=drip_id, action="pause", now=NOW)
    later = NOW + timedelta(days=3)  # Ann's slots to Thursday 09:30 passed meanwhile
    resumed = change(team_id=TEAM, lead_id=LEAD, drip_id=drip_id, action="resume", now=later)
    assert resumed.status == "active"
    [enrolment] = world.enrolments.enrolments(TEAM, drip_id=drip_id)
    assert enrolment.next_due_at == datetime(2026, 11, 27, 8, 30, tzinfo=UTC)  # Friday's
    with pytest.raises(Refused, match="Only leads can cancel drips"):
        change(team_id=TEAM, lead_id=ANN, drip_id=drip_id, action="cancel", now=later)
    cancelled = change(team_id=TEAM, lead_id=LEAD, drip_id=drip_id, action="cancel", now=later)
    assert cancelled.status == "cancelled"
    assert [d.status for d in world.drips.list_drips(team_id=TEAM, lead_id=LEAD, now=later)] == [
        "cancelled"
    ]
    with pytest.raises(Refused, match="There is no drip #999"):
        change(team_id=TEAM, lead_id=LEAD, drip_id=999, action="resume", now=later)
