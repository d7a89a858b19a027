"""Workspaces installed through OAuth."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from bot.storage.models.base import SLACK_ID, TEAM_ID, instant


class Installation(SQLModel, table=True):
    """A workspace that installed the app through OAuth, with its bot token.

    Deleted when the workspace uninstalls the app or revokes its token; the workspace's other
    rows stay (its drips are paused) until an admin forgets them.
    """

    __tablename__ = "installation"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID, unique=True)
    enterprise_id: str | None = Field(default=None, max_length=TEAM_ID)
    team_name: str = Field(default="", max_length=255)
    app_id: str = Field(default="", max_length=SLACK_ID)
    bot_token: str = Field(max_length=255)
    bot_id: str = Field(default="", max_length=SLACK_ID)
    bot_user_id: str = Field(default="", max_length=SLACK_ID)
    bot_scopes: str = Field(default="", max_length=2000)
    installer_user_id: str | None = Field(default=None, max_length=SLACK_ID)
    installed_at: datetime = instant()
