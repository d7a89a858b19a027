"""Drips, their targets and enrolments."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.models.base import SLACK_ID, TEAM_ID, instant


class Drip(SQLModel, table=True):
    __tablename__ = "drip"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID, index=True)
    course_id: int = Field(foreign_key="course.id")
    created_by: str = Field(max_length=SLACK_ID)
    status: str = Field(default="active", max_length=16)
    days: str = Field(default="mon,tue,wed,thu,fri", max_length=40)
    at_time: str = Field(default="09:30", max_length=5)
    start_on: date | None = None
    channel_tz: str = Field(default="UTC", max_length=64)
    discuss_channel: str | None = Field(default=None, max_length=SLACK_ID)
    created_at: datetime = instant()
    updated_at: datetime = instant()
    finished_at: datetime | None = instant(nullable=True)


class DripTarget(SQLModel, table=True):
    __tablename__ = "drip_target"
    __table_args__ = (UniqueConstraint("team_id", "drip_id", "kind", "ref"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    drip_id: int = Field(foreign_key="drip.id")
    kind: str = Field(max_length=16)  # channel | user | usergroup | members
    ref: str = Field(max_length=SLACK_ID)
    label: str = Field(default="", max_length=200)


class Enrolment(SQLModel, table=True):
    __tablename__ = "enrolment"
    __table_args__ = (
        UniqueConstraint("team_id", "drip_id", "recipient"),
        Index("ix_enrolment_status_next_due_at", "status", "next_due_at"),
        # Finds one plan slot's enrolments without reading every enrolment due at that instant.
        Index("ix_enrolment_drip_id_tz_next_due_at", "drip_id", "tz", "next_due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    drip_id: int = Field(foreign_key="drip.id")
    recipient: str = Field(max_length=SLACK_ID)  # a user id (DM) or a channel id
    recipient_kind: str = Field(max_length=16)  # dm | channel
    next_position: int = 1
    next_due_at: datetime | None = instant(nullable=True)
    # waiting (for the learner's zone) | active | paused | finished | stopped | cancelled | left
    status: str = Field(default="active", max_length=16)
    enrolled_by: str = Field(max_length=SLACK_ID)
    created_at: datetime = instant()
    # The schedule this enrolment follows, in its recipient's zone (the lead's, for channels).
    tz: str = Field(default="UTC", max_length=64)
    days: str = Field(default="mon,tue,wed,thu,fri", max_length=40)
    at_time: str = Field(default="09:30", max_length=5)
    start_on: date | None = None
    finished_at: datetime | None = instant(nullable=True)
