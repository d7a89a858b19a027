"""CSV question banks: `question,kind,option_1,…,option_10,correct,explanation`, one row each.

Policy: a file whose structure is wrong (not UTF-8, broken quoting, a header other than HEADER)
raises BankError and nothing is imported; a row that is wrong (unknown kind, `correct` naming an
empty or missing option, the wrong number of right options for its kind …) is skipped with its line
and column, and the other rows still import. `kind` empty means single; `correct` lists option
numbers separated by `;` (`2`, `1;3`), empty for poll and open; a true_false row may leave its
options empty (True, False) and then also accept `true`/`false` as `correct`. Line numbers are file
lines (the header is line 1), so a quoted field spanning lines moves the next row down. UTF-8 with
or without a byte-order mark.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from bot.content.importers import (
    BankError,
    ParsedBank,
    Skipped,
    question_problem,
    read_text,
    short_name,
)
from bot.domain.lesson import OPTIONS_RANGE, Option, Question, QuestionKind, Source

OPTION_COLUMNS = OPTIONS_RANGE[1]
HEADER = (
    "question",
    "kind",
    *(f"option_{number}" for number in range(1, OPTION_COLUMNS + 1)),
    "correct",
    "explanation",
)
_TRUE_FALSE_WORDS = {"true": 1, "t": 1, "false": 2, "f": 2}


class _RowError(Exception):
    """One row that cannot be imported; the message names the column."""


def parse(path: Path) -> ParsedBank:
    """Read a CSV bank; a wrong header aborts, a wrong row is skipped with its line and column."""
    reader = csv.reader(io.StringIO(read_text(path), newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        start = 1
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as error:
        reason = str(error)
        if reason == "unexpected end of data":
            reason = "a quoted field in this row is never closed"
        raise BankError(path, start, f"unreadable CSV: {reason}") from error
    if not rows:
        raise BankError(path, 1, f"the file is empty: the first line must be {','.join(HEADER)}")
    _check_header(path, rows[0][1])
    questions: list[tuple[Question, str | None]] = []
    names: list[str] = []
    skipped: list[Skipped] = []
    for line, row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        name = short_name(row[0]) or f"row on line {line}"
        try:
            question = _question(path, line, row)
        except _RowError as error:
            skipped.append(Skipped(line, name, str(error)))
            continue
        questions.append((question, None))
        names.append(name)
    return ParsedBank(questions, skipped, [], names)


def _check_header(path: Path, row: list[str]) -> None:
    found = [cell.strip().lower() for cell in row]
    if tuple(found) == HEADER:
        return
    expected = ",".join(HEADER)
    for column, (want, got) in enumerate(zip(HEADER, found, strict=False), start=1):
        if want != got:
            raise BankError(
                path, 1, f"column {column} of the header is {got!r}, expected {want!r}: {expected}"
            )
    raise BankError(
        path, 1, f"the header has {len(found)} columns, expected {len(HEADER)}: {expected}"
    )


def _question(path: Path, line: int, row: list[str]) -> Question:
    """The question of one row; _RowError naming the column when the row is wrong."""
    if len(row) < len(HEADER) or any(cell.strip() for cell in row[len(HEADER) :]):
        raise _RowError(f"{len(row)} columns, expected {len(HEADER)} like the header")
    cells = dict(zip(HEADER, (cell.strip() for cell in row), strict=False))
    text, kind_name = cells["question"], cells["kind"].lower() or QuestionKind.SINGLE.value
    if not text:
        raise _RowError("column question: empty")
    try:
        kind = QuestionKind(kind_name)
    except ValueError:
        kinds = ", ".join(k.value for k in QuestionKind)
        raise _RowError(f"column kind: unknown kind {cells['kind']!r}; use {kinds}") from None
    texts = _option_texts(cells, kind)
    correct = _correct(cells["correct"], texts, kind)
    if kind is QuestionKind.OPEN and texts:
        raise _RowError("column option_1: an open question takes no options")
    if kind is QuestionKind.TRUE_FALSE and len(texts) != 2:
        raise _RowError(f"column option_3: a true_false question has 2 options, not {len(texts)}")
    question = Question(
        text=text,
        kind=kind,
        options=tuple(
            Option(option, number in correct, source=Source(path, line))
            for number, option in enumerate(texts, start=1)
        ),
        explanation=cells["explanation"],
        source=Source(path, line),
    )
    problem = question_problem(question)
    if problem is not None:
        raise _RowError(problem)
    return question


def _option_texts(cells: dict[str, str], kind: QuestionKind) -> list[str]:
    """The options' texts up to the last one given (True and False when a true_false has none)."""
    texts = [cells[f"option_{number}"] for number in range(1, OPTION_COLUMNS + 1)]
    while texts and not texts[-1]:
        texts.pop()
    if "" in texts:
        gap = texts.index("") + 1
        raise _RowError(f"column option_{gap}: empty, but later options are not")
    if kind is QuestionKind.TRUE_FALSE and not texts:
        texts = ["True", "False"]
    return texts


def _correct(value: str, texts: list[str], kind: QuestionKind) -> set[int]:
    """The option numbers in `correct`, checked against the options and the kind."""
    numbers: set[int] = set()
    for part in (p.strip() for p in value.split(";")):
        if not part:
            continue
        if kind is QuestionKind.TRUE_FALSE and part.lower() in _TRUE_FALSE_WORDS:
            numbers.add(_TRUE_FALSE_WORDS[part.lower()])
            continue
        if not part.isdigit() or not 1 <= int(part) <= OPTION_COLUMNS:
            raise _RowError(f"column correct: {part!r} is not an option number 1–{OPTION_COLUMNS}")
        if int(part) > len(texts):
            raise _RowError(f"column correct: {part} names option_{part}, which is empty")
        numbers.add(int(part))
    if kind in (QuestionKind.POLL, QuestionKind.OPEN) and numbers:
        raise _RowError(f"column correct: a {kind.value} has no right answer; leave it empty")
    if kind in (QuestionKind.SINGLE, QuestionKind.TRUE_FALSE) and len(numbers) != 1:
        raise _RowError(
            f"column correct: a {kind.value} question needs exactly one right option, "
            f"got {len(numbers)}"
        )
    if kind is QuestionKind.MULTIPLE and not numbers:
        raise _RowError("column correct: a multiple question needs at least one right option")
    return numbers
