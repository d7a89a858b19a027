"""What the storage tests of answers start from: the shipped lessons synced, and one lesson with
three questions queued to U1 in workspace T1."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.content.loader import load_catalog
from bot.storage.answers import AnswerRecord, AnswerRepository
from bot.storage.content import ContentRepository
from bot.storage.db import Database
from bot.storage.outbox import DeliveryState, Outbox

LESSON = ("security-basics", "spot-phishing")  # three questions


def lesson_queued_to_u1(db: Database, *, now: datetime) -> DeliveryState:
    ContentRepository(db).sync(load_catalog(Path("lessons")).catalog, now=now)
    outbox = Outbox(db)
    outbox.enqueue(
        team_id="T1",
        dedupe_key="send:x:U1",
        kind="lesson",
        recipient="U1",
        recipient_kind="dm",
        due_at=now,
        now=now,
        lesson=LESSON,
    )
    [delivery] = outbox.deliveries()
    return delivery


def u1_answers(
    answers: AnswerRepository,
    delivery_id: int,
    position: int,
    *,
    choice: str,
    correct: bool,
    now: datetime,
) -> tuple[AnswerRecord, bool]:
    """U1's answer to one question of that lesson, clicked in their DM: (stored, inserted)."""
    ref = answers.question(delivery_id, position)
    assert ref is not None
    return answers.record(
        team_id="T1",
        user_id="U1",
        ref=ref,
        choice=choice,
        correct=correct,
        channel_id="D1",
        message_ts="1.0",
        now=now,
    )
