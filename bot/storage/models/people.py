"""Learners (people the app knows) and leads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.models.base import SLACK_ID, TEAM_ID, instant


class Learner(SQLModel, table=True):
    __tablename__ = "learner"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    user_id: str = Field(max_length=SLACK_ID)
    name: str = Field(default="", max_length=200)
    first_name: str = Field(default="", max_length=200)
    tz: str = Field(default="UTC", max_length=64)
    tz_checked_at: datetime | None = instant(nullable=True)
    deactivated: bool = False
    snoozed_until: datetime | None = instant(nullable=True)
    created_at: datetime = instant()
    is_admin: bool = False  # workspace admin or owner, from the Slack profile
    dm_channel: str | None = Field(default=None, max_length=SLACK_ID)
    pref_days: str | None = Field(default=None, max_length=40)  # the learner's own delivery days
    pref_at: str | None = Field(default=None, max_length=5)  # and time, overriding drips' for DMs


class Lead(SQLModel, table=True):
    __tablename__ = "lead"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    user_id: str = Field(max_length=SLACK_ID)
    granted_by: str = Field(max_length=SLACK_ID)
    granted_at: datetime = instant()
