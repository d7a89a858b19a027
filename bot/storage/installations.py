"""Workspaces that installed the app through OAuth, and their bot tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import col

from bot.storage.db import Database
from bot.storage.fastlane import INSTALLATION
from bot.storage.models import Drip, Enrolment, Installation
from bot.storage.rows import record


@dataclass(frozen=True)
class InstallationRecord:
    team_id: str
    bot_token: str
    bot_id: str
    bot_user_id: str
    team_name: str = ""
    enterprise_id: str | None = None
    app_id: str = ""
    bot_scopes: str = ""
    installer_user_id: str | None = None
    installed_at: datetime | None = None


class InstallationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, record: InstallationRecord, *, now: datetime) -> None:
        """Store a workspace's installation, replacing the one before (a reinstall)."""
        with self._db.write() as session:
            row = session.scalars(
                select(Installation).where(col(Installation.team_id) == record.team_id)
            ).first() or Installation(team_id=record.team_id, bot_token="", installed_at=now)
            row.bot_token = record.bot_token
            row.bot_id = record.bot_id
            row.bot_user_id = record.bot_user_id
            row.team_name = record.team_name
            row.enterprise_id = record.enterprise_id
            row.app_id = record.app_id
            row.bot_scopes = record.bot_scopes
            row.installer_user_id = record.installer_user_id
            row.installed_at = now
            session.add(row)

    def find(self, team_id: str) -> InstallationRecord | None:
        """On the path of every request and every Slack call with OAuth: one small read on the
        driver's connection (no ORM session to set up)."""
        with self._db.direct() as connection:
            row = connection.first(INSTALLATION, {"team_id": team_id})
        return None if row is None else record(InstallationRecord, row)

    def teams(self) -> list[str]:
        with self._db.read() as session:
            return list(
                session.scalars(
                    select(col(Installation.team_id)).order_by(col(Installation.team_id))
                )
            )

    def remove(self, team_id: str, *, now: datetime) -> tuple[bool, int]:
        """Delete a workspace's tokens and pause its running drips, in one transaction.

        Returns whether there was an installation, and how many drips were paused. Nothing else
        of the workspace is touched: lessons, answers and drips stay until an admin forgets them.
        """
        with self._db.write() as session:
            row = session.scalars(
                select(Installation).where(col(Installation.team_id) == team_id)
            ).first()
            if row is not None:
                session.delete(row)
            running = list(
                session.scalars(
                    select(col(Drip.id)).where(
                        col(Drip.team_id) == team_id, col(Drip.status) == "active"
                    )
                )
            )
            if running:
                session.execute(
                    update(Drip)
                    .where(col(Drip.id).in_(running))
                    .values(status="paused", updated_at=now)
                )
                session.execute(
                    update(Enrolment)
                    .where(
                        col(Enrolment.team_id) == team_id,
                        col(Enrolment.drip_id).in_(running),
                        col(Enrolment.status) == "active",
                    )
                    .values(status="paused")
                )
        return row is not None, len(running)
