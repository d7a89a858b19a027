"""Moodle GIFT question files, read the way Moodle's own importer (question/format/gift) reads them.

Kinds follow Moodle: `{}` → open; `{#…}` → numerical (skipped); answers with `~` → multiple
choice; `=` with `->` → matching (skipped); `{T}`/`{F}` → true_false; anything else → short answer
(skipped).
Choices made where a Slack quiz differs from Moodle:
- A multiple-choice question with an `=` answer is single-select in Moodle, so it becomes `single`
  with the full-credit answer right; partial-credit answers (`~%50%…`) count as wrong, with a
  warning. Without `=`, Moodle asks for several answers: `multiple`, every positive weight right.
- True/false feedback follows Moodle: `{FALSE#a#b}` shows `a` after a wrong answer and `b` after a
  right one, so `a` goes on the wrong option and `b` on the right one.
- Line breaks in the file are wrapping and become spaces; `\\n` is a real line break. `[markdown]`
  text keeps its lines; `[html]` text loses its tags (with a warning); `[plain]`/`[moodle]` are
  dropped markers.
- Text after the answers makes a missing-word question (`_____`); after true/false or essay
  answers, trailing punctuation alone (a stray `";`) is dropped with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from bot.content.importers import (
    BankError,
    ParsedBank,
    Skipped,
    question_problem,
    read_text,
    short_name,
)
from bot.domain.lesson import Option, Question, QuestionKind, Source

BLANK = "_____"
_ESCAPED = {"~": "\ue000", "=": "\ue001", "#": "\ue002", "{": "\ue003", "}": "\ue004"}
_ESCAPED |= {"\\": "\ue005", ":": "\ue006", "n": "\ue007"}
_ESCAPE = re.compile(r"\\([~=#{}\\:n])")
_RESTORE = str.maketrans({code: "\n" if char == "n" else char for char, code in _ESCAPED.items()})
_FORMAT = re.compile(r"\s*\[(html|markdown|plain|moodle)\]", re.IGNORECASE)
_WEIGHT = re.compile(r"%(-?\d+(?:\.\d+)?)%")
_TRUE_FALSE = {"T": True, "TRUE": True, "F": False, "FALSE": False}

NUMERICAL = "numerical questions are graded on a typed number, which a Slack quiz cannot ask"
MATCHING = "matching questions cannot be asked as a Slack quiz"
SHORT_ANSWER = "short-answer questions are graded on typed text, which a Slack quiz cannot ask"
DESCRIPTION = "a description without answers has nothing to ask"


_SKIP_REASONS = {"numerical": NUMERICAL, "matching": MATCHING, "shortanswer": SHORT_ANSWER}


def parse(path: Path) -> ParsedBank:
    """Read a GIFT file: questions with their `$CATEGORY:`, skipped items, warnings."""
    parser = _Parser(path)
    for block in _blocks(read_text(path)):
        parser.block(block)
    return ParsedBank(parser.questions, parser.skipped, parser.warnings, parser.names)


@dataclass
class _Block:
    """One blank-line-separated block without its comment lines; escapes made placeholders."""

    text: str
    lines: list[int]

    def line(self, offset: int) -> int:
        """The file line of the character at `offset`."""
        return self.lines[min(max(offset, 0), len(self.lines) - 1)]


def _blocks(text: str) -> Iterator[_Block]:
    parts: list[str] = []
    lines: list[int] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        stripped = raw.strip()
        if stripped.startswith("//"):
            continue
        if not stripped:
            if parts:
                yield _Block("".join(parts), lines)
                parts, lines = [], []
            continue
        escaped = _ESCAPE.sub(lambda match: _ESCAPED[match.group(1)], raw) + "\n"
        parts.append(escaped)
        lines.extend([number] * len(escaped))
    if parts:
        yield _Block("".join(parts), lines)


@dataclass
class _Cleaner:
    """Turns raw GIFT text into what a learner reads, noting where HTML was removed."""

    default_format: str
    name: str
    notes: list[str]

    def __call__(self, raw: str, what: str, line: int) -> str:
        text_format, body = _split_format(raw, self.default_format)
        text, stripped = _clean(body, text_format)
        if stripped:
            self.notes.append(f'line {line}: "{self.name}": HTML tags removed from {what}')
        return text


@dataclass
class _Parser:
    path: Path
    category: str | None = None
    questions: list[tuple[Question, str | None]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def block(self, block: _Block) -> None:
        text = block.text
        start = len(text) - len(text.lstrip())
        if text.startswith("$CATEGORY:", start):
            end = text.index("\n", start)
            self.category = " ".join(text[start + 10 : end].translate(_RESTORE).split()) or None
            rest = text[end + 1 :]
            if not rest.strip():
                return
            start = len(text) - len(rest.lstrip())
        self.question(block, start)

    def question(self, block: _Block, start: int) -> None:
        text, line = block.text, block.line(start)
        name, pos = _title(text, start)
        braces = self._braces(block, pos, line, name)
        if braces is None:
            return
        opening, closing = braces
        before, answers, after = text[pos:opening], text[opening + 1 : closing], text[closing + 1 :]
        explanation = ""
        general = answers.rfind("####")
        if general != -1:
            answers, explanation = answers[:general], answers[general + 4 :]
        kind = _kind(answers.strip())
        question_text = before + (BLANK + after if after.strip() else "")
        stray = kind in ("essay", "truefalse") and not any(c.isalnum() for c in after)
        if stray:
            question_text = before
        name = name or _name(question_text)
        reason = _SKIP_REASONS.get(kind) or _check_braces(answers, after)
        if reason is not None:
            self.skipped.append(Skipped(line, name, reason))
            return
        notes: list[str] = []
        if stray and after.strip():
            where = block.line(closing + 1)
            notes.append(f'line {where}: "{name}": ignored {after.strip()!r} after the answers')
        text_format, question_text = _split_format(question_text, "moodle")
        clean = _Cleaner(text_format, name, notes)
        question_text = clean(question_text, "the question", line)
        answers_line = block.line(opening + 1 + len(answers) - len(answers.lstrip()))
        result = self._answers(kind, answers, opening, block, clean, answers_line)
        if isinstance(result, str):
            self.skipped.append(Skipped(line, name, result))
            return
        question = Question(
            text=question_text,
            kind=result[0],
            options=result[1],
            explanation=clean(explanation, "the general feedback", line),
            source=Source(self.path, line),
        )
        self._keep(question, name, line, notes)

    def _braces(self, block: _Block, pos: int, line: int, name: str) -> tuple[int, int] | None:
        """Where the answers' braces open and close; None when there are none (a description)."""
        text = block.text
        opening, closing = text.find("{", pos), text.find("}", pos)
        if opening == -1 and closing == -1:
            self.skipped.append(Skipped(line, name or _name(text[pos:]), DESCRIPTION))
            return None
        if opening == -1 or -1 < closing < opening:
            raise BankError(
                self.path, block.line(closing), "'}' without an opening '{' (write \\} for a brace)"
            )
        if closing == -1:
            raise BankError(
                self.path,
                block.line(opening),
                "'{' is never closed: end the answers with '}' before the next blank line",
            )
        return opening, closing

    def _answers(
        self, kind: str, answers: str, opening: int, block: _Block, clean: _Cleaner, line: int
    ) -> tuple[QuestionKind, tuple[Option, ...]] | str:
        """The question's kind and options, or why it is skipped."""
        if kind == "essay":
            return QuestionKind.OPEN, ()
        if kind == "truefalse":
            return QuestionKind.TRUE_FALSE, self.true_false(answers, clean, line)
        return self.choices(answers, opening + 1, block, clean)

    def _keep(self, question: Question, name: str, line: int, notes: list[str]) -> None:
        problem = question_problem(question)
        if problem is not None:
            self.skipped.append(Skipped(line, name, problem))
            return
        self.questions.append((question, self.category))
        self.names.append(name)
        self.warnings.extend(notes)

    def true_false(self, answers: str, clean: _Cleaner, line: int) -> tuple[Option, ...]:
        """True and False; the first feedback follows a wrong answer, the second a right one."""
        value, *feedback = answers.split("#", 2)
        is_true = _TRUE_FALSE[value.strip()]
        wrong = clean(feedback[0], "the feedback for a wrong answer", line) if feedback else ""
        right = clean(feedback[1], "the feedback for a right answer", line) if feedback[1:] else ""
        source = Source(self.path, line)
        return (
            Option("True", is_true, right if is_true else wrong, source),
            Option("False", not is_true, wrong if is_true else right, source),
        )

    def choices(
        self, answers: str, base: int, block: _Block, clean: _Cleaner
    ) -> tuple[QuestionKind, tuple[Option, ...]] | str:
        """`single` when an `=` answer exists (as in Moodle), else `multiple`; or why not."""
        marks = [match.start() for match in re.finditer("[~=]", answers)]
        stray = answers[: marks[0]].strip()
        if stray:
            return f"{short_name(stray.translate(_RESTORE), 30)!r} has no '=' or '~' in front"
        drafts = [
            self._draft(answers, marks, index, base, block, clean) for index in range(len(marks))
        ]
        if any(marker == "=" for marker, _, _ in drafts):
            graded = _single(drafts, clean, block.line(base))
        else:
            graded = _multiple(drafts)
        if isinstance(graded, str):
            return graded
        kind, correct = graded
        options = tuple(
            Option(o.text, right, o.feedback, o.source)
            for (_, _, o), right in zip(drafts, correct, strict=True)
        )
        return kind, options

    def _draft(
        self, answers: str, marks: list[int], index: int, base: int, block: _Block, clean: _Cleaner
    ) -> tuple[str, float, Option]:
        """One answer: its marker (= or ~), its weight in percent, and the option it shows."""
        mark = marks[index]
        end = marks[index + 1] if index + 1 < len(marks) else len(answers)
        marker, body = answers[mark], answers[mark + 1 : end].lstrip()
        weight = 100.0 if marker == "=" else 0.0
        weighted = _WEIGHT.match(body)
        if weighted:
            weight, body = float(weighted.group(1)), body[weighted.end() :]
        raw_text, _, raw_feedback = body.partition("#")
        line = block.line(base + mark)
        number = index + 1
        option = Option(
            text=clean(raw_text, f"option {number}", line),
            feedback=clean(raw_feedback, f"the feedback of option {number}", line),
            source=Source(self.path, line),
        )
        return marker, weight, option


def _title(text: str, pos: int) -> tuple[str, int]:
    """The question's ``::name::`` (or "") and where the question text starts."""
    if not text.startswith("::", pos):
        return "", pos
    close = text.find("::", pos + 2)
    if close == -1:
        return "", pos + 2
    return " ".join(text[pos + 2 : close].translate(_RESTORE).split()), close + 2


def _single(
    drafts: list[tuple[str, float, Option]], clean: _Cleaner, line: int
) -> tuple[QuestionKind, list[bool]] | str:
    """A single-answer question: exactly one full-credit answer; partial credit is noted, lost."""
    full = [weight >= 100 for _, weight, _ in drafts]
    if sum(full) != 1:
        return (
            f"{sum(full)} answers carry full credit, but the learner picks one: "
            "a single-answer quiz question has exactly one right option"
        )
    partial = [f"{o.text!r} ({w:g}%)" for _, w, o in drafts if 0 < w < 100]
    if partial:
        clean.notes.append(
            f'line {line}: "{clean.name}": partial credit is not kept; '
            f"{', '.join(partial)} {'counts' if len(partial) == 1 else 'count'} as wrong"
        )
    return QuestionKind.SINGLE, full


def _multiple(drafts: list[tuple[str, float, Option]]) -> tuple[QuestionKind, list[bool]] | str:
    correct = [weight > 0 for _, weight, _ in drafts]
    if not any(correct):
        return "no answer is marked right (with '=' or a positive %weight%)"
    return QuestionKind.MULTIPLE, correct


def _check_braces(answers: str, after: str) -> str | None:
    """Why the braces do not hold exactly one set of answers, or None."""
    if "{" in answers:
        return "a '{' inside the answers: write \\{ for a literal brace"
    if "{" in after or "}" in after:
        return "more than one pair of braces: a quiz question asks one thing"
    return None


def _kind(answers: str) -> str:
    """Moodle's order of tests on the text between the braces."""
    if not answers:
        return "essay"
    if answers.startswith("#"):
        return "numerical"
    if "~" in answers:
        return "multichoice"
    if "=" in answers and "->" in answers:
        return "matching"
    if answers.split("#", 1)[0].strip() in _TRUE_FALSE:
        return "truefalse"
    return "shortanswer"


def _split_format(raw: str, default: str) -> tuple[str, str]:
    match = _FORMAT.match(raw)
    if match is None:
        return default, raw
    return match.group(1).lower(), raw[match.end() :]


def _clean(body: str, text_format: str) -> tuple[str, bool]:
    """The text to show and whether HTML tags or entities were removed."""
    separator = "\n" if text_format == "markdown" else " "
    text = separator.join(line.strip() for line in body.split("\n")).strip().translate(_RESTORE)
    if text_format != "html":
        return text.strip(), False
    plain = _strip_html(text)
    return plain, plain != text.strip()


def _name(raw: str) -> str:
    """A question without `::name::` is named by the start of its text."""
    text_format, body = _split_format(raw, "moodle")
    return short_name(_clean(body, text_format)[0])


class _TextOnly(HTMLParser):
    BREAKS = frozenset({"br", "p", "div", "li", "ul", "ol", "tr", "table", "blockquote", "pre"})
    BREAKS |= frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _strip_html(text: str) -> str:
    parser = _TextOnly()
    parser.feed(text)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
