"""Discussion threads, the replies in them (from Slack events) and processed event ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, select, update
from sqlmodel import Session, col

from bot.domain.points import Award
from bot.storage.db import Database, insert_for
from bot.storage.fastlane import EVENTS_TO_FORGET, QUIET_THREADS
from bot.storage.gamify import add_points
from bot.storage.models import (
    Course,
    DiscussionThread,
    Learner,
    Lesson,
    ProcessedEvent,
    ThreadReply,
)


@dataclass(frozen=True)
class ThreadRecord:
    id: int
    team_id: str
    key: str
    drip_id: int | None
    course: str
    lesson: str
    channel_id: str
    thread_ts: str | None
    error: str | None


@dataclass(frozen=True)
class ReplyRow:
    user_id: str
    learner_name: str
    course: str
    lesson: str
    channel_id: str
    thread_ts: str
    ts: str
    text: str
    replied_at: datetime


def _thread(row: DiscussionThread, course: str, lesson: str) -> ThreadRecord:
    assert row.id is not None
    return ThreadRecord(
        id=row.id,
        team_id=row.team_id,
        key=row.key,
        drip_id=row.drip_id,
        course=course,
        lesson=lesson,
        channel_id=row.channel_id,
        thread_ts=row.thread_ts,
        error=row.error,
    )


def _threads(session: Session, *where: Any, limit: int | None = None) -> list[ThreadRecord]:
    query = (
        select(DiscussionThread, col(Course.slug), col(Lesson.slug))
        .join(Lesson, col(Lesson.id) == col(DiscussionThread.lesson_id))
        .join(Course, col(Course.id) == col(Lesson.course_id))
        .where(*where)
        .order_by(col(DiscussionThread.id))
    )
    if limit is not None:
        query = query.limit(limit)
    return [_thread(row, course, lesson) for row, course, lesson in session.execute(query).all()]


class DiscussionRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- threads --------------------------------------------------------------------------------

    def open_thread(
        self,
        *,
        team_id: str,
        key: str,
        drip_id: int | None,
        lesson: tuple[str, str],
        channel_id: str,
        thread_ts: str | None,
        now: datetime,
    ) -> tuple[ThreadRecord, bool]:
        """The thread with this key, created if new; True when this call created it."""
        with self._db.write() as session:
            lesson_id = session.execute(
                select(col(Lesson.id))
                .join(Course, col(Course.id) == col(Lesson.course_id))
                .where(col(Course.slug) == lesson[0], col(Lesson.slug) == lesson[1])
            ).scalar_one()
            created = (
                session.execute(
                    insert_for(session)(DiscussionThread)
                    .values(
                        team_id=team_id,
                        key=key,
                        drip_id=drip_id,
                        lesson_id=lesson_id,
                        channel_id=channel_id,
                        thread_ts=thread_ts,
                        created_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["team_id", "key"])
                    .returning(col(DiscussionThread.id))
                ).first()
                is not None
            )
            [thread] = _threads(
                session, col(DiscussionThread.team_id) == team_id, col(DiscussionThread.key) == key
            )
            return thread, created

    def thread(self, team_id: str, key: str) -> ThreadRecord | None:
        with self._db.read() as session:
            found = _threads(
                session, col(DiscussionThread.team_id) == team_id, col(DiscussionThread.key) == key
            )
        return found[0] if found else None

    def thread_at(self, team_id: str, channel_id: str, thread_ts: str) -> ThreadRecord | None:
        with self._db.read() as session:
            found = _threads(
                session,
                col(DiscussionThread.team_id) == team_id,
                col(DiscussionThread.channel_id) == channel_id,
                col(DiscussionThread.thread_ts) == thread_ts,
            )
        return found[0] if found else None

    def set_thread(
        self, thread_id: int, *, thread_ts: str | None, error: str | None = None
    ) -> None:
        with self._db.write() as session:
            session.execute(
                update(DiscussionThread)
                .where(col(DiscussionThread.id) == thread_id)
                .values(thread_ts=thread_ts, error=error)
            )

    def quiet_threads(self, *, created_before: datetime, limit: int) -> list[ThreadRecord]:
        """Threads with no (current) reply yet, never nudged, older than `created_before`."""
        if not self._db.found(QUIET_THREADS, created_before=created_before):  # most ticks
            return []
        with self._db.read() as session:
            replied = (
                select(col(ThreadReply.thread_id))
                .where(col(ThreadReply.deleted).is_(False), col(ThreadReply.thread_id).is_not(None))
                .distinct()
            )
            return _threads(
                session,
                col(DiscussionThread.thread_ts).is_not(None),
                col(DiscussionThread.nudged_at).is_(None),
                col(DiscussionThread.created_at) <= created_before,
                col(DiscussionThread.id).not_in(replied),
                limit=limit,
            )

    def mark_nudged(self, thread_id: int, *, now: datetime) -> bool:
        with self._db.write() as session:
            result = session.execute(
                update(DiscussionThread)
                .where(
                    col(DiscussionThread.id) == thread_id, col(DiscussionThread.nudged_at).is_(None)
                )
                .values(nudged_at=now)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- events and replies ---------------------------------------------------------------------

    def first_time(self, team_id: str, event_id: str, *, now: datetime) -> bool:
        """Remember an event id; False when it was seen before (Slack retried the event)."""
        with self._db.write() as session:
            return _first_time(session, team_id, event_id, now=now)

    def forget_events(self, *, before: datetime) -> int:
        """Forget event ids received before `before` (Slack no longer retries them)."""
        if not self._db.found(EVENTS_TO_FORGET, before=before):  # most ticks: no write
            return 0
        with self._db.write() as session:
            result = session.execute(
                delete(ProcessedEvent).where(col(ProcessedEvent.received_at) < before)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def add_reply(
        self,
        *,
        thread: ThreadRecord,
        ts: str,
        user_id: str,
        text: str,
        now: datetime,
        award: Award | None = None,
    ) -> bool:
        """Store a reply once; False when (channel, ts) is stored already.

        `award`: the points a first reply in the thread earns, in the same transaction (its
        cause names the thread, so the person's later replies there add nothing).
        """
        assert thread.thread_ts is not None
        with self._db.write() as session:
            stored = (
                session.execute(
                    insert_for(session)(ThreadReply)
                    .values(
                        team_id=thread.team_id,
                        thread_id=thread.id,
                        channel_id=thread.channel_id,
                        ts=ts,
                        thread_ts=thread.thread_ts,
                        user_id=user_id,
                        text=text[:40000],
                        reaction_count=0,
                        deleted=False,
                        replied_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["team_id", "channel_id", "ts"])
                    .returning(col(ThreadReply.id))
                ).first()
                is not None
            )
            if stored and award is not None:
                add_points(session, thread.team_id, user_id, award, course=thread.course, now=now)
            return stored

    def edit_reply(
        self, team_id: str, channel_id: str, ts: str, *, text: str, now: datetime
    ) -> bool:
        """New text for a reply; a deleted one stays deleted (an edit may arrive late)."""
        values = {"text": text[:40000], "edited_at": now}
        return self._change(team_id, channel_id, ts, values, live_only=True)

    def delete_reply(self, team_id: str, channel_id: str, ts: str) -> bool:
        """Mark a reply deleted and forget what it said."""
        return self._change(team_id, channel_id, ts, {"deleted": True, "text": ""})

    def react(
        self,
        team_id: str,
        channel_id: str,
        ts: str,
        *,
        delta: int,
        event_id: str | None = None,
        now: datetime,
    ) -> bool:
        """Count a reaction to a stored reply, once per event id. Reactions to anything else
        (most of them) are neither counted nor remembered."""
        reply = (
            col(ThreadReply.team_id) == team_id,
            col(ThreadReply.channel_id) == channel_id,
            col(ThreadReply.ts) == ts,
        )
        with self._db.read() as session:
            if session.execute(select(col(ThreadReply.id)).where(*reply)).first() is None:
                return False
        count = col(ThreadReply.reaction_count) + delta
        with self._db.write() as session:
            if event_id is not None and not _first_time(session, team_id, event_id, now=now):
                return False
            result = session.execute(
                update(ThreadReply)
                .where(*reply)
                .values(reaction_count=case((count < 0, 0), else_=count))
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def _change(
        self,
        team_id: str,
        channel_id: str,
        ts: str,
        values: dict[str, Any],
        *,
        live_only: bool = False,
    ) -> bool:
        where = [
            col(ThreadReply.team_id) == team_id,
            col(ThreadReply.channel_id) == channel_id,
            col(ThreadReply.ts) == ts,
        ]
        if live_only:
            where.append(col(ThreadReply.deleted).is_(False))
        with self._db.write() as session:
            result = session.execute(update(ThreadReply).where(*where).values(**values))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def top_reply(
        self, team_id: str, *, drip_id: int, course: str, lesson: str, channel_id: str | None
    ) -> tuple[str, str] | None:
        """(text, author) of the most-reacted current reply in a lesson's threads of a drip."""
        with self._db.read() as session:
            query = (
                select(col(ThreadReply.text), col(ThreadReply.user_id))
                .join(DiscussionThread, col(DiscussionThread.id) == col(ThreadReply.thread_id))
                .join(Lesson, col(Lesson.id) == col(DiscussionThread.lesson_id))
                .join(Course, col(Course.id) == col(Lesson.course_id))
                .where(
                    col(ThreadReply.team_id) == team_id,
                    col(DiscussionThread.drip_id) == drip_id,
                    col(Course.slug) == course,
                    col(Lesson.slug) == lesson,
                    col(ThreadReply.deleted).is_(False),
                    col(ThreadReply.reaction_count) > 0,
                )
                .order_by(col(ThreadReply.reaction_count).desc(), col(ThreadReply.ts))
                .limit(1)
            )
            if channel_id is not None:
                query = query.where(col(DiscussionThread.channel_id) == channel_id)
            row = session.execute(query).first()
        return (row[0], row[1]) if row else None

    def reply_count(self, team_id: str, user_id: str) -> int:
        with self._db.read() as session:
            return int(
                session.execute(
                    select(func.count())
                    .select_from(ThreadReply)
                    .where(
                        col(ThreadReply.team_id) == team_id,
                        col(ThreadReply.user_id) == user_id,
                        col(ThreadReply.deleted).is_(False),
                    )
                ).scalar_one()
            )

    def reply_rows(self, team_id: str, course: str) -> list[ReplyRow]:
        """Every current reply in the threads of a course's lessons, oldest first."""
        with self._db.read() as session:
            rows = session.execute(
                select(ThreadReply, col(Learner.name), col(Course.slug), col(Lesson.slug))
                .join(DiscussionThread, col(DiscussionThread.id) == col(ThreadReply.thread_id))
                .join(Lesson, col(Lesson.id) == col(DiscussionThread.lesson_id))
                .join(Course, col(Course.id) == col(Lesson.course_id))
                .join(
                    Learner,
                    and_(
                        col(Learner.team_id) == col(ThreadReply.team_id),
                        col(Learner.user_id) == col(ThreadReply.user_id),
                    ),
                    isouter=True,
                )
                .where(
                    col(ThreadReply.team_id) == team_id,
                    col(Course.slug) == course,
                    col(ThreadReply.deleted).is_(False),
                )
                .order_by(col(ThreadReply.replied_at), col(ThreadReply.id))
            ).all()
        return [
            ReplyRow(
                user_id=reply.user_id,
                learner_name=name or "",
                course=course_slug,
                lesson=lesson,
                channel_id=reply.channel_id,
                thread_ts=reply.thread_ts,
                ts=reply.ts,
                text=reply.text,
                replied_at=reply.replied_at,
            )
            for reply, name, course_slug, lesson in rows
        ]


def _first_time(session: Session, team_id: str, event_id: str, *, now: datetime) -> bool:
    return (
        session.execute(
            insert_for(session)(ProcessedEvent)
            .values(team_id=team_id, event_id=event_id, received_at=now)
            .on_conflict_do_nothing(index_elements=["team_id", "event_id"])
            .returning(col(ProcessedEvent.id))
        ).first()
        is not None
    )
