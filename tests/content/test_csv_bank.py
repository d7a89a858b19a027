"""CSV import: a strict header, one question per row, bad rows skipped with line and column."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from bot.content.importers import BankError, ParsedBank, csv_bank
from bot.domain.lesson import QuestionKind

HEADER = "question,kind," + ",".join(f"option_{n}" for n in range(1, 11)) + ",correct,explanation"


def row(
    question: str,
    kind: str = "",
    options: tuple[str, ...] = (),
    correct: str = "",
    explanation: str = "",
) -> list[str]:
    return [question, kind, *options, *[""] * (10 - len(options)), correct, explanation]


def write(tmp_path: Path, *rows: list[str], header: str = HEADER, bom: bool = False) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path = tmp_path / "bank.csv"
    path.write_text(("\ufeff" if bom else "") + header + "\r\n" + buffer.getvalue(), "utf-8")
    return path


def parse_rows(tmp_path: Path, *rows: list[str]) -> ParsedBank:
    return csv_bank.parse(write(tmp_path, *rows))


def test_header_constant_matches_the_documented_columns() -> None:
    assert ",".join(csv_bank.HEADER) == HEADER
    assert len(csv_bank.HEADER) == 14


def test_every_kind(tmp_path: Path) -> None:
    bank = parse_rows(
        tmp_path,
        row("Pick one", options=("a", "b", "c"), correct="2", explanation="b it is"),
        row("Pick some", "multiple", ("a", "b", "c"), "1;3"),
        row("Water is wet", "true_false", correct="1"),
        row("The sky is green", "TRUE_FALSE", correct="false"),
        row("Is this fair?", "true_false", ("Fair", "Unfair"), "2"),
        row("Tea or coffee?", "poll", ("Tea", "Coffee")),
        row("What did you learn?", "open", explanation="Anything counts."),
    )
    assert bank.skipped == []
    got = [
        (q.text, q.kind, [(o.text, o.correct) for o in q.options], q.explanation)
        for q, _ in bank.questions
    ]
    assert got == [
        ("Pick one", QuestionKind.SINGLE, [("a", False), ("b", True), ("c", False)], "b it is"),
        ("Pick some", QuestionKind.MULTIPLE, [("a", True), ("b", False), ("c", True)], ""),
        ("Water is wet", QuestionKind.TRUE_FALSE, [("True", True), ("False", False)], ""),
        ("The sky is green", QuestionKind.TRUE_FALSE, [("True", False), ("False", True)], ""),
        ("Is this fair?", QuestionKind.TRUE_FALSE, [("Fair", False), ("Unfair", True)], ""),
        ("Tea or coffee?", QuestionKind.POLL, [("Tea", False), ("Coffee", False)], ""),
        ("What did you learn?", QuestionKind.OPEN, [], "Anything counts."),
    ]
    assert [q.source.line for q, _ in bank.questions if q.source] == [2, 3, 4, 5, 6, 7, 8]
    assert bank.names[0] == "Pick one"


def test_quoted_commas_newlines_and_unicode(tmp_path: Path) -> None:
    bank = csv_bank.parse(
        write(
            tmp_path,
            row("Which one, really?\nThink twice.", options=('Say "yes"', "Ça, non"), correct="1"),
            row("Next — after a two-line row", options=("x", "y"), correct=" 2 "),
            bom=True,
        )
    )
    first, second = (q for q, _ in bank.questions)
    assert first.text == "Which one, really?\nThink twice."
    assert [o.text for o in first.options] == ['Say "yes"', "Ça, non"]
    assert second.source is not None and second.source.line == 4
    assert second.correct_indexes == {1}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (row("Q", "essay", ("a", "b"), "1"), "column kind: unknown kind 'essay'; use single, "),
        (row("", options=("a", "b"), correct="1"), "column question: empty"),
        (row("Q", options=("a", "b"), correct="3"), "column correct: 3 names option_3, which is"),
        (row("Q", options=("a", "b"), correct="x"), "column correct: 'x' is not an option number"),
        (row("Q", options=("a", "b"), correct="11"), "column correct: '11' is not an option"),
        (row("Q", options=("a", "b"), correct="1;2"), "column correct: a single question needs"),
        (row("Q", options=("a", "b")), "column correct: a single question needs exactly one"),
        (row("Q", "true_false", correct="1;2"), "column correct: a true_false question needs"),
        (row("Q", "multiple", ("a", "b")), "column correct: a multiple question needs at least"),
        (row("Q", "poll", ("a", "b"), "1"), "column correct: a poll has no right answer"),
        (row("Q", "open", correct="1"), "column correct: 1 names option_1, which is empty"),
        (row("Q", "open", ("a", "b")), "column option_1: an open question takes no options"),
        (row("Q", "true_false", ("a", "b", "c"), "1"), "column option_3: a true_false question"),
        (row("Q", options=("a", "", "c"), correct="1"), "column option_2: empty, but later"),
        (row("Q", options=("a",), correct="1"), "1 option; a quiz question needs at least 2"),
        (row("Q", options=("a", "a"), correct="1"), "two options read 'a'"),
        (row("Q", "poll"), "0 options; a quiz question needs at least 2"),
        (["Q", "", "a", "b", "1"], "5 columns, expected 14"),
        ([*row("Q", options=("a", "b"), correct="1"), "extra"], "15 columns, expected 14"),
        (row("Q" * 3001, options=("a", "b"), correct="1"), "the question is 3001 characters"),
    ],
)
def test_bad_rows_are_skipped_with_line_and_column(
    tmp_path: Path, bad: list[str], reason: str
) -> None:
    bank = parse_rows(tmp_path, row("Good", options=("a", "b"), correct="1"), bad)
    assert [q.text for q, _ in bank.questions] == ["Good"]
    assert len(bank.skipped) == 1
    assert bank.skipped[0].line == 3
    assert bank.skipped[0].reason.startswith(reason), bank.skipped[0].reason


def test_blank_rows_and_trailing_empty_columns_are_fine(tmp_path: Path) -> None:
    bank = parse_rows(tmp_path, [""] * 14, [*row("Q", options=("a", "b"), correct="1"), "", ""])
    assert [(q.text, q.source.line if q.source else 0) for q, _ in bank.questions] == [("Q", 3)]
    assert bank.skipped == []


def test_header_is_compared_loosely_on_case_and_spaces(tmp_path: Path) -> None:
    header = " Question , KIND," + HEADER.split(",", 2)[2]
    bank = csv_bank.parse(write(tmp_path, row("Q", options=("a", "b"), correct="1"), header=header))
    assert len(bank.questions) == 1


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (HEADER.replace("option_3", "option3"), "column 5 of the header is 'option3', expected"),
        (HEADER.replace(",explanation", ""), "the header has 13 columns, expected 14"),
        ("question,answer", "column 2 of the header is 'answer', expected 'kind'"),
    ],
)
def test_a_wrong_header_aborts(tmp_path: Path, header: str, message: str) -> None:
    path = write(tmp_path, row("Q", options=("a", "b"), correct="1"), header=header)
    with pytest.raises(BankError) as caught:
        csv_bank.parse(path)
    assert caught.value.line == 1
    assert caught.value.message.startswith(message)
    assert caught.value.message.endswith(HEADER)


def test_empty_file_aborts(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(BankError, match="the file is empty"):
        csv_bank.parse(path)


def test_broken_quoting_aborts_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_text(HEADER + '\nQ,,a,b,,,,,,,,,1,\n"Q2" oops,,a,b,,,,,,,,,1,\n', "utf-8")
    with pytest.raises(BankError, match="unreadable CSV") as caught:
        csv_bank.parse(path)
    assert caught.value.line == 3


def test_unclosed_quote_aborts_with_the_line_it_opens_on(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_text(
        HEADER + '\nQ,,a,b,,,,,,,,,1,\n"Never closed,,a,b\nQ3,,a,b,,,,,,,,,1,\n', "utf-8"
    )
    with pytest.raises(BankError, match="a quoted field in this row is never closed") as caught:
        csv_bank.parse(path)
    assert caught.value.line == 3


def test_undecodable_bytes_abort_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_bytes((HEADER + "\nQ,,a,b,,,,,,,,,1,\nCaf\xe9,,a,b,,,,,,,,,1,\n").encode("latin-1"))
    with pytest.raises(BankError, match="not UTF-8") as caught:
        csv_bank.parse(path)
    assert caught.value.line == 3
