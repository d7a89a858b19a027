"""The plan step, set-based: every due group's outcome, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.content.loader import load_catalog
from bot.storage.content import ContentRepository
from bot.storage.db import Database
from bot.storage.drips import DripRepository
from bot.storage.enrolments import EnrolmentRecord, EnrolmentRepository, NewEnrolment
from bot.storage.models import PlanSlot
from bot.storage.outbox import Outbox
from bot.storage.plan import DueGroup, PlanApplied, PlanRepository
from tests.support.concurrency import side_by_side

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
GRACE = timedelta(hours=12)
WEEKDAYS = "mon,tue,wed,thu,fri"


def _next_slot(group: DueGroup, after: datetime) -> datetime:
    """A stand-in schedule: zones are told apart by a distinct slot an hour apart."""
    offset = {"Europe/Berlin": 1, "Asia/Kolkata": 2, "America/New_York": 3}.get(group.tz, 0)
    return after.replace(minute=0, second=0, microsecond=0) + timedelta(days=1, hours=offset)


def _drip(db: Database, course: str, people: dict[str, tuple[str, datetime]]) -> int:
    drip_id = DripRepository(db).create_drip(
        team_id="T1",
        course=course,
        created_by="ULEAD",
        days=WEEKDAYS,
        at_time="09:30",
        start_on=None,
        channel_tz="UTC",
        discuss_channel=None,
        targets=[("user", user, user) for user in people],
        now=NOW - timedelta(days=30),
    )
    EnrolmentRepository(db).enrol(
        team_id="T1",
        drip_id=drip_id,
        enrolled_by="ULEAD",
        enrolments=[
            NewEnrolment(user, "dm", tz, WEEKDAYS, "09:30", None, due, "active")
            for user, (tz, due) in people.items()
        ],
        now=NOW - timedelta(days=30),
    )
    return drip_id


def _by_recipient(db: Database) -> dict[str, EnrolmentRecord]:
    return {row.recipient: row for row in EnrolmentRepository(db).enrolments("T1")}


def _at(db: Database, user: str, position: int) -> None:
    [row] = [row for row in EnrolmentRepository(db).enrolments("T1") if row.recipient == user]
    for _ in range(position - 1):
        EnrolmentRepository(db).advance(
            row.id, position=_by_recipient(db)[user].next_position, lesson_count=99
        )


def test_one_plan_pass_delivers_moves_and_finishes_each_group_once(db: Database) -> None:
    ContentRepository(db).sync(load_catalog(Path("lessons")).catalog, now=NOW)
    drips = DripRepository(db)
    plans = PlanRepository(db)
    outbox = Outbox(db)
    lessons = drips.course_lesson_count("career-microlearning")
    due = NOW - timedelta(minutes=1)
    career = _drip(
        db,
        "career-microlearning",
        {
            "U1": ("Europe/Berlin", due),  # first lesson, due now
            "U2": ("Europe/Berlin", due),  # same group; its delivery exists already
            "U3": ("Asia/Kolkata", due),  # at the last lesson
            "U4": ("America/New_York", NOW - GRACE - timedelta(minutes=1)),  # missed while down
            "U5": ("UTC", NOW + timedelta(hours=1)),  # not due yet
            "U6": ("UTC", due),  # past the last lesson (lessons were retired)
        },
    )
    security = _drip(db, "security-basics", {"U7": ("UTC", due)})
    _at(db, "U3", lessons)
    _at(db, "U6", lessons + 1)
    _at(db, "U7", drips.course_lesson_count("security-basics"))
    before = _by_recipient(db)
    assert outbox.enqueue(
        team_id="T1",
        dedupe_key=f"lesson:{before['U2'].id}:1",
        kind="lesson",
        recipient="U2",
        recipient_kind="dm",
        due_at=due,
        now=due,
        lesson=("career-microlearning", "set-specific-goals"),
        drip_id=career,
        enrolment_id=before["U2"].id,
    )

    recorded = plans.plan(now=NOW, grace=GRACE, next_slot=_next_slot)
    # One slot per group: Berlin (U1, U2), Kolkata, New York, UTC (U6), and security's UTC.
    assert (recorded.groups, recorded.due, recorded.recorded) == (5, 6, 5)
    assert _by_recipient(db) == before  # nothing is written per learner yet

    report = plans.apply_planned(now=NOW, limit=100)

    after = _by_recipient(db)
    # U1, U3 and U7 get a lesson; U2's already existed, so it is not counted or doubled.
    assert report.enrolments == 6
    assert report.planned == 3
    assert report.moved == 1
    assert report.finished_enrolments == 3  # U3, U6 and U7
    assert report.finished_drips == (("T1", security),)
    lessons_by_recipient = sorted(
        delivery.recipient for delivery in outbox.deliveries() if delivery.kind == "lesson"
    )
    assert lessons_by_recipient == ["U1", "U2", "U3", "U7"]
    assert (after["U1"].next_position, after["U1"].next_due_at) == (
        2,
        _next_slot_of("Europe/Berlin"),
    )
    assert (after["U2"].next_position, after["U2"].next_due_at) == (
        2,
        _next_slot_of("Europe/Berlin"),
    )
    assert (after["U3"].status, after["U3"].next_due_at) == ("finished", None)
    assert (after["U4"].status, after["U4"].next_position) == ("active", 1)
    assert after["U4"].next_due_at == _next_slot_of("America/New_York")
    assert after["U5"] == before["U5"]
    assert (after["U6"].status, after["U6"].next_position) == ("finished", lessons + 1)
    assert after["U7"].status == "finished"

    again = plans.plan(now=NOW, grace=GRACE, next_slot=_next_slot)
    assert (again.groups, again.recorded) == (0, 0)
    assert plans.apply_planned(now=NOW, limit=100) == PlanApplied()
    assert _by_recipient(db) == after


def _next_slot_of(tz: str) -> datetime:
    return _next_slot(
        DueGroup("T1", 0, tz, WEEKDAYS, "09:30", NOW, 1, 1),
        NOW,
    )


def _crowd(db: Database, count: int, zones: list[str], due: datetime) -> int:
    """One drip of `count` learners spread over `zones`, all due at `due`."""
    return _drip(
        db,
        "career-microlearning",
        {f"U{n:03d}": (zones[n % len(zones)], due) for n in range(count)},
    )


def _synced(db: Database) -> tuple[PlanRepository, Outbox]:
    ContentRepository(db).sync(load_catalog(Path("lessons")).catalog, now=NOW)
    return PlanRepository(db), Outbox(db)


def _slots_left(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(PlanSlot)).scalar_one())


def test_the_plan_step_writes_one_row_per_group_and_chunks_apply_each_learner_once(
    db: Database,
) -> None:
    plans, outbox = _synced(db)
    zones = ["Europe/Berlin", "Asia/Kolkata", "America/New_York"]
    _crowd(db, 25, zones, NOW - timedelta(minutes=1))

    recorded = plans.plan(now=NOW, grace=GRACE, next_slot=_next_slot)
    assert (recorded.groups, recorded.due, recorded.recorded) == (3, 25, 3)
    assert _slots_left(db) == 3
    assert outbox.deliveries() == []
    # Planning again before anything was applied finds the same groups and records nothing new.
    assert plans.plan(now=NOW, grace=GRACE, next_slot=_next_slot).recorded == 0

    chunks = []
    while (applied := plans.apply_planned(now=NOW, limit=4)).enrolments:
        chunks.append(applied.enrolments)
    assert sum(chunks) == 25 and max(chunks) == 4
    assert _slots_left(db) == 0
    lessons = [d for d in outbox.deliveries() if d.kind == "lesson"]
    assert sorted(d.recipient for d in lessons) == [f"U{n:03d}" for n in range(25)]
    after = _by_recipient(db)
    assert {row.next_position for row in after.values()} == {2}
    assert all(row.next_due_at == _next_slot_of(row.tz) for row in after.values())
    assert plans.plan(now=NOW, grace=GRACE, next_slot=_next_slot).groups == 0


def test_a_slot_left_unapplied_longer_than_the_grace_moves_its_learners_instead(
    db: Database,
) -> None:
    plans, outbox = _synced(db)
    _crowd(db, 3, ["Europe/Berlin"], NOW - timedelta(minutes=1))
    assert plans.plan(now=NOW, grace=GRACE, next_slot=_next_slot).recorded == 1

    # The bot went down before applying it, and comes back a day later.
    later = NOW + timedelta(days=1)
    assert plans.plan(now=later, grace=GRACE, next_slot=_next_slot).recorded == 1
    applied = plans.apply_planned(now=later, limit=100)

    assert (applied.planned, applied.moved) == (0, 3)
    assert outbox.deliveries() == []
    assert {row.next_position for row in _by_recipient(db).values()} == {1}


def test_two_processes_applying_one_backlog_take_each_learner_once(database_url: str) -> None:
    setup = Database(database_url)
    try:
        ContentRepository(setup).sync(load_catalog(Path("lessons")).catalog, now=NOW)
        _crowd(setup, 120, ["Europe/Berlin", "Asia/Kolkata"], NOW - timedelta(minutes=1))
        PlanRepository(setup).plan(now=NOW, grace=GRACE, next_slot=_next_slot)
        applied: list[int] = []

        def apply_all(db: Database) -> None:
            while step := PlanRepository(db).apply_planned(now=NOW, limit=7).enrolments:
                applied.append(step)

        side_by_side(database_url, apply_all)
        assert sum(applied) == 120  # no learner counted by both
        lessons = [d for d in Outbox(setup).deliveries() if d.kind == "lesson"]
        assert len(lessons) == 120 and len({d.recipient for d in lessons}) == 120
        assert {row.next_position for row in _by_recipient(setup).values()} == {2}
    finally:
        setup.dispose()
