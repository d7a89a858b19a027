"""Question analysis for authors: first-try accuracy, option pick rates, discrimination, flags.

Discrimination is computed per question over the learners who answered it at the first try and
have a course score: ranked by score (ties by learner id, so the cut is deterministic and
unrelated to the answer), the top and bottom groups each hold 27 % of them rounded half up
(10 learners → 3, 11 → 3, 13 → 4), and discrimination is the top group's first-try accuracy
minus the bottom group's. Below MIN_DISCRIMINATION learners it is None.
Flags need FLAG_MIN_ANSWERS first tries by default (an author is not told "nearly everyone"
of two people); rates are compared strictly (> 95 %, < 25 %, < 5 %).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.lesson import Option, Question

MIN_DISCRIMINATION = 10
GROUP_PERCENT = 27
FLAG_MIN_ANSWERS = 5
EASY_ABOVE = 0.95
HARD_BELOW = 0.25
UNPICKED_BELOW = 0.05


@dataclass(frozen=True)
class FirstTry:
    """A learner's first answer to a question: the option indexes chosen, and if it was right."""

    learner: str
    question: str
    chosen: frozenset[int]
    correct: bool | None  # None for polls and open questions


class FlagKind(StrEnum):
    EASY = "nearly everyone right"
    HARD = "nearly everyone wrong"
    UNPICKED = "distractor nobody picks"
    NEGATIVE = "negative discrimination"


@dataclass(frozen=True)
class Flag:
    kind: FlagKind
    option: int | None = None  # the distractor's index, for UNPICKED


@dataclass(frozen=True)
class OptionStats:
    index: int
    text: str
    correct: bool
    picks: int
    pick_rate: float | None  # picks / first tries; options of a multiple choice add up past 1


@dataclass(frozen=True)
class QuestionAnalysis:
    question: str
    answered: int  # learners with a first try
    first_try_right: int | None  # None for polls and open questions
    accuracy: float | None
    options: tuple[OptionStats, ...]  # empty for polls and open questions
    discrimination: float | None
    flags: tuple[Flag, ...]


def analyse(
    questions: Sequence[tuple[str, Question]],
    first_tries: Iterable[FirstTry],
    scores: Mapping[str, float],
    *,
    min_answers: int = FLAG_MIN_ANSWERS,
) -> tuple[QuestionAnalysis, ...]:
    """Analysis of each question (keyed as given, in the order given) from learners' first tries.

    `scores` maps a learner to their course score (any scale, higher is better). A second row
    for the same learner and question is ignored: only the first one counts. Flags are raised
    from `min_answers` first tries on.
    """
    by_question: dict[str, dict[str, FirstTry]] = {key: {} for key, _ in questions}
    for attempt in first_tries:
        tries = by_question.get(attempt.question)
        if tries is not None:
            tries.setdefault(attempt.learner, attempt)
    return tuple(
        _analyse(key, question, list(by_question[key].values()), scores, min_answers)
        for key, question in questions
    )


def discrimination(results: Sequence[tuple[float, str, bool]]) -> float | None:
    """Top-27 % minus bottom-27 % first-try accuracy from (course score, learner, right) rows."""
    if len(results) < MIN_DISCRIMINATION:
        return None
    group = (GROUP_PERCENT * len(results) + 50) // 100
    ranked = sorted(results, key=lambda row: (-row[0], row[1]))
    top, bottom = ranked[:group], ranked[-group:]
    return _share(r for _, _, r in top) - _share(r for _, _, r in bottom)


def _analyse(
    key: str,
    question: Question,
    tries: list[FirstTry],
    scores: Mapping[str, float],
    min_answers: int,
) -> QuestionAnalysis:
    answered = len(tries)
    if not question.kind.graded:
        return QuestionAnalysis(key, answered, None, None, (), None, ())
    right = sum(1 for t in tries if t.correct)
    options = tuple(_option(index, option, tries) for index, option in enumerate(question.options))
    rows = [(scores[t.learner], t.learner, bool(t.correct)) for t in tries if t.learner in scores]
    spread = discrimination(rows)
    accuracy = right / answered if answered else None
    flags = _flags(accuracy, options, spread) if answered >= min_answers else ()
    return QuestionAnalysis(key, answered, right, accuracy, options, spread, flags)


def _option(index: int, option: Option, tries: list[FirstTry]) -> OptionStats:
    picks = sum(1 for t in tries if index in t.chosen)
    rate = picks / len(tries) if tries else None
    return OptionStats(index, option.text, option.correct, picks, rate)


def _flags(
    accuracy: float | None, options: tuple[OptionStats, ...], spread: float | None
) -> tuple[Flag, ...]:
    if accuracy is None:
        return ()
    flags: list[Flag] = []
    if accuracy > EASY_ABOVE:
        flags.append(Flag(FlagKind.EASY))
    if accuracy < HARD_BELOW:
        flags.append(Flag(FlagKind.HARD))
    flags += [
        Flag(FlagKind.UNPICKED, option.index)
        for option in options
        if not option.correct and (option.pick_rate or 0.0) < UNPICKED_BELOW
    ]
    if spread is not None and spread < 0:
        flags.append(Flag(FlagKind.NEGATIVE))
    return tuple(flags)


def _share(values: Iterable[bool]) -> float:
    items = list(values)
    return sum(items) / len(items)
