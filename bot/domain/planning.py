"""The plan step's decision for a group of learners due together: deliver, finish or move on.

A group is every enrolment of one drip at the same lesson position, due at the same instant in
the same zone and schedule. The tick decides once per group:

- past the course's last lesson (lessons were retired meanwhile): finish the enrolments;
- fell due longer ago than the catch-up grace (the bot was down): deliver nothing, move the
  group to its next slot after now;
- at the course's last lesson: deliver it and finish;
- otherwise: deliver the lesson and move to the next position, due at the next slot after the
  later of now and the due instant (a slot that is still ahead is not skipped).

Storage reads the groups and writes the outcome; the next slot itself is the schedule's to say,
so the decision names the instant the next slot must come after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Action(StrEnum):
    """What the plan step does with a group (stored in plan slots as these values)."""

    FINISH = "finish"  # past the course's last lesson: finish
    MOVE = "move"  # fell due longer ago than the grace: wait for the next slot
    PLAN = "plan"  # deliver the lesson, move to the next one
    PLAN_LAST = "plan_last"  # deliver the course's last lesson and finish


@dataclass(frozen=True)
class Decision:
    action: Action
    lesson_index: int | None  # 0-based index into the course's live lessons to deliver, or None
    new_position: int  # the position the enrolments move to
    next_after: datetime | None  # the next slot must come after this instant; None: no next slot

    @property
    def finish(self) -> bool:
        return self.action in (Action.FINISH, Action.PLAN_LAST)


def decide(
    *, position: int, lessons: int, due_at: datetime, now: datetime, grace: timedelta
) -> Decision:
    """The decision for a group at 1-based `position` of a course with `lessons` live lessons."""
    if position > lessons:
        return Decision(Action.FINISH, None, position, None)
    if now - due_at > grace:
        return Decision(Action.MOVE, None, position, now)
    if position >= lessons:
        return Decision(Action.PLAN_LAST, position - 1, position + 1, None)
    return Decision(Action.PLAN, position - 1, position + 1, max(now, due_at))
