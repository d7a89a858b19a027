"""Points: what each learning event is worth, and the cause key that makes it count once."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PointEvent(StrEnum):
    """Something a learner did that earns points."""

    RIGHT_FIRST_TRY = "right_first_try"  # a graded question answered right at the first attempt
    ANSWER = "answer"  # any other answer: wrong, a review, a poll, an open answer
    LESSON_DONE = "done"  # a lesson marked done
    FIRST_REPLY = "reply"  # the learner's first reply in a lesson's discussion thread


POINTS = {
    PointEvent.RIGHT_FIRST_TRY: 10,
    PointEvent.ANSWER: 2,
    PointEvent.LESSON_DONE: 5,
    PointEvent.FIRST_REPLY: 5,
}


@dataclass(frozen=True)
class Award:
    """One ledger row: the event, its points, and a cause unique per learner (one row per cause)."""

    event: PointEvent
    points: int
    cause: str


def points_for(event: PointEvent) -> int:
    """The points an event of this kind earns."""
    return POINTS[event]


def for_answer(*, question: int | str, attempt: int, correct: bool | None) -> Award:
    """10 for a right first try (attempt 1), else 2; cause `answer:<question>:<attempt>`."""
    if attempt < 1:
        raise ValueError("attempts count from 1")
    event = PointEvent.RIGHT_FIRST_TRY if attempt == 1 and correct else PointEvent.ANSWER
    return _award(event, f"answer:{question}:{attempt}")


def for_lesson_done(*, delivery: int | str) -> Award:
    """5 for a lesson marked done; cause `done:<delivery>`."""
    return _award(PointEvent.LESSON_DONE, f"done:{delivery}")


def for_first_reply(*, thread: str) -> Award:
    """5 for the learner's first reply in a discussion thread; cause `reply:<thread>`.

    `thread` names the thread, e.g. `<channel>:<thread ts>`; later replies in it carry the same
    cause, so the ledger's unique key turns them away.
    """
    return _award(PointEvent.FIRST_REPLY, f"reply:{thread}")


def _award(event: PointEvent, cause: str) -> Award:
    return Award(event=event, points=points_for(event), cause=cause)
