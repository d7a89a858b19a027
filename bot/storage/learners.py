"""People the app knows: learners' profiles, DM channels, snoozes and preferences, and leads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.storage.db import Database, insert_for, insert_for_dialect
from bot.storage.enrolments import EnrolmentRepository
from bot.storage.fastlane import (
    LEAD_GRANTED,
    LEARNER,
    PROFILES_TO_REFRESH,
    REVIEW_SCHEDULE,
    Row,
)
from bot.storage.models import Enrolment, Lead, Learner
from bot.storage.models.base import table_of
from bot.storage.rows import record


@dataclass(frozen=True)
class ProfileFields:
    """What Slack says about a person, as stored."""

    user_id: str
    name: str
    first_name: str
    tz: str
    is_admin: bool
    deactivated: bool


@dataclass(frozen=True)
class LearnerRecord:
    team_id: str
    user_id: str
    name: str
    first_name: str
    tz: str
    tz_checked_at: datetime | None
    is_admin: bool
    deactivated: bool
    snoozed_until: datetime | None
    dm_channel: str | None
    pref_days: str | None
    pref_at: str | None


def _learner(row: Learner) -> LearnerRecord:
    return LearnerRecord(
        team_id=row.team_id,
        user_id=row.user_id,
        name=row.name,
        first_name=row.first_name,
        tz=row.tz,
        tz_checked_at=row.tz_checked_at,
        is_admin=row.is_admin,
        deactivated=row.deactivated,
        snoozed_until=row.snoozed_until,
        dm_channel=row.dm_channel,
        pref_days=row.pref_days,
        pref_at=row.pref_at,
    )


class LearnerRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._enrolments = EnrolmentRepository(db)

    def learner(self, team_id: str, user_id: str) -> LearnerRecord | None:
        with self._db.direct() as connection:  # a hot path: no ORM session
            row = connection.first(LEARNER, {"team_id": team_id, "user_id": user_id})
        return None if row is None else record(LearnerRecord, row)

    def review_schedule(
        self, team_id: str, user_id: str
    ) -> tuple[str | None, list[tuple[str, str, str, str]]]:
        """In one query: the learner's zone, if known, and their DM enrolments' schedules.

        The schedules come as (status, days, at_time, tz), soonest due first.
        """
        with self._db.direct() as connection:
            rows = connection.all(REVIEW_SCHEDULE, {"team_id": team_id, "user_id": user_id})
        found = review_schedule_of(rows)
        if found is None:  # not stored yet (Slack did not answer users.info): their enrolments only
            return None, [
                (e.status, e.days, e.at_time, e.tz)
                for e in self._enrolments.enrolments(team_id, recipient=user_id)
                if e.recipient_kind == "dm"
            ]
        return found

    def save_profile(
        self,
        team_id: str,
        user_id: str,
        *,
        name: str,
        first_name: str,
        tz: str,
        is_admin: bool,
        deactivated: bool,
        now: datetime,
    ) -> tuple[LearnerRecord, str | None]:
        """Store what Slack says about a person; return the record and their previous zone."""
        for attempt in range(2):
            try:
                with self._db.write() as session:
                    row = session.exec(
                        select(Learner).where(
                            Learner.team_id == team_id, Learner.user_id == user_id
                        )
                    ).first()
                    previous = row.tz if row and row.tz_checked_at else None
                    if row is None:
                        row = Learner(team_id=team_id, user_id=user_id, created_at=now)
                    row.name = name[:200]
                    row.first_name = first_name[:200]
                    row.tz = tz
                    row.is_admin = is_admin
                    row.deactivated = deactivated
                    row.tz_checked_at = now
                    session.add(row)
                    session.flush()
                    return _learner(row), previous
            except IntegrityError:  # another process inserted the same person first
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def save_profiles(
        self, team_id: str, profiles: Sequence[ProfileFields], *, now: datetime
    ) -> list[tuple[LearnerRecord, str | None]]:
        """`save_profile` for many people of a workspace, in one transaction of three statements
        (their previous zones, one upsert, the rows as stored): a time-zone lookup from the
        directory stores a batch this way, not one commit per person."""
        latest = {profile.user_id: profile for profile in profiles}
        users = sorted(latest)  # one order for every writer: no deadlock between two of them
        if not users:
            return []
        table = table_of(Learner)
        with self._db.write() as session:
            previous = {
                user_id: tz
                for user_id, tz, checked in session.execute(
                    select(Learner.user_id, Learner.tz, Learner.tz_checked_at).where(
                        Learner.team_id == team_id, col(Learner.user_id).in_(users)
                    )
                ).all()
                if checked is not None
            }
            insert = insert_for(session)(table)
            session.execute(
                insert.values(
                    [
                        {
                            "team_id": team_id,
                            "user_id": user_id,
                            "name": latest[user_id].name[:200],
                            "first_name": latest[user_id].first_name[:200],
                            "tz": latest[user_id].tz,
                            "is_admin": latest[user_id].is_admin,
                            "deactivated": latest[user_id].deactivated,
                            "tz_checked_at": now,
                            "created_at": now,
                        }
                        for user_id in users
                    ]
                ).on_conflict_do_update(
                    index_elements=["team_id", "user_id"],
                    set_={
                        name: insert.excluded[name]
                        for name in (
                            "name",
                            "first_name",
                            "tz",
                            "is_admin",
                            "deactivated",
                            "tz_checked_at",
                        )
                    },
                )
            )
            rows = session.exec(
                select(Learner).where(Learner.team_id == team_id, col(Learner.user_id).in_(users))
            ).all()
            stored = {row.user_id: _learner(row) for row in rows}
        return [(stored[user_id], previous.get(user_id)) for user_id in users]

    def set_dm_channel(self, team_id: str, user_id: str, channel: str, *, now: datetime) -> None:
        """Remember someone's DM channel; someone not stored yet is stored with it, and their
        profile (name, zone) is then fetched by the next tick's refresh, not by their clicks."""
        # Not made durable at commit: if a crash loses it, the next DM goes by user id and
        # Slack names the channel again.
        with self._db.write_connection(durable=False) as connection:
            connection.execute(
                insert_for_dialect(connection.dialect.name)(Learner)
                .values(team_id=team_id, user_id=user_id, dm_channel=channel, created_at=now)
                .on_conflict_do_update(
                    index_elements=["team_id", "user_id"], set_={"dm_channel": channel}
                )
            )

    def mark_gone(self, team_id: str, user_id: str, *, now: datetime) -> None:
        """Slack no longer knows this person: stored as deactivated, so nobody asks again."""
        with self._db.write() as session:
            store_gone(session, team_id, user_id, now=now)

    def set_snooze(self, team_id: str, user_id: str, until: datetime | None) -> None:
        with self._db.write() as session:
            session.execute(
                update(Learner)
                .where(col(Learner.team_id) == team_id, col(Learner.user_id) == user_id)
                .values(snoozed_until=until)
            )

    def learners_to_refresh(self, *, stale_before: datetime, limit: int) -> list[tuple[str, str]]:
        """(team, user) of people with live enrolments whose profile is unknown or stale, then of
        people stored without a profile yet (someone a lesson was sent to, say)."""
        if not self._db.found(PROFILES_TO_REFRESH, stale_before=stale_before):  # most ticks
            return []
        with self._db.read() as session:
            stale = (col(Learner.tz_checked_at).is_(None)) | (
                col(Learner.tz_checked_at) < stale_before
            )
            rows = session.exec(
                select(Enrolment.team_id, Enrolment.recipient)
                .join(
                    Learner,
                    (col(Learner.team_id) == col(Enrolment.team_id))
                    & (col(Learner.user_id) == col(Enrolment.recipient)),
                    isouter=True,
                )
                .where(
                    col(Enrolment.recipient_kind) == "dm",
                    col(Enrolment.status).in_(("waiting", "active")),
                    stale | col(Learner.id).is_(None),
                )
                .distinct()
                .limit(limit)
            ).all()
            wanted = [(team, user) for team, user in rows]
            if len(wanted) < limit:
                unknown = session.exec(
                    select(Learner.team_id, Learner.user_id)
                    .where(
                        col(Learner.tz_checked_at).is_(None), col(Learner.deactivated).is_(False)
                    )
                    .order_by(col(Learner.id))
                    .limit(limit)
                ).all()
                seen = set(wanted)
                wanted += [(team, user) for team, user in unknown if (team, user) not in seen]
        return wanted[:limit]

    def is_lead(self, team_id: str, user_id: str) -> bool:
        with self._db.direct() as connection:  # before every lead's command: no ORM session
            return (
                connection.first(LEAD_GRANTED, {"team_id": team_id, "user_id": user_id}) is not None
            )

    def grant_lead(self, team_id: str, user_id: str, *, granted_by: str, now: datetime) -> bool:
        """True if granted now, False if they already were a lead."""
        try:
            with self._db.write() as session:
                session.add(
                    Lead(team_id=team_id, user_id=user_id, granted_by=granted_by, granted_at=now)
                )
        except IntegrityError:
            return False
        return True

    def revoke_lead(self, team_id: str, user_id: str) -> bool:
        with self._db.write() as session:
            row = session.exec(
                select(Lead).where(Lead.team_id == team_id, Lead.user_id == user_id)
            ).first()
            if row is None:
                return False
            session.delete(row)
            return True

    def set_learner_prefs(
        self, team_id: str, user_id: str, *, days: str | None, at_time: str | None
    ) -> None:
        with self._db.write() as session:
            session.execute(
                update(Learner)
                .where(col(Learner.team_id) == team_id, col(Learner.user_id) == user_id)
                .values(pref_days=days, pref_at=at_time)
            )


def store_gone(session: Session, team_id: str, user_id: str, *, now: datetime) -> None:
    """Store the person as deactivated (added if new), within the caller's session."""
    session.execute(
        insert_for(session)(Learner)
        .values(
            team_id=team_id, user_id=user_id, deactivated=True, tz_checked_at=now, created_at=now
        )
        .on_conflict_do_update(
            index_elements=["team_id", "user_id"],
            set_={"deactivated": True, "tz_checked_at": now},
        )
    )


def review_schedule_of(
    rows: list[Row],
) -> tuple[str | None, list[tuple[str, str, str, str]]] | None:
    """REVIEW_SCHEDULE's rows as (the learner's zone, their DM enrolments' (status, days,
    at_time, tz)); None when the learner is not stored (no row)."""
    if not rows:
        return None
    schedules = [
        (row["status"], row["days"], row["at_time"], row["tz"])
        for row in rows
        if row["status"] is not None
    ]
    return rows[0]["learner_tz"], schedules
