"""A lesson is marked done after an answer only once every one of its questions is answered."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.content.loader import load_catalog
from bot.domain import points
from bot.storage.answers import AnswerRepository
from bot.storage.content import ContentRepository
from bot.storage.db import Database
from bot.storage.gamify import GamifyRepository
from bot.storage.outbox import Outbox

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LESSON = ("security-basics", "spot-phishing")  # three questions


def test_a_lesson_is_done_with_its_last_question_answered_once(db: Database) -> None:
    ContentRepository(db).sync(load_catalog(Path("lessons")).catalog, now=NOW)
    outbox = Outbox(db)
    outbox.enqueue(
        team_id="T1",
        dedupe_key="send:x:U1",
        kind="lesson",
        recipient="U1",
        recipient_kind="dm",
        due_at=NOW,
        now=NOW,
        lesson=LESSON,
    )
    [delivery] = outbox.deliveries()
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
