"""Points, badges and leaderboard/goal settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.models.base import SLACK_ID, TEAM_ID, instant


class PointEntry(SQLModel, table=True):
    """The points ledger: append-only, one row per event, unique per cause (retries add nothing)."""

    __tablename__ = "point_entry"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "cause"),
        Index("ix_point_entry_team_id_awarded_at", "team_id", "awarded_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    user_id: str = Field(max_length=SLACK_ID)
    cause: str = Field(max_length=200)  # bot.domain.points: answer:<q>:<attempt>, done:<d>, …
    event: str = Field(max_length=32)
    points: int
    course: str = Field(default="", max_length=100)  # the course slug the event belongs to
    awarded_at: datetime = instant()


class Badge(SQLModel, table=True):
    """A milestone reached (streak, course finished, Sticky memory): stored so it never repeats."""

    __tablename__ = "badge"
    __table_args__ = (UniqueConstraint("team_id", "user_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    user_id: str = Field(max_length=SLACK_ID)
    key: str = Field(max_length=120)  # streak:7 | course:<course id> | sticky
    kind: str = Field(max_length=16)
    title: str = Field(max_length=200)
    reached_at: datetime = instant()


class PlayerSetting(SQLModel, table=True):
    """A person's own choices about the game: hidden from leaderboards, a skill goal."""

    __tablename__ = "player_setting"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    user_id: str = Field(max_length=SLACK_ID)
    leaderboard_hidden: bool = False
    goal: str | None = Field(default=None, max_length=100)
    updated_at: datetime = instant()
