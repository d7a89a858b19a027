"""Points per event with one cause key each, and milestones reached exactly once."""

from __future__ import annotations

import pytest

from bot.domain.milestones import (
    FinishedCourse,
    LearnerState,
    Milestone,
    MilestoneKind,
    celebration,
    reached,
)
from bot.domain.points import (
    Award,
    PointEvent,
    for_answer,
    for_first_reply,
    for_lesson_done,
    points_for,
)


def test_the_point_rules_of_the_issue() -> None:
    assert [points_for(event) for event in PointEvent] == [10, 2, 5, 5]
    assert for_answer(question=42, attempt=1, correct=True) == Award(
        PointEvent.RIGHT_FIRST_TRY, 10, "answer:42:1"
    )
    assert for_answer(question=42, attempt=1, correct=False).points == 2
    assert for_answer(question=42, attempt=1, correct=None).points == 2  # a poll or open answer
    # A review answered right is not a first try.
    assert for_answer(question=42, attempt=3, correct=True) == Award(
        PointEvent.ANSWER, 2, "answer:42:3"
    )
    assert for_lesson_done(delivery=7) == Award(PointEvent.LESSON_DONE, 5, "done:7")
    assert for_first_reply(thread="C1:1700000000.000100") == Award(
        PointEvent.FIRST_REPLY, 5, "reply:C1:1700000000.000100"
    )
    with pytest.raises(ValueError, match="from 1"):
        for_answer(question=42, attempt=0, correct=True)


def test_the_same_cause_gives_the_same_key_and_different_causes_differ() -> None:
    """The ledger's unique key does the rest: a retried click or a second reply adds nothing."""
    assert for_answer(question=1, attempt=1, correct=True) == for_answer(
        question=1, attempt=1, correct=True
    )
    causes = {
        for_answer(question=1, attempt=1, correct=True).cause,
        for_answer(question=1, attempt=2, correct=True).cause,
        for_answer(question=11, attempt=1, correct=True).cause,
        for_lesson_done(delivery=1).cause,
        for_first_reply(thread="C1:1.1").cause,
    }
    assert len(causes) == 5
    assert for_first_reply(thread="C1:1.1") == for_first_reply(thread="C1:1.1")


def test_streak_milestones_go_by_the_best_streak_so_each_comes_once() -> None:
    assert reached(LearnerState(best_streak=2), LearnerState(best_streak=3)) == (
        Milestone(MilestoneKind.STREAK, "streak:3", "3-day streak", days=3),
    )
    assert reached(LearnerState(best_streak=3), LearnerState(best_streak=3)) == ()
    assert reached(LearnerState(best_streak=3), LearnerState(best_streak=4)) == ()
    # A jump (a history imported at once) reaches each threshold passed, in order.
    keys = [m.key for m in reached(LearnerState(), LearnerState(best_streak=31))]
    assert keys == ["streak:3", "streak:7", "streak:30"]
    assert [
        m.key for m in reached(LearnerState(best_streak=99), LearnerState(best_streak=100))
    ] == ["streak:100"]


def test_a_finished_course_is_a_badge_named_after_it_and_sticky_memory_comes_at_ten() -> None:
    security = FinishedCourse("security-basics", "Security basics")
    people = FinishedCourse("leading-people", "Leading people")
    before = LearnerState(best_streak=6, courses=frozenset({security}), reviews_right=9)
    after = LearnerState(best_streak=7, courses=frozenset({security, people}), reviews_right=10)
    assert reached(before, after) == (
        Milestone(MilestoneKind.STREAK, "streak:7", "7-day streak", days=7),
        Milestone(MilestoneKind.COURSE, "course:leading-people", "Leading people"),
        Milestone(MilestoneKind.STICKY, "sticky", "Sticky memory"),
    )
    assert reached(after, after) == ()
    assert reached(after, LearnerState(7, after.courses, reviews_right=25)) == ()
    # A course renamed after it was finished is the same course: no second badge.
    renamed = LearnerState(7, frozenset({security, FinishedCourse("leading-people", "Lead!")}), 10)
    assert reached(after, renamed) == ()


def test_each_celebration_is_specific() -> None:
    texts = [celebration(m) for m in reached(LearnerState(), LearnerState(best_streak=100))]
    assert [text.split("*")[1] for text in texts] == [
        "3-day streak!",
        "7-day streak!",
        "30-day streak!",
        "100-day streak!",
    ]
    assert "100 learning days in a row" in texts[-1]
    course = Milestone(MilestoneKind.COURSE, "course:c", "Leading people")
    assert "*Leading people*" in celebration(course)
    sticky = celebration(Milestone(MilestoneKind.STICKY, "sticky", "Sticky memory"))
    assert "*Sticky memory*" in sticky and "10 reviews" in sticky
    odd = celebration(Milestone(MilestoneKind.STREAK, "streak:5", "5-day streak", days=5))
    assert "*5-day streak!* 5 learning days" in odd
