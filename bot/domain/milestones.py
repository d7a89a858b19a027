"""Milestones: streaks of 3, 7, 30 and 100 days, courses finished and Sticky memory, each once."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

STREAK_MILESTONES = (3, 7, 30, 100)
STICKY_REVIEWS = 10
STICKY_BADGE = "Sticky memory"


class MilestoneKind(StrEnum):
    STREAK = "streak"
    COURSE = "course"
    STICKY = "sticky"


@dataclass(frozen=True)
class FinishedCourse:
    id: str
    title: str


@dataclass(frozen=True)
class LearnerState:
    """What milestones are measured on: best streak, finished courses, reviews answered right."""

    best_streak: int = 0
    courses: frozenset[FinishedCourse] = frozenset()
    reviews_right: int = 0


@dataclass(frozen=True)
class Milestone:
    """A milestone reached; `key` is unique per learner, so it is celebrated once."""

    kind: MilestoneKind
    key: str  # `streak:7`, `course:<course id>`, `sticky`
    badge: str  # `7-day streak`, the course title, `Sticky memory`
    days: int = 0  # the streak length, for streak milestones


def reached(before: LearnerState, after: LearnerState) -> tuple[Milestone, ...]:
    """Milestones `after` has and `before` had not: streaks ascending, then courses, then Sticky.

    Streak milestones go by the best streak, which only grows, so a run that breaks and builds
    up again is not celebrated twice; a jump past several thresholds reaches each of them.
    """
    found = [
        Milestone(MilestoneKind.STREAK, f"streak:{days}", f"{days}-day streak", days=days)
        for days in STREAK_MILESTONES
        if before.best_streak < days <= after.best_streak
    ]
    known = {course.id for course in before.courses}
    found += [
        Milestone(MilestoneKind.COURSE, f"course:{course.id}", course.title)
        for course in sorted(after.courses, key=lambda c: c.id)
        if course.id not in known
    ]
    if before.reviews_right < STICKY_REVIEWS <= after.reviews_right:
        found.append(Milestone(MilestoneKind.STICKY, "sticky", STICKY_BADGE))
    return tuple(found)


def celebration(milestone: Milestone) -> str:
    """The DM that celebrates a milestone (Slack mrkdwn)."""
    if milestone.kind is MilestoneKind.COURSE:
        return (
            f":mortar_board: You finished *{milestone.badge}*, every lesson of it. "
            "That's a badge on your App Home now; `/learn courses` has more when you're ready."
        )
    if milestone.kind is MilestoneKind.STICKY:
        return (
            f":brain: *{STICKY_BADGE}*: {STICKY_REVIEWS} reviews answered right. What you learned "
            "weeks ago is still there — that's the spacing working. New badge on your App Home."
        )
    return _STREAK_TEXT.get(milestone.days, _STREAK_TEXT[0]).format(days=milestone.days)


_STREAK_TEXT = {
    0: ":fire: *{days}-day streak!* {days} learning days in a row — keep it going.",
    3: ":fire: *3-day streak!* A lesson on each of your last 3 learning days. "
    "Small and steady is exactly how this works — see you at the next one.",
    7: ":fire: *7-day streak!* {days} learning days in a row without a miss. "
    "It's a habit now; `/learn progress` shows your points and badges.",
    30: ":trophy: *30-day streak!* {days} learning days in a row. "
    "Very few people get here — thank you for sticking with it.",
    100: ":star2: *100-day streak!* {days} learning days in a row. "
    "That's a hundred small steps; take a moment to look back at how far you've come.",
}
