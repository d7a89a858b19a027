"""Mastery per skill: what a learner still recalls, as a percentage and the questions behind it.

Every question the learner answered counts once for each skill of its course. A question with a
spaced-repetition card counts its retrievability now (0..1, computed by FSRS elsewhere); one
without a card counts its first try, 1 if right and 0 if wrong. Mastery is the mean over those
questions, rounded half up to a whole percent. Skill tags are matched case-insensitively and
shown as first written.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass


@dataclass(frozen=True)
class Evidence:
    """One graded question a learner answered: its course's skills and what it says."""

    question: int | str
    skills: tuple[str, ...]
    _: KW_ONLY
    retrievability: float | None = None  # the card's, when it has one
    first_try_right: bool | None = None  # used when there is no card

    def __post_init__(self) -> None:
        if self.retrievability is not None and not 0.0 <= self.retrievability <= 1.0:
            raise ValueError(f"retrievability must be within 0..1, got {self.retrievability!r}")

    @property
    def value(self) -> float | None:
        """What it says about recall: the card's retrievability, else the first try, else None."""
        if self.retrievability is not None:
            return self.retrievability
        if self.first_try_right is not None:
            return 1.0 if self.first_try_right else 0.0
        return None


@dataclass(frozen=True)
class Mastery:
    skill: str
    percent: int
    questions: int  # how many questions it rests on


def skill_key(skill: str) -> str:
    """How skill tags compare: `Security` and `security ` are the same skill."""
    return skill.strip().casefold()


def mastery(evidence: Iterable[Evidence]) -> tuple[Mastery, ...]:
    """Mastery of every skill with at least one question, sorted by skill."""
    names: dict[str, str] = {}
    values: dict[str, dict[int | str, float]] = {}
    for item in evidence:
        value = item.value
        if value is None:
            continue
        for skill in item.skills:
            key = skill_key(skill)
            if not key:
                continue
            names.setdefault(key, skill.strip())
            values.setdefault(key, {})[item.question] = value  # a question counts once
    return tuple(
        Mastery(skill=names[key], percent=_percent(found.values()), questions=len(found))
        for key, found in sorted(values.items())
    )


def _percent(values: Iterable[float]) -> int:
    items = list(values)
    # Rounded to 9 places first so that a mean of 0.285 is 28.5 (and so 29), not 28.4999….
    return math.floor(round(100 * math.fsum(items) / len(items), 9) + 0.5)
