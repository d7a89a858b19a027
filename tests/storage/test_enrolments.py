"""Enrolments: finishing a drip is one function, in the caller's unit of work or its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.content.loader import load_catalog
from bot.storage.content import ContentRepository
from bot.storage.db import Database
from bot.storage.drips import DripRepository
from bot.storage.enrolments import EnrolmentRepository, NewEnrolment

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _drip(db: Database, *people: str) -> int:
    ContentRepository(db).sync(load_catalog(Path("lessons")).catalog, now=NOW)
    drip_id = DripRepository(db).create_drip(
        team_id="T1",
        course="career-microlearning",
        created_by="ULEAD",
        days="mon,tue,wed,thu,fri",
        at_time="09:30",
        start_on=None,
        channel_tz="UTC",
        discuss_channel=None,
        targets=[("user", user, user) for user in people],
        now=NOW,
    )
    EnrolmentRepository(db).enrol(
        team_id="T1",
        drip_id=drip_id,
        enrolled_by="ULEAD",
        enrolments=[
            NewEnrolment(user, "dm", "UTC", "mon,tue,wed,thu,fri", "09:30", None, NOW, "active")
            for user in people
        ],
        now=NOW,
    )
    return drip_id


def _status(db: Database, drip_id: int) -> str:
    drip = DripRepository(db).drip("T1", drip_id)
    assert drip is not None
    return drip.status


def test_a_drip_finishes_once_when_its_last_live_enrolment_ends(db: Database) -> None:
    drip_id = _drip(db, "U1", "U2")
    enrolments = EnrolmentRepository(db)
    first, second = enrolments.enrolments("T1", drip_id=drip_id)

    enrolments.stop(first.id)
    assert not enrolments.finish_drip("T1", drip_id, now=NOW)  # U2 still learns
    assert _status(db, drip_id) == "active"

    enrolments.pause(second.id, position=None)  # paused is still live
    assert not enrolments.finish_drip("T1", drip_id, now=NOW)

    enrolments.stop(second.id)
    assert enrolments.finish_drip("T1", drip_id, now=NOW + timedelta(hours=1))
    assert _status(db, drip_id) == "finished"
    assert not enrolments.finish_drip("T1", drip_id, now=NOW + timedelta(hours=2))  # once


def test_finishing_in_a_unit_of_work_that_fails_leaves_the_drip_active(db: Database) -> None:
    drip_id = _drip(db, "U1")
    enrolments = EnrolmentRepository(db)
    [only] = enrolments.enrolments("T1", drip_id=drip_id)
    enrolments.stop(only.id)

    with pytest.raises(RuntimeError), DripRepository(db).transaction() as tx:
        assert enrolments.finish_drip("T1", drip_id, now=NOW, tx=tx)
        raise RuntimeError("the announcement could not be queued")

    assert _status(db, drip_id) == "active"
    assert enrolments.finish_drip("T1", drip_id, now=NOW)
