"""What protects against replays: processed events and accepted requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.models.base import TEAM_ID, instant


class ProcessedEvent(SQLModel, table=True):
    """Slack event ids already handled: Slack retries events and Bolt does not deduplicate."""

    __tablename__ = "processed_event"
    __table_args__ = (UniqueConstraint("team_id", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    event_id: str = Field(max_length=64)
    received_at: datetime = instant()


class AcceptedRequest(SQLModel, table=True):
    """Signed HTTP requests already acted on, kept while Slack's 5-minute window lets them replay.

    It is recorded before the payload (and so its workspace) is read, so it carries no team id:
    a signature is the app's, whichever workspace the request came from.
    """

    __tablename__ = "accepted_request"

    id: int | None = Field(default=None, primary_key=True)
    signature: str = Field(max_length=64, unique=True)  # SHA-256 of X-Slack-Signature, in hex
    expires_at: datetime = instant(index=True)
