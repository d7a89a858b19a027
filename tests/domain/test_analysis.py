"""Question analysis on a synthetic answer set whose pick rates and discrimination are known."""

from __future__ import annotations

import pytest

from bot.domain.analysis import (
    FirstTry,
    Flag,
    FlagKind,
    OptionStats,
    QuestionAnalysis,
    analyse,
    discrimination,
)
from bot.domain.lesson import Option, Question, QuestionKind

LEARNERS = [f"L{n:02}" for n in range(1, 21)]  # L01 … L20
SCORES = {learner: float(n) for n, learner in enumerate(LEARNERS, start=1)}  # L20 scores best


def single(*texts: str, right: int = 0) -> Question:
    options = tuple(Option(text, correct=i == right) for i, text in enumerate(texts))
    return Question("?", QuestionKind.SINGLE, options)


def tries(question: str, picks: dict[str, set[int]], right: set[int]) -> list[FirstTry]:
    return [
        FirstTry(learner, question, frozenset(chosen), chosen == right)
        for learner, chosen in picks.items()
    ]


def test_a_question_that_separates_strong_from_weak_learners() -> None:
    """L11–L20 pick A (right), L01–L06 pick B, L07–L10 pick C; nobody picks D."""
    picks = {learner: {0} for learner in LEARNERS[10:]}
    picks |= {learner: {1} for learner in LEARNERS[:6]}
    picks |= {learner: {2} for learner in LEARNERS[6:10]}
    (found,) = analyse([("q1", single("A", "B", "C", "D"))], tries("q1", picks, {0}), SCORES)
    assert found == QuestionAnalysis(
        question="q1",
        answered=20,
        first_try_right=10,
        accuracy=0.5,
        options=(
            OptionStats(0, "A", True, 10, 0.5),
            OptionStats(1, "B", False, 6, 0.3),
            OptionStats(2, "C", False, 4, 0.2),
            OptionStats(3, "D", False, 0, 0.0),
        ),
        # 27 % of 20 is 5.4 → 5: top five (L16–L20) all right, bottom five (L01–L05) all wrong.
        discrimination=1.0,
        flags=(Flag(FlagKind.UNPICKED, 3),),
    )


def test_a_hard_question_the_weakest_get_right() -> None:
    """Only L01–L03 get it right: 15 %, and the bottom five do better than the top five."""
    picks = {learner: {0} if learner in {"L01", "L02", "L03"} else {1} for learner in LEARNERS}
    (found,) = analyse([("q2", single("X", "Y"))], tries("q2", picks, {0}), SCORES)
    assert found.accuracy == pytest.approx(0.15)
    assert found.discrimination == pytest.approx(0.0 - 3 / 5)
    assert found.flags == (Flag(FlagKind.HARD), Flag(FlagKind.NEGATIVE))


def test_easy_is_strictly_above_95_percent_and_few_answers_raise_no_flag() -> None:
    question = single("R", "W1", "W2")
    nineteen = {learner: {0} for learner in LEARNERS[1:]} | {"L01": {1}}
    (found,) = analyse([("q", question)], tries("q", nineteen, {0}), SCORES)
    assert found.accuracy == 0.95
    assert found.flags == (Flag(FlagKind.UNPICKED, 2),)  # W2: 0 %; W1 at 5 % is not under 5 %
    everyone = {learner: {0} for learner in LEARNERS}
    (found,) = analyse([("q", question)], tries("q", everyone, {0}), SCORES)
    assert found.flags == (
        Flag(FlagKind.EASY),
        Flag(FlagKind.UNPICKED, 1),
        Flag(FlagKind.UNPICKED, 2),
    )
    four = {learner: {0} for learner in LEARNERS[:4]}
    (few,) = analyse([("q", question)], tries("q", four, {0}), SCORES)
    assert few.accuracy == 1.0 and few.flags == () and few.discrimination is None
    (asked,) = analyse([("q", question)], tries("q", four, {0}), SCORES, min_answers=1)
    assert Flag(FlagKind.EASY) in asked.flags


def test_multiple_choice_pick_rates_polls_and_unscored_learners() -> None:
    multiple = Question(
        "?", QuestionKind.MULTIPLE, (Option("a", True), Option("b", True), Option("c"))
    )
    poll = Question("?", QuestionKind.POLL, (Option("yes"), Option("no")))
    answers = [
        FirstTry("L01", "m", frozenset({0, 1}), True),
        FirstTry("L02", "m", frozenset({0, 2}), False),
        FirstTry("L02", "m", frozenset({0, 1}), True),  # not a first try: ignored
        FirstTry("L03", "m", frozenset({0}), False),
        FirstTry("NEW", "m", frozenset({1}), False),  # no course score yet: still counted here
        FirstTry("L01", "p", frozenset({0}), None),
        FirstTry("L01", "elsewhere", frozenset({0}), True),  # not asked about: ignored
    ]
    m, p = analyse([("m", multiple), ("p", poll)], answers, SCORES)
    assert (m.answered, m.first_try_right, m.accuracy) == (4, 1, 0.25)
    assert [(o.picks, o.pick_rate) for o in m.options] == [(3, 0.75), (2, 0.5), (1, 0.25)]
    assert m.discrimination is None  # 3 scored learners: far below 10
    assert p == QuestionAnalysis("p", 1, None, None, (), None, ())
    (unanswered,) = analyse([("u", single("A", "B"))], [], SCORES)
    assert unanswered.accuracy is None and unanswered.options[1].pick_rate is None
    assert unanswered.flags == ()


@pytest.mark.parametrize(("learners", "group"), [(10, 3), (11, 3), (12, 3), (13, 4), (100, 27)])
def test_the_groups_are_27_percent_rounded_half_up(learners: int, group: int) -> None:
    """Only the learner ranked `group`-th is right: the top group's accuracy is 1/group."""
    rows = [
        (float(learners - rank), f"L{rank:03}", rank == group) for rank in range(1, learners + 1)
    ]
    assert discrimination(rows) == pytest.approx(1 / group)


def test_below_ten_learners_there_is_no_discrimination_and_ties_cut_by_learner_id() -> None:
    assert discrimination([(float(n), f"L{n}", True) for n in range(9)]) is None
    # Ten learners all scoring 1.0: ranked by id, so L00–L02 are the top and L07–L09 the bottom.
    rows = [(1.0, f"L{n:02}", n < 3) for n in range(10)]
    assert discrimination(rows) == 1.0
    assert discrimination(list(reversed(rows))) == 1.0
