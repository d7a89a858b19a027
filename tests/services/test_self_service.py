"""A learner's own lessons as a service: join once, pull the next lesson, snooze and resume,
set their own days and time, leave."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.domain.schedule import Days
from bot.services.refused import Refused
from bot.storage.db import Database
from tests.services.drip_world import ANN, COURSE, NOW, TEAM, DripWorld, drip_world


@pytest.fixture
def world(db: Database) -> DripWorld:
    return drip_world(db)


def next_due(world: DripWorld) -> datetime | None:
    [enrolment] = world.enrolments.enrolments(TEAM, recipient=ANN, statuses=("active",))
    return enrolment.next_due_at


def test_joining_a_course_starts_at_the_learners_next_slot_and_only_once(
    world: DripWorld,
) -> None:
    joined = world.self_service.join(team_id=TEAM, user_id=ANN, course_id=COURSE, now=NOW)
    # Monday 10:00 in Berlin: the 09:30 slot has passed, so Tuesday's.
    assert (joined.tz, joined.at, joined.first_at) == (
        "Europe/Berlin",
        time(9, 30),
        datetime(2026, 11, 24, 8, 30, tzinfo=UTC),
    )
    with pytest.raises(Refused, match="You're already taking"):
        world.self_service.join(team_id=TEAM, user_id=ANN, course_id=COURSE, now=NOW)
    assert len(world.repository.drips(TEAM)) == 1


def test_the_next_lesson_is_queued_now_and_the_last_one_finishes_the_course(
    world: DripWorld,
) -> None:
    world.self_service.join(team_id=TEAM, user_id=ANN, course_id=COURSE, now=NOW)
    course = world.catalog.require_course(COURSE)
    pulled = [
        world.self_service.next_lesson(team_id=TEAM, user_id=ANN, now=NOW).lesson.id
        for _ in course.lessons
    ]
    assert pulled == [lesson.id for lesson in course.lessons]
    with pytest.raises(Refused, match="You've finished every course you joined"):
        world.self_service.next_lesson(team_id=TEAM, user_id=ANN, now=NOW)
    queued = world.queued()
    lessons = [d for d in queued if d.kind == "lesson"]
    assert [d.lesson for d in lessons] == pulled
    assert all((d.payload or {}).get("pulled_by") == ANN for d in lessons)  # even when snoozed
    finished = [d for d in queued if d.kind == "notice"]
    assert [str((d.payload or {}).get("text")).split(" ")[0] for d in finished] == [":tada:"]


def test_nothing_to_pull_before_joining(world: DripWorld) -> None:
    with pytest.raises(Refused, match="You're not taking a course yet"):
        world.self_service.next_lesson(team_id=TEAM, user_id=ANN, now=NOW)
    assert world.queued() == []


def test_a_snooze_holds_lessons_until_local_midnight_and_resuming_brings_them_back(
    world: DripWorld,
) -> None:
    world.self_service.join(team_id=TEAM, user_id=ANN, course_id=COURSE, now=NOW)
    until = world.self_service.snooze(team_id=TEAM, user_id=ANN, days=7, now=NOW)
    assert until == datetime(2026, 11, 29, 23, 0, tzinfo=UTC)  # Monday 30th, 00:00 in Berlin
    assert next_due(world) == datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
    later = NOW + timedelta(days=1)
    upcoming = world.self_service.resume_own(team_id=TEAM, user_id=ANN, now=later)
    assert upcoming == next_due(world) == datetime(2026, 11, 25, 8, 30, tzinfo=UTC)


def test_own_days_and_time_move_the_next_lesson(world: DripWorld) -> None:
    world.self_service.join(team_id=TEAM, user_id=ANN, course_id=COURSE, now=NOW)
    world.self_service.set_preferences(
        team_id=TEAM, user_id=ANN, days=Days(frozenset({4})), at=time(17, 0), now=NOW
    )
    assert next_due(world) == datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # Friday, 17:00 Berlin


def test_leaving_stops_the_course_and_leaving_again_is_refused(world: DripWorld) -> None:
    joined = world.self_service.join(team_id=TEAM, user_id=ANN, course_id=COURSE, now=NOW)
    world.self_service.leave(team_id=TEAM, user_id=ANN, course_id=COURSE, now=NOW)
    [enrolment] = world.enrolments.enrolments(TEAM, drip_id=joined.drip_id)
    assert (enrolment.status, enrolment.next_due_at) == ("left", None)
    with pytest.raises(Refused, match="nothing to leave"):
        world.self_service.leave(team_id=TEAM, user_id=ANN, course_id=COURSE, now=NOW)
