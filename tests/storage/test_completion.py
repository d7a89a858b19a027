"""A lesson is marked done after an answer only once every one of its questions is answered."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain import points
from bot.storage.answers import AnswerRepository
from bot.storage.db import Database
from bot.storage.gamify import GamifyRepository
from tests.storage.lesson_queued import lesson_queued_to_u1

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LESSON = ("security-basics", "spot-phishing")  # three questions


def test_a_lesson_is_done_with_its_last_question_answered_once(db: Database) -> None:
    delivery = lesson_queued_to_u1(db, now=NOW)
    answers = AnswerRepository(db)

    def answer(position: int) -> int:
        ref = answers.question(delivery.id, position)
        assert ref is not None
        answers.record(
            team_id="T1",
            user_id="U1",
            ref=ref,
            choice="0",
            correct=False,
            channel_id="D1",
            message_ts="1.0",
            now=NOW,
        )
        return ref.lesson_id

    def complete(lesson_id: int) -> bool:
        return answers.complete_when_answered(
            team_id="T1",
            user_id="U1",
            lesson_id=lesson_id,
            delivery_id=delivery.id,
            questions=3,
            now=NOW,
            award=points.for_lesson_done(delivery=delivery.id),
            course=LESSON[0],
        )

    lesson_id = answer(3)
    assert not complete(lesson_id)
    answer(1)
    assert not complete(lesson_id)
    answer(2)
    assert complete(lesson_id)
    assert not complete(lesson_id)  # done before: once
    award = points.for_lesson_done(delivery=delivery.id)
    assert GamifyRepository(db).entries("T1", "U1") == [
        (award.cause, award.event.value, award.points)  # its points, once
    ]
