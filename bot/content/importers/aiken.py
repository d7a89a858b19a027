"""Aiken question files: a question, options `A)` or `A.` in letter order, then `ANSWER: X`.

Questions are separated by blank lines or simply end at their `ANSWER:` line; a question's text may
run over several lines (kept as lines). A question that breaks the format (no `ANSWER:`, an answer
letter that is not an option, fewer than two options, letters out of order, a stray line among the
options) is skipped with the line of the problem; the rest of the file still imports. Only a file
that cannot be read raises BankError. Every Aiken question is `single`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.content.importers import ParsedBank, Skipped, question_problem, read_text, short_name
from bot.domain.lesson import Option, Question, Source

_OPTION = re.compile(r"([A-Z])[.)](?:\s+(.*))?")
_ANSWER = re.compile(r"ANSWER\s*:\s*(.*)", re.IGNORECASE)


@dataclass
class _Draft:
    line: int
    text: list[str] = field(default_factory=list)
    options: list[tuple[str, str, int]] = field(default_factory=list)
    problem: str = ""

    @property
    def name(self) -> str:
        return short_name(" ".join(self.text)) or f"question on line {self.line}"

    def fail(self, message: str) -> None:
        self.problem = self.problem or message

    def take(self, line: str, number: int) -> None:
        """A line after the question's first: more question text, or the next option."""
        option = _OPTION.fullmatch(line)
        if option is None:
            if self.options:
                expected = chr(ord("A") + len(self.options))
                self.fail(f"line {number} is neither option {expected}) nor 'ANSWER: X'")
            else:
                self.text.append(line)
            return
        letter, text = option.group(1), (option.group(2) or "").strip()
        expected = chr(ord("A") + len(self.options))
        if letter != expected:
            self.fail(f"line {number}: option {letter} is out of order, expected {expected}")
        elif not text:
            self.fail(f"line {number}: option {letter} is empty")
        self.options.append((letter, text, number))


def parse(path: Path) -> ParsedBank:
    """Read an Aiken file into single-answer questions; malformed questions are skipped."""
    questions: list[tuple[Question, str | None]] = []
    names: list[str] = []
    skipped: list[Skipped] = []
    draft: _Draft | None = None

    def finish(result: Question | str) -> None:
        assert draft is not None
        if isinstance(result, str):
            skipped.append(Skipped(draft.line, draft.name, result))
        else:
            questions.append((result, None))
            names.append(draft.name)

    for number, raw in enumerate(read_text(path).split("\n"), start=1):
        line = raw.strip()
        if not line:
            if draft is not None:
                finish(draft.problem or "no 'ANSWER: X' line ends this question")
                draft = None
            continue
        answer = _ANSWER.fullmatch(line)
        if answer is not None:
            if draft is None:
                skipped.append(Skipped(number, line, "an ANSWER line without a question above it"))
            else:
                finish(draft.problem or _question(path, draft, answer.group(1).strip(), number))
                draft = None
            continue
        if draft is None:
            draft = _Draft(number, [line])
        else:
            draft.take(line, number)
    if draft is not None:
        finish(draft.problem or "no 'ANSWER: X' line ends this question")
    return ParsedBank(questions, skipped, [], names)


def _question(path: Path, draft: _Draft, answer: str, number: int) -> Question | str:
    """The finished question, or why it cannot be asked."""
    letters = [letter for letter, _, _ in draft.options]
    if len(letters) < 2:
        return f"{len(letters)} option(s) before the ANSWER on line {number}; at least 2 are needed"
    if not re.fullmatch(r"[A-Za-z]", answer):
        return f"ANSWER on line {number} must be one option letter, got {answer!r}"
    if answer.upper() not in letters:
        return (
            f"ANSWER on line {number} names {answer.upper()}, which is not among the options "
            f"{letters[0]}–{letters[-1]}"
        )
    question = Question(
        text="\n".join(draft.text),
        options=tuple(
            Option(text, letter == answer.upper(), source=Source(path, line))
            for letter, text, line in draft.options
        ),
        source=Source(path, draft.line),
    )
    return question_problem(question) or question
