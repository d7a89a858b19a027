"""Points ledger, badges and people's game settings; and the reads behind leaderboards and mastery.

The ledger is append-only: one row per event, unique per (workspace, person, cause), written with
INSERT … ON CONFLICT DO NOTHING in the same transaction as what caused it, so a retried click or
event never counts twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlmodel import Session, col

from bot.domain.points import Award
from bot.storage.db import Database, insert_for
from bot.storage.fastlane import (
    BADGE_KEYS,
    CARDS_OF,
    COMPLETIONS,
    FIRST_ANSWERS,
    PLAYER_SETTING,
    REVIEW_SCHEDULE,
    REVIEWS_RIGHT,
    points_row,
)
from bot.storage.learners import review_schedule_of
from bot.storage.models import (
    Answer,
    Badge,
    Course,
    Delivery,
    Drip,
    Enrolment,
    PlayerSetting,
    PointEntry,
)

LIVE = ("waiting", "active", "paused")


@dataclass(frozen=True)
class BadgeRecord:
    key: str
    kind: str
    title: str
    reached_at: datetime


@dataclass(frozen=True)
class MilestoneFacts:
    """What a learner's milestones are measured on, read together on one connection."""

    completions: list[tuple[str, str, datetime]]  # (course, lesson, completed at)
    badges: set[str]  # the keys of the badges they have
    reviews_right: int
    # The learner's zone and their DM enrolments' (status, days), soonest due first; None when
    # the learner is not stored (then neither is known here).
    tz: str | None
    schedules: list[tuple[str, str]] | None


@dataclass(frozen=True)
class Setting:
    hidden: bool = False
    goal: str | None = None


@dataclass(frozen=True)
class AnsweredQuestion:
    """A graded question the learner answered: its course and whether the first try was right."""

    question_id: int
    course: str
    first_try_right: bool


def add_points(
    session: Session, team_id: str, user_id: str, award: Award, *, course: str, now: datetime
) -> bool:
    """Append a ledger row inside the caller's transaction; False when the cause counted before."""
    return (
        session.execute(
            insert_for(session)(PointEntry)
            .values(**points_row(team_id, user_id, award, course=course, now=now))
            .on_conflict_do_nothing(index_elements=["team_id", "user_id", "cause"])
            .returning(col(PointEntry.id))
        ).first()
        is not None
    )


class GamifyRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- points -------------------------------------------------------------------------------

    def award(
        self, *, team_id: str, user_id: str, award: Award, course: str, now: datetime
    ) -> bool:
        """Append one ledger row on its own; False when its cause counted before."""
        with self._db.write() as session:
            return add_points(session, team_id, user_id, award, course=course, now=now)

    def total(self, team_id: str, user_id: str) -> int:
        with self._db.read() as session:
            found = session.execute(
                select(func.coalesce(func.sum(PointEntry.points), 0)).where(
                    col(PointEntry.team_id) == team_id, col(PointEntry.user_id) == user_id
                )
            ).scalar_one()
        return int(found)

    def entries(self, team_id: str, user_id: str) -> list[tuple[str, str, int]]:
        """(cause, event, points) of every ledger row of a person, oldest first."""
        with self._db.read() as session:
            rows = session.execute(
                select(col(PointEntry.cause), col(PointEntry.event), col(PointEntry.points))
                .where(col(PointEntry.team_id) == team_id, col(PointEntry.user_id) == user_id)
                .order_by(col(PointEntry.id))
            ).all()
        return [(cause, event, points) for cause, event, points in rows]

    def scores(
        self,
        team_id: str,
        *,
        users: Collection[str] | None,
        start: datetime | None,
        end: datetime | None,
        course: str | None,
    ) -> dict[str, int]:
        """Points per person in the window (None: open), among `users` (None: everyone)."""
        query = (
            select(col(PointEntry.user_id), func.sum(PointEntry.points))
            .where(col(PointEntry.team_id) == team_id)
            .group_by(col(PointEntry.user_id))
        )
        if users is not None:
            if not users:
                return {}
            query = query.where(col(PointEntry.user_id).in_(sorted(users)))
        if start is not None:
            query = query.where(col(PointEntry.awarded_at) >= start)
        if end is not None:
            query = query.where(col(PointEntry.awarded_at) < end)
        if course is not None:
            query = query.where(col(PointEntry.course) == course)
        with self._db.read() as session:
            rows = session.execute(query).all()
        return {user: int(points or 0) for user, points in rows}

    # -- badges -------------------------------------------------------------------------------

    def badges(self, team_id: str, user_id: str) -> list[BadgeRecord]:
        with self._db.read() as session:
            rows = session.execute(
                select(Badge)
                .where(col(Badge.team_id) == team_id, col(Badge.user_id) == user_id)
                .order_by(col(Badge.reached_at), col(Badge.id))
            ).scalars()
            return [BadgeRecord(b.key, b.kind, b.title, b.reached_at) for b in rows]

    def reach(
        self,
        *,
        team_id: str,
        user_id: str,
        key: str,
        kind: str,
        title: str,
        text: str,
        now: datetime,
    ) -> bool:
        """Store a badge and queue its DM in one transaction; False when it was reached before."""
        with self._db.write() as session:
            stored = session.execute(
                insert_for(session)(Badge)
                .values(
                    team_id=team_id,
                    user_id=user_id,
                    key=key[:120],
                    kind=kind,
                    title=title[:200],
                    reached_at=now,
                )
                .on_conflict_do_nothing(index_elements=["team_id", "user_id", "key"])
                .returning(col(Badge.id))
            ).first()
            if stored is None:
                return False
            session.execute(
                insert_for(session)(Delivery)
                .values(
                    team_id=team_id,
                    dedupe_key=f"milestone:{user_id}:{key}"[:200],
                    kind="notice",
                    recipient=user_id,
                    recipient_kind="dm",
                    status="pending",
                    due_at=now,
                    tries=0,
                    created_at=now,
                    parts_sent=0,
                    payload={"text": text, "milestone": key},
                )
                .on_conflict_do_nothing(index_elements=["team_id", "dedupe_key"])
            )
            return True

    # -- what milestones and mastery are measured on -----------------------------------------

    def completions(self, team_id: str, user_id: str) -> list[tuple[str, str, datetime]]:
        """(course, lesson, completed at) of every lesson the person finished."""
        with self._db.direct() as connection:  # the dashboard and streaks: no ORM session
            rows = connection.all(COMPLETIONS, {"team_id": team_id, "user_id": user_id})
        return [(row["course"], row["lesson"], row["completed_at"]) for row in rows]

    def milestone_facts(self, team_id: str, user_id: str) -> MilestoneFacts:
        """Completions, badges, reviews right and the learner's schedules, in four prebuilt
        statements on one connection: what every lesson done and every review right reads."""
        who = {"team_id": team_id, "user_id": user_id}
        with self._db.direct() as connection:
            completions = connection.all(COMPLETIONS, who)
            badges = connection.all(BADGE_KEYS, who)
            right = connection.first(REVIEWS_RIGHT, who)
            schedule = connection.all(REVIEW_SCHEDULE, who)
        found = review_schedule_of(schedule)
        return MilestoneFacts(
            completions=[
                (row["course"], row["lesson"], row["completed_at"]) for row in completions
            ],
            badges={row["key"] for row in badges},
            reviews_right=int(right["reviews_right"]) if right is not None else 0,
            tz=found[0] if found is not None else None,
            schedules=[(e[0], e[1]) for e in found[1]] if found is not None else None,
        )

    def reviews_right(self, team_id: str, user_id: str) -> int:
        """Review answers (attempt 2 and later) that were right."""
        with self._db.read() as session:
            return int(
                session.execute(
                    select(func.count())
                    .select_from(Answer)
                    .where(
                        col(Answer.team_id) == team_id,
                        col(Answer.user_id) == user_id,
                        col(Answer.attempt) > 1,
                        col(Answer.correct).is_(True),
                    )
                ).scalar_one()
            )

    def answered(self, team_id: str, user_id: str) -> list[AnsweredQuestion]:
        """Graded questions the person answered at the first attempt, with their course."""
        with self._db.direct() as connection:  # the dashboard: no ORM session
            rows = connection.all(FIRST_ANSWERS, {"team_id": team_id, "user_id": user_id})
        return [
            AnsweredQuestion(row["question_id"], row["course"], bool(row["correct"]))
            for row in rows
        ]

    def cards(self, team_id: str, user_id: str) -> dict[int, dict[str, Any]]:
        """Every FSRS card of the person (mastered ones too), by question id."""
        with self._db.direct() as connection:  # the dashboard: no ORM session
            rows = connection.all(CARDS_OF, {"team_id": team_id, "user_id": user_id})
        return {row["question_id"]: dict(row["card"]) for row in rows}

    # -- who shares a drip --------------------------------------------------------------------

    def peers(self, team_id: str, user_id: str) -> set[str]:
        """People with a DM enrolment in a drip the person has one in (the person included)."""
        mine = (
            select(col(Enrolment.drip_id))
            .where(
                col(Enrolment.team_id) == team_id,
                col(Enrolment.recipient) == user_id,
                col(Enrolment.recipient_kind) == "dm",
            )
            .scalar_subquery()
        )
        with self._db.read() as session:
            rows = session.execute(
                select(col(Enrolment.recipient))
                .distinct()
                .where(
                    col(Enrolment.team_id) == team_id,
                    col(Enrolment.recipient_kind) == "dm",
                    col(Enrolment.drip_id).in_(mine),
                )
            ).scalars()
            return {user_id, *rows}

    def drip_people(self, team_id: str, drip_id: int) -> set[str]:
        """People with a DM enrolment in a drip."""
        with self._db.read() as session:
            rows = session.execute(
                select(col(Enrolment.recipient))
                .distinct()
                .where(
                    col(Enrolment.team_id) == team_id,
                    col(Enrolment.drip_id) == drip_id,
                    col(Enrolment.recipient_kind) == "dm",
                )
            ).scalars()
            return set(rows)

    def peer_courses(self, team_id: str, user_id: str) -> Counter[str]:
        """Per course: how many other people sharing a drip with the person take it now."""
        others = self.peers(team_id, user_id) - {user_id}
        if not others:
            return Counter()
        with self._db.read() as session:
            rows = session.execute(
                select(col(Course.slug), func.count(func.distinct(Enrolment.recipient)))
                .join(Drip, col(Drip.id) == col(Enrolment.drip_id))
                .join(Course, col(Course.id) == col(Drip.course_id))
                .where(
                    col(Enrolment.team_id) == team_id,
                    col(Enrolment.recipient_kind) == "dm",
                    col(Enrolment.recipient).in_(sorted(others)),
                    col(Enrolment.status).in_(LIVE),
                )
                .group_by(col(Course.slug))
            ).all()
        return Counter({course: int(count) for course, count in rows})

    # -- settings -----------------------------------------------------------------------------

    def setting(self, team_id: str, user_id: str) -> Setting:
        with self._db.direct() as connection:  # the dashboard: no ORM session
            row = connection.first(PLAYER_SETTING, {"team_id": team_id, "user_id": user_id})
        if row is None:
            return Setting()
        return Setting(hidden=bool(row["leaderboard_hidden"]), goal=row["goal"])

    def hidden(self, team_id: str) -> set[str]:
        """People of the workspace who hide from leaderboards."""
        with self._db.read() as session:
            rows = session.execute(
                select(col(PlayerSetting.user_id)).where(
                    col(PlayerSetting.team_id) == team_id,
                    col(PlayerSetting.leaderboard_hidden).is_(True),
                )
            ).scalars()
            return set(rows)

    def set_hidden(self, team_id: str, user_id: str, *, hidden: bool, now: datetime) -> None:
        self._save(team_id, user_id, {"leaderboard_hidden": hidden}, now=now)

    def set_goal(self, team_id: str, user_id: str, *, goal: str | None, now: datetime) -> None:
        self._save(team_id, user_id, {"goal": goal}, now=now)

    def _save(self, team_id: str, user_id: str, values: dict[str, Any], *, now: datetime) -> None:
        with self._db.write() as session:
            session.execute(
                insert_for(session)(PlayerSetting)
                .values(
                    team_id=team_id,
                    user_id=user_id,
                    leaderboard_hidden=False,
                    goal=None,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["team_id", "user_id"])
            )
            session.execute(
                update(PlayerSetting)
                .where(
                    and_(
                        col(PlayerSetting.team_id) == team_id,
                        col(PlayerSetting.user_id) == user_id,
                    )
                )
                .values(**values, updated_at=now)
            )
