"""Aiken import: one single-answer question per block, line-numbered reasons for broken ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content.importers import BankError, ParsedBank, Skipped, aiken
from bot.domain.lesson import QuestionKind

GOOD = """\
What is the correct answer to this question?
A. Is it this one?
B. Maybe this answer?
C) Possibly this one?
D) Must be this one!
ANSWER: D

Which LMS has the most quiz import formats?
A) Moodle
B) ATutor
ANSWER: A
"""


def parse_text(tmp_path: Path, text: str) -> ParsedBank:
    path = tmp_path / "bank.txt"
    path.write_text(text, encoding="utf-8")
    return aiken.parse(path)


def test_questions_options_and_answers(tmp_path: Path) -> None:
    bank = parse_text(tmp_path, GOOD)
    assert bank.skipped == []
    assert bank.warnings == []
    first, second = (question for question, _ in bank.questions)
    assert first.text == "What is the correct answer to this question?"
    assert first.kind is QuestionKind.SINGLE
    assert [o.text for o in first.options] == [
        "Is it this one?",
        "Maybe this answer?",
        "Possibly this one?",
        "Must be this one!",
    ]
    assert first.correct_indexes == {3}
    assert [o.source.line for o in first.options if o.source] == [2, 3, 4, 5]
    assert (second.text, second.correct_indexes) == (
        "Which LMS has the most quiz import formats?",
        frozenset({0}),
    )
    assert [q.source.line for q, _ in bank.questions if q.source] == [1, 8]
    assert [category for _, category in bank.questions] == [None, None]
    assert bank.names == [
        "What is the correct answer to this question?",
        "Which LMS has the most quiz import formats?",
    ]


def test_questions_may_follow_each_other_without_blank_lines(tmp_path: Path) -> None:
    bank = parse_text(tmp_path, "One?\nA. x\nB. y\nANSWER: B\nTwo?\nA. x\nB. y\nanswer: a\n")
    assert [(q.text, q.correct_indexes) for q, _ in bank.questions] == [
        ("One?", frozenset({1})),
        ("Two?", frozenset({0})),
    ]


def test_question_text_over_several_lines(tmp_path: Path) -> None:
    bank = parse_text(
        tmp_path, "\n\nGiven this code:\n  x = 1\nwhat is x?\nA) 1\nB) 2\nANSWER: A\n"
    )
    question = bank.questions[0][0]
    assert question.text == "Given this code:\nx = 1\nwhat is x?"
    assert question.source is not None and question.source.line == 3


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Q?\nA. x\nB. y\n", "no 'ANSWER: X' line ends this question"),
        ("Q?\nA. x\nB. y\n\nNext?\nA. x\nB. y\nANSWER: A\n", "no 'ANSWER: X' line ends"),
        (
            "Q?\nA. x\nB. y\nANSWER: C\n",
            "ANSWER on line 4 names C, which is not among the options A–B",
        ),
        (
            "Q?\nA. x\nB. y\nANSWER: A, B\n",
            "ANSWER on line 4 must be one option letter, got 'A, B'",
        ),
        ("Q?\nA. x\nANSWER: A\n", "1 option(s) before the ANSWER on line 3; at least 2 are needed"),
        ("Q?\nANSWER: A\n", "0 option(s) before the ANSWER on line 2"),
        ("Q?\nA. x\nC. y\nANSWER: A\n", "line 3: option C is out of order, expected B"),
        ("Q?\nB. x\nA. y\nANSWER: A\n", "line 2: option B is out of order, expected A"),
        ("Q?\nA. x\nB. y\nmore words\nANSWER: A\n", "line 4 is neither option C) nor 'ANSWER: X'"),
        ("Q?\nA.\nB. y\nANSWER: B\n", "line 2: option A is empty"),
        ("Q?\nA. x\nB. x\nANSWER: B\n", "two options read 'x'"),
        (
            "Q?\n" + "".join(f"{chr(65 + i)}. o{i}\n" for i in range(11)) + "ANSWER: A\n",
            "11 options; Slack shows at most 10",
        ),
    ],
)
def test_broken_questions_are_skipped_with_the_line_of_the_problem(
    tmp_path: Path, text: str, reason: str
) -> None:
    bank = parse_text(tmp_path, text)
    assert [q.text for q, _ in bank.questions] in ([], ["Next?"])
    assert len(bank.skipped) == 1
    skipped = bank.skipped[0]
    assert (skipped.line, skipped.name) == (1, "Q?")
    assert skipped.reason.startswith(reason), skipped.reason


def test_a_broken_question_does_not_stop_the_others(tmp_path: Path) -> None:
    bank = parse_text(tmp_path, "One?\nA. x\nB. y\nANSWER: Z\n\n" + GOOD)
    assert [q.source.line for q, _ in bank.questions if q.source] == [6, 13]
    assert [(s.line, s.name) for s in bank.skipped] == [(1, "One?")]


def test_answer_without_question(tmp_path: Path) -> None:
    bank = parse_text(tmp_path, "ANSWER: A\n")
    assert bank.skipped == [Skipped(1, "ANSWER: A", "an ANSWER line without a question above it")]


def test_undecodable_file_is_a_bank_error(tmp_path: Path) -> None:
    path = tmp_path / "bank.txt"
    path.write_bytes(b"Q?\nA. x\nB. \xff\nANSWER: A\n")
    with pytest.raises(BankError) as caught:
        aiken.parse(path)
    assert caught.value.line == 3
    assert str(caught.value).startswith(f"{path}:3: not UTF-8")
