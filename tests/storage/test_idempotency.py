"""Unique keys decide "already done" the same way on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.storage.answers import AnswerRepository
from bot.storage.db import Database
from bot.storage.outbox import Outbox
from tests.storage.lesson_queued import lesson_queued_to_u1

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_an_outbox_key_is_taken_once(db: Database) -> None:
    outbox = Outbox(db)
    first = outbox.enqueue(
        team_id="T1",
        dedupe_key="welcome:1:U1",
        kind="notice",
        recipient="U1",
        recipient_kind="dm",
        due_at=NOW,
        now=NOW,
        payload={"text": "hi"},
    )
    again = outbox.enqueue(
        team_id="T1",
        dedupe_key="welcome:1:U1",
        kind="notice",
        recipient="U1",
        recipient_kind="dm",
        due_at=NOW,
        now=NOW,
        payload={"text": "hi"},
    )
    other_team = outbox.enqueue(
        team_id="T2",
        dedupe_key="welcome:1:U1",
        kind="notice",
        recipient="U1",
        recipient_kind="dm",
        due_at=NOW,
        now=NOW,
        payload={"text": "hi"},
    )
    assert (first, again, other_team) == (True, False, True)
    assert len(outbox.deliveries()) == 2


def test_the_first_answer_stands(db: Database) -> None:
    delivery = lesson_queued_to_u1(db, now=NOW)
    answers = AnswerRepository(db)
    ref = answers.question(delivery.id, 1)
    assert ref is not None
    record: dict[str, Any] = {
        "team_id": "T1",
        "user_id": "U1",
        "ref": ref,
        "channel_id": "D1",
        "message_ts": "1.0",
    }
    first, inserted = answers.record(**record, choice="1", correct=True, now=NOW)
    second, again = answers.record(**record, choice="0", correct=False, now=NOW)
    assert (inserted, again) == (True, False)
    assert second == first and (second.choice, second.correct) == ("1", True)
    done = answers.complete(
        team_id="T1", user_id="U1", lesson_id=ref.lesson_id, delivery_id=delivery.id, now=NOW
    )
    twice = answers.complete(
        team_id="T1", user_id="U1", lesson_id=ref.lesson_id, delivery_id=delivery.id, now=NOW
    )
    assert (done, twice) == (True, False)
