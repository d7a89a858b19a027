"""Recommendations: lessons not done yet, from the goal's skill, else weak skills, else peers.

Each course gives at most one recommendation, its first lesson not done, and the first rule
that reaches a course names the reason. Rules in order, filling up to the limit:

1. the goal: courses tagged with the learner's goal skill, in catalog order;
2. weak skills: skills with at least MIN_EVIDENCE questions and mastery under WEAK_BELOW %,
   weakest first (ties by skill), each with its courses in catalog order;
3. peers: courses that people sharing a drip with the learner are taking and the learner is
   not, most people first (ties in catalog order).

So the first recommendation follows the issue's "goal, else weakest skill, else peers", and the
rest of the list is the next best. Reasons are Slack mrkdwn.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from bot.domain.lesson import Catalog, Course, Lesson
from bot.domain.mastery import Mastery, skill_key

MIN_EVIDENCE = 3  # questions a skill's mastery must rest on before it is called weak
WEAK_BELOW = 80  # percent: at or above this a skill is not weak
DEFAULT_LIMIT = 3


@dataclass(frozen=True)
class Recommendation:
    course: Course
    lesson: Lesson
    reason: str


def recommend(
    catalog: Catalog,
    *,
    done: frozenset[str],
    goal: str | None = None,
    mastery: Sequence[Mastery] = (),
    peers: Mapping[str, int] | None = None,
    enrolled: frozenset[str] = frozenset(),
    limit: int = DEFAULT_LIMIT,
) -> tuple[Recommendation, ...]:
    """Up to `limit` next lessons for a learner, best first, each with why.

    `done` holds lesson keys (`course/lesson`); `peers` maps a course id to how many other
    people in the learner's drips take it; `enrolled` holds the course ids the learner takes.
    """
    picked: dict[str, Recommendation] = {}
    for course, reason in _candidates(catalog, goal, mastery, peers or {}, enrolled):
        if len(picked) >= limit:
            break
        lesson = _first_not_done(course, done)
        if course.id not in picked and lesson is not None:
            picked[course.id] = Recommendation(course=course, lesson=lesson, reason=reason)
    return tuple(picked.values())


def weak_skills(mastery: Sequence[Mastery]) -> list[Mastery]:
    """Skills with enough evidence and mastery under WEAK_BELOW %, weakest first."""
    weak = [m for m in mastery if m.questions >= MIN_EVIDENCE and m.percent < WEAK_BELOW]
    return sorted(weak, key=lambda m: (m.percent, skill_key(m.skill)))


def _candidates(
    catalog: Catalog,
    goal: str | None,
    mastery: Sequence[Mastery],
    peers: Mapping[str, int],
    enrolled: frozenset[str],
) -> Iterator[tuple[Course, str]]:
    if goal and skill_key(goal):
        for course in _tagged(catalog, goal):
            yield course, f"your goal: *{goal.strip()}*"
    for skill in weak_skills(mastery):
        for course in _tagged(catalog, skill.skill):
            yield course, f"your *{skill.skill}* mastery is {skill.percent} %"
    order = {course.id: index for index, course in enumerate(catalog.courses)}
    taken = [c for c in catalog.courses if peers.get(c.id, 0) > 0 and c.id not in enrolled]
    for course in sorted(taken, key=lambda c: (-peers[c.id], order[c.id])):
        count = peers[course.id]
        people = "1 person in your drips is" if count == 1 else f"{count} people in your drips are"
        yield course, f"{people} taking *{course.title}*"


def _tagged(catalog: Catalog, skill: str) -> list[Course]:
    key = skill_key(skill)
    return [c for c in catalog.courses if key in {skill_key(tag) for tag in c.skills}]


def _first_not_done(course: Course, done: frozenset[str]) -> Lesson | None:
    return next((lesson for lesson in course.lessons if lesson.key not in done), None)
