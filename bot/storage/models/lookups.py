"""The lease on looking up a workspace's people, so one process at a time reads its directory."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from bot.storage.models.base import TEAM_ID, instant


class LookupLease(SQLModel, table=True):
    """Which process looks up the workspace's people (time zones, users.list) until when.

    `holder` names a process (a random token each ProfileRefresh draws), never a person.
    """

    __tablename__ = "lookup_lease"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID, unique=True)
    holder: str = Field(max_length=64)
    held_until: datetime = instant()
