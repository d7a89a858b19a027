"""A day's Review message: every question of the shipped lessons fits, answered one at a time."""

from __future__ import annotations

from pathlib import Path

from bot.content.loader import load_catalog
from bot.domain.lesson import Lesson, Question
from bot.slack import blockkit, render
from bot.slack.reviews import PER_MESSAGE, answered_review_message, review_messages
from tests.standin import validate_message as standin_validate

CATALOG = load_catalog(Path("lessons")).catalog
GRADED = [
    (question, lesson, position, f"7.{number}", tuple(range(len(question.options))))
    for number, (question, lesson, position) in enumerate(
        (
            (question, lesson, position)
            for course in CATALOG.courses
            for lesson in course.lessons
            for position, question in enumerate(lesson.quiz, start=1)
            if question.kind.graded
        ),
        start=1,
    )
]


def open_refs(message: dict[str, object]) -> list[str]:
    refs: list[str] = []
    for block in message["blocks"]:  # type: ignore[attr-defined]
        for element in block.get("elements") or []:
            ref = str(element.get("value") or "").split(":")[0]
            if element.get("type") == "button" and ref and ref not in refs:
                refs.append(ref)
    return refs


def test_every_graded_question_fits_however_many_come_in_a_day() -> None:
    messages = review_messages(GRADED)
    assert len(messages) == -(-len(GRADED) // PER_MESSAGE)
    for message in messages:
        assert blockkit.check_message(message) == []
        assert standin_validate(message) == []
        ids = [block["block_id"] for block in message["blocks"]]
        assert len(ids) == len(set(ids))
    assert sum(len(open_refs(m)) for m in messages) == len(GRADED)


def answered(question: Question, lesson: Lesson, position: int) -> dict[str, object]:
    feedback = render.feedback_message(
        question, choice=(0,), text="", correct=False, already=False, review=True
    )
    return render.answered_question_message(
        question, lesson, number=position, review=True, feedback=feedback
    )


def test_answering_one_question_rewrites_only_its_own_blocks() -> None:
    (message,) = review_messages(GRADED[:3])
    question, lesson, position, _, _ = GRADED[1]
    after = answered_review_message(message, item=2, answered=answered(question, lesson, position))
    assert open_refs(after) == ["7.1", "7.3"]
    assert [b["block_id"] for b in after["blocks"]][:1] == ["review"]
    assert "❌" in str(after["blocks"])
    again = answered_review_message(after, item=2, answered=answered(question, lesson, position))
    assert again == after  # the same answer shown twice changes nothing
    first, lesson1, position1, _, _ = GRADED[0]
    both = answered_review_message(after, item=1, answered=answered(first, lesson1, position1))
    assert open_refs(both) == ["7.3"]
    assert blockkit.check_message(both) == []
