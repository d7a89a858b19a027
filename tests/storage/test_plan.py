"""The plan step, set-based: every due group's outcome, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.content.loader import load_catalog
from bot.storage.content import ContentRepository
from bot.storage.db import Database
from bot.storage.drips import DripRepository, EnrolmentRecord, NewEnrolment
from bot.storage.outbox import DueGroup, Outbox

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
GRACE = timedelta(hours=12)
WEEKDAYS = "mon,tue,wed,thu,fri"


def _next_slot(group: DueGroup, after: datetime) -> datetime:
    """A stand-in schedule: zones are told apart by a distinct slot an hour apart."""
    offset = {"Europe/Berlin": 1, "Asia/Kolkata": 2, "America/New_York": 3}.get(group.tz, 0)
    return after.replace(minute=0, second=0, microsecond=0) + timedelta(days=1, hours=offset)


def _drip(drips: DripRepository, course: str, people: dict[str, tuple[str, datetime]]) -> int:
    drip_id = drips.create_drip(
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
    drips.enrol(
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


def _by_recipient(drips: DripRepository) -> dict[str, EnrolmentRecord]:
    return {row.recipient: row for row in drips.enrolments("T1")}


def _at(drips: DripRepository, user: str, position: int) -> None:
    [row] = [row for row in drips.enrolments("T1") if row.recipient == user]
    for _ in range(position - 1):
        drips.advance(row.id, position=_by_recipient(drips)[user].next_position, lesson_count=99)


def test_one_plan_pass_delivers_moves_and_finishes_each_group_once(db: Database) -> None:
    ContentRepository(db).sync(load_catalog(Path("lessons")).catalog, now=NOW)
    drips = DripRepository(db)
    outbox = Outbox(db)
    lessons = drips.course_lesson_count("career-microlearning")
    due = NOW - timedelta(minutes=1)
    career = _drip(
        drips,
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
    security = _drip(drips, "security-basics", {"U7": ("UTC", due)})
    _at(drips, "U3", lessons)
    _at(drips, "U6", lessons + 1)
    _at(drips, "U7", drips.course_lesson_count("security-basics"))
    before = _by_recipient(drips)
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

    report = outbox.plan(now=NOW, grace=GRACE, next_slot=_next_slot)

    after = _by_recipient(drips)
    # U1, U3 and U7 get a lesson; U2's already existed, so it is not counted or doubled.
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

    again = outbox.plan(now=NOW, grace=GRACE, next_slot=_next_slot)
    assert (again.planned, again.moved, again.finished_enrolments) == (0, 0, 0)
    assert _by_recipient(drips) == after


def _next_slot_of(tz: str) -> datetime:
    return _next_slot(
        DueGroup("T1", 0, tz, WEEKDAYS, "09:30", NOW, 1, 1),
        NOW,
    )
