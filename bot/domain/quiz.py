"""Grading answers: which options are right, and what a learner's choice was."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.lesson import Question, QuestionKind
from bot.domain.numbers import whole_number


@dataclass(frozen=True)
class Choice:
    """What a learner answered: option indexes (0-based), or typed text for open questions."""

    options: tuple[int, ...] = ()
    text: str = ""

    def encode(self) -> str:
        """Stored form: `2`, `0;3`, or the text of an open answer."""
        return self.text if not self.options else ";".join(str(i) for i in self.options)

    @classmethod
    def decode(cls, kind: QuestionKind, stored: str) -> Choice:
        if kind is QuestionKind.OPEN:
            return cls(text=stored)
        numbers = (whole_number(part.strip()) for part in stored.split(";"))
        return cls(options=tuple(number for number in numbers if number is not None))


def grade(question: Question, choice: Choice) -> bool | None:
    """True or False for graded kinds; None for polls and open questions, which are neither."""
    if not question.kind.graded:
        return None
    return frozenset(choice.options) == question.correct_indexes


def valid(question: Question, choice: Choice) -> bool:
    """Whether the choice can be an answer to this question at all."""
    if question.kind is QuestionKind.OPEN:
        return bool(choice.text.strip())
    if not choice.options or any(not 0 <= i < len(question.options) for i in choice.options):
        return False
    return question.kind is QuestionKind.MULTIPLE or len(choice.options) == 1


def describe(question: Question, choice: Choice) -> str:
    """The answer in words: the chosen options' text, or the typed answer."""
    if question.kind is QuestionKind.OPEN:
        return choice.text
    return "; ".join(question.options[i].text for i in choice.options if i < len(question.options))
