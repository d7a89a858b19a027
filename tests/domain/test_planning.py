"""The plan step's per-group decision, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.planning import Action, Decision, decide

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
GRACE = timedelta(hours=6)


def test_a_lesson_due_now_is_delivered_and_the_group_moves_to_the_next_position() -> None:
    decision = decide(position=2, lessons=5, due_at=NOW, now=NOW, grace=GRACE)
    assert decision == Decision(Action.PLAN, 1, 3, NOW)
    assert not decision.finish


def test_a_slot_still_ahead_is_not_skipped_the_next_slot_comes_after_the_due_instant() -> None:
    ahead = NOW + timedelta(minutes=5)  # planned a little early (the tick's look-ahead)
    assert decide(position=1, lessons=3, due_at=ahead, now=NOW, grace=GRACE).next_after == ahead


def test_a_late_lesson_within_the_grace_is_still_delivered() -> None:
    late = NOW - GRACE
    decision = decide(position=1, lessons=3, due_at=late, now=NOW, grace=GRACE)
    assert decision.action is Action.PLAN
    assert decision.next_after == NOW


def test_a_lesson_fallen_due_longer_ago_than_the_grace_waits_for_the_next_slot() -> None:
    stale = NOW - GRACE - timedelta(seconds=1)
    decision = decide(position=2, lessons=5, due_at=stale, now=NOW, grace=GRACE)
    assert decision == Decision(Action.MOVE, None, 2, NOW)
    assert not decision.finish


def test_the_last_lesson_is_delivered_and_the_enrolments_finish() -> None:
    decision = decide(position=4, lessons=4, due_at=NOW, now=NOW, grace=GRACE)
    assert decision == Decision(Action.PLAN_LAST, 3, 5, None)
    assert decision.finish


@pytest.mark.parametrize("position", [4, 9])
def test_past_the_last_live_lesson_the_enrolments_finish_without_a_delivery(position: int) -> None:
    decision = decide(position=position, lessons=3, due_at=NOW, now=NOW, grace=GRACE)
    assert decision == Decision(Action.FINISH, None, position, None)
    assert decision.finish


def test_a_course_whose_lessons_were_all_retired_finishes() -> None:
    assert decide(position=1, lessons=0, due_at=NOW, now=NOW, grace=GRACE).action is Action.FINISH


def test_a_stale_group_past_the_last_lesson_finishes_rather_than_moving() -> None:
    stale = NOW - timedelta(days=3)
    assert decide(position=6, lessons=5, due_at=stale, now=NOW, grace=GRACE).action is Action.FINISH
