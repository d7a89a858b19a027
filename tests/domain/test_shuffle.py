"""The shown order of a question's options: per learner and question, the same every time."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from itertools import permutations

import pytest

from bot.domain.lesson import Option, Question, QuestionKind
from bot.domain.shuffle import option_order, permutation, refers_to_places

FIVE = tuple(Option(f"Option {n}", correct=n == 1) for n in range(5))


def order(question: Question, learner: str = "U1", position: int = 1) -> tuple[int, ...]:
    return option_order(
        question, team_id="T1", learner=learner, lesson_key="phish/tells", position=position
    )


def test_the_order_is_pinned_so_it_survives_restarts_and_upgrades() -> None:
    # A change here reshuffles every learner's questions, answered ones included: don't.
    assert permutation(10, "seed") == (2, 1, 0, 3, 9, 5, 6, 7, 8, 4)
    assert order(Question("Which?", options=FIVE)) == permutation(5, "T1\x1fU1\x1fphish/tells\x1f1")


def test_the_same_in_another_process_whatever_its_hash_seed() -> None:
    code = (
        "from bot.domain.shuffle import permutation; "
        "print(permutation(7, 'T1\\x1fU9\\x1fa/b\\x1f3'))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    expected = permutation(7, "T1\x1fU9\x1fa/b\x1f3")
    assert outputs == {f"{expected}\n"}


def test_learners_and_questions_get_orders_of_their_own() -> None:
    question = Question("Which?", options=FIVE)
    by_learner = {order(question, learner=f"U{n}") for n in range(8)}
    by_position = {order(question, position=n) for n in range(1, 9)}
    assert len(by_learner) > 1 and len(by_position) > 1
    assert all(sorted(shown) == list(range(5)) for shown in by_learner | by_position)


def test_every_order_is_about_as_likely() -> None:
    counts = Counter(permutation(3, f"seed {n}") for n in range(6000))
    assert set(counts) == set(permutations(range(3)))
    assert all(800 < count < 1200 for count in counts.values()), counts


@pytest.mark.parametrize(
    "question",
    [
        Question("Sure?", QuestionKind.TRUE_FALSE, (Option("True", True), Option("False"))),
        Question("Which?", options=FIVE, shuffle=False),
        Question("Which?", QuestionKind.MULTIPLE, FIVE, shuffle=False),
        Question("Thoughts?", QuestionKind.OPEN),
    ],
    ids=["true-false", "single-kept", "multiple-kept", "open"],
)
def test_file_order_where_the_author_or_the_kind_keeps_it(question: Question) -> None:
    assert all(
        order(question, learner=f"U{n}") == tuple(range(len(question.options))) for n in range(8)
    )


@pytest.mark.parametrize(
    ("text", "by_place"),
    [
        ("All of the above", True),
        ("**None of the above.**", True),
        ("Both of them", True),
        ("A and C", True),
        ("A, B or D", True),
        ("Only B", True),
        ("Options 1 and 3", True),
        ("Above and beyond", False),
        ("Vitamin A and C", False),
        ("A look-alike domain", False),
        ("Answer 3 emails a day", False),
        ("B", False),
    ],
)
def test_options_that_point_at_others_by_place(text: str, by_place: bool) -> None:
    assert refers_to_places(text) is by_place
