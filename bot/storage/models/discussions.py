"""Lessons' discussion threads and their replies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.models.base import SLACK_ID, TEAM_ID, TS, instant


class DiscussionThread(SQLModel, table=True):
    """A lesson's discussion thread: under a channel post, or one per lesson of a DM drip."""

    __tablename__ = "discussion_thread"
    __table_args__ = (UniqueConstraint("team_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    key: str = Field(max_length=120)  # post:<delivery> | drip:<drip>:lesson:<lesson>
    drip_id: int | None = Field(default=None, foreign_key="drip.id")
    lesson_id: int = Field(foreign_key="lesson.id")
    channel_id: str = Field(max_length=SLACK_ID)
    thread_ts: str | None = Field(default=None, max_length=TS, index=True)
    created_at: datetime = instant()
    nudged_at: datetime | None = instant(nullable=True)
    error: str | None = Field(default=None, max_length=200)


class ThreadReply(SQLModel, table=True):
    __tablename__ = "thread_reply"
    __table_args__ = (UniqueConstraint("team_id", "channel_id", "ts"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    thread_id: int | None = Field(default=None, foreign_key="discussion_thread.id")
    channel_id: str = Field(max_length=SLACK_ID)
    ts: str = Field(max_length=TS)
    thread_ts: str = Field(max_length=TS)
    user_id: str = Field(max_length=SLACK_ID)
    text: str = Field(default="", max_length=40000)
    reaction_count: int = 0
    deleted: bool = False
    edited_at: datetime | None = instant(nullable=True)
    replied_at: datetime = instant()
