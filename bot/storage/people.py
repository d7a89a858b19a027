"""Everything stored about one person, found from one list: export it, forget it, stop it.

`OWN` lists the columns whose rows are a person's own: exported, and deleted when they are
forgotten. `MENTIONS` lists the columns that name them as the one who did something in rows that
are someone else's or everyone's (a drip they created, a role they granted): exported, and
blanked. `TEXTS` are the free-text columns of others' rows that may mention them (`<@U…>`):
rewritten. `IMPERSONAL` lists the tables that keep nobody's data, and why.

tests/storage/test_people_registry.py fails when a table, or a column that looks like it holds a
person, is in none of these lists: a new table cannot be missed by `microlearn forget`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, exists, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import SQLModel

from bot.storage.db import Database
from bot.storage.enrolments import LIVE
from bot.storage.learners import store_gone
from bot.storage.models import (
    Answer,
    AutoPause,
    Badge,
    Completion,
    Course,
    Delivery,
    Drip,
    DripTarget,
    Enrolment,
    Installation,
    Lead,
    Learner,
    LessonFollowup,
    PlanSlot,
    PlayerSetting,
    PointEntry,
    ReviewCard,
    ReviewQuota,
    ThreadReply,
    metadata,
)
from bot.storage.models.base import table_of
from bot.storage.people_rows import mentioning, plain_row, referred, scrub
from bot.storage.rows import record

_CHUNK = 500  # ids per IN list: far below either database's limit on parameters


def _table(model: type[SQLModel]) -> Table:
    table = table_of(model)
    assert isinstance(table, Table)
    return table


@dataclass(frozen=True)
class Own:
    """Rows that are the person's own: their id in `column` (and, in `only`, these values)."""

    model: type[SQLModel]
    column: str
    kind: str  # what the forget summary calls them
    only: tuple[tuple[str, str], ...] = ()

    @property
    def table(self) -> Table:
        return _table(self.model)

    def where(self, team_id: Any, user_id: str) -> list[ColumnElement[bool]]:
        columns = self.table.c
        return [
            columns.team_id == team_id,
            columns[self.column] == user_id,
            *(columns[name] == value for name, value in self.only),
        ]


@dataclass(frozen=True)
class Mention:
    """A column naming the person as who did something, in rows that are not theirs."""

    model: type[SQLModel]
    column: str
    kind: str

    @property
    def table(self) -> Table:
        return _table(self.model)

    def where(self, team_id: Any, user_id: str) -> list[ColumnElement[bool]]:
        columns = self.table.c
        return [columns.team_id == team_id, columns[self.column] == user_id]


# In the order they are deleted: rows that point at others' rows go before those rows.
OWN: tuple[Own, ...] = (
    Own(Answer, "user_id", "answers"),
    Own(Completion, "user_id", "completions"),
    Own(ReviewCard, "user_id", "review cards"),
    Own(ReviewQuota, "user_id", "review quotas"),
    Own(LessonFollowup, "user_id", "lesson reminders"),  # before the deliveries it follows up
    Own(AutoPause, "user_id", "auto-pauses"),  # before the enrolments that paused
    Own(ThreadReply, "user_id", "discussion replies"),
    Own(PointEntry, "user_id", "points"),
    Own(Badge, "user_id", "badges"),
    Own(PlayerSetting, "user_id", "leaderboard and goal settings"),
    Own(Delivery, "recipient", "deliveries to their DM", only=(("recipient_kind", "dm"),)),
    Own(Enrolment, "recipient", "enrolments", only=(("recipient_kind", "dm"),)),
    Own(DripTarget, "ref", "drip targets naming them", only=(("kind", "user"),)),
    Own(Lead, "user_id", "lead role"),
    Own(Learner, "user_id", "profile"),
)
MENTIONS: tuple[Mention, ...] = (
    Mention(Drip, "created_by", "drips they created"),
    Mention(Enrolment, "enrolled_by", "enrolments they made for others"),
    Mention(Lead, "granted_by", "lead roles they granted"),
    Mention(Installation, "installer_user_id", "workspace installations they made"),
)
# Free text (or JSON) in others' rows that may mention the person: rewritten when forgotten.
TEXTS: tuple[tuple[type[SQLModel], str], ...] = ((Delivery, "payload"), (ThreadReply, "text"))
IMPERSONAL: dict[str, str] = {
    "course": "courses come from the lessons folder",
    "lesson": "lessons come from the lessons folder",
    "question": "questions come from the lessons folder",
    "plan_slot": "a group of enrolments sharing a schedule; it names nobody",
    "discussion_thread": "a lesson's thread in a channel; replies are kept per person",
    "processed_event": "Slack event ids, kept a day against retries",
    "accepted_request": "hashes of request signatures, kept five minutes against replays",
    "send_bucket": "a workspace's shared send rate; it names nobody",
    "lookup_lease": "which process looks up a workspace's people; it names a process, nobody",
}
# Columns whose names look as if they held a person, but which never do.
NOT_A_PERSON: dict[tuple[str, str], str] = {
    ("enrolment", "recipient_kind"): "dm or channel",
    ("delivery", "recipient_kind"): "dm or channel",
    ("installation", "bot_user_id"): "the app's own bot user in that workspace",
    ("player_setting", "leaderboard_hidden"): "a yes/no choice, deleted with the person's row",
}


@dataclass(frozen=True)
class Forgotten:
    """What `forget` removed (per kind, in a stable order) and what it cleared in others' rows."""

    team_id: str
    user_id: str
    removed: tuple[tuple[str, int], ...]
    cleared: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return sum(count for _kind, count in self.removed + self.cleared)


@dataclass(frozen=True)
class StoppedEnrolment:
    id: int
    drip_id: int
    course: str
    enrolled_by: str


@dataclass(frozen=True)
class Deactivated:
    """A person deactivated in Slack: what stopped for them."""

    stopped: tuple[StoppedEnrolment, ...] = ()
    cancelled: int = 0  # deliveries to their DM that were waiting to go out
    known: bool = True


class PersonRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def teams_of(self, user_id: str) -> list[str]:
        """The workspaces whose rows hold anything about this person."""
        teams: set[str] = set()
        wheres = [(own.table, own.where) for own in OWN]
        wheres += [(mention.table, mention.where) for mention in MENTIONS]
        with self._db.read() as session:
            for table, where in wheres:
                # Every team's rows: the team condition compares with itself.
                query = select(table.c.team_id).where(*where(table.c.team_id, user_id))
                teams.update(str(team) for team in session.execute(query.distinct()).scalars())
        return sorted(teams)

    # -- export -------------------------------------------------------------------------------

    def export(self, team_id: str, user_id: str) -> dict[str, Any]:
        """Every row about the person, by table, with what their ids refer to (plain JSON)."""
        own: dict[str, list[dict[str, Any]]] = {}
        mentions: dict[str, list[dict[str, Any]]] = {}
        with self._db.read() as session:
            for entry in OWN:
                rows = session.execute(
                    select(entry.table).where(*entry.where(team_id, user_id)).order_by("id")
                ).all()
                own[entry.table.name] = [plain_row(dict(row._mapping)) for row in rows]
            for mention in MENTIONS:
                columns = mention.table.c
                found = session.execute(
                    select(columns.id).where(*mention.where(team_id, user_id)).order_by("id")
                ).scalars()
                mentions[f"{mention.table.name}.{mention.column}"] = [
                    {"id": row_id} for row_id in found
                ]
            mentioned_in = {
                _table(model).name: ids
                for model, column in TEXTS
                if (ids := self._mentioned_in(session, model, column, team_id, user_id))
            }
            context = referred(session, own)
        return {
            "rows": own,
            "named_as_actor": mentions,
            "mentioned_in_others_rows": mentioned_in,
            "context": context,
        }

    # -- forget -------------------------------------------------------------------------------

    def forget(self, team_id: str, user_id: str) -> Forgotten:
        """Delete the person's rows and clear their id from others', in one transaction."""
        removed: dict[str, int] = {}
        cleared: dict[str, int] = {}
        with self._db.write() as session:
            drips = self._their_drips(session, team_id, user_id)
            for entry in OWN:
                # Found once: each later statement then reads the rows by id, not the table.
                query = select(entry.table.c.id).where(*entry.where(team_id, user_id))
                ids = list(session.execute(query).scalars())
                removed[entry.kind] = _delete_rows(session, entry.table, ids)
            removed["drips left empty"] = self._delete_empty_drips(session, team_id, drips)
            for mention in MENTIONS:
                result = session.execute(
                    update(mention.table)
                    .where(*mention.where(team_id, user_id))
                    .values({mention.column: ""})
                )
                cleared[mention.kind] = _rowcount(result)
            rewritten = 0
            for model, column in TEXTS:
                rewritten += self._rewrite(session, model, column, team_id, user_id)
            cleared["others' messages mentioning them"] = rewritten
        in_order = tuple((kind, removed[kind]) for kind in _REMOVED_ORDER)
        return Forgotten(team_id, user_id, in_order, tuple(cleared.items()))

    @staticmethod
    def _their_drips(session: Session, team_id: str, user_id: str) -> set[int]:
        """Drips the person is enrolled in or a target of: forgetting may leave them empty."""
        found: set[int] = set()
        for entry in OWN:
            if entry.model in (Enrolment, DripTarget):
                columns = entry.table.c
                query = select(columns.drip_id).where(*entry.where(team_id, user_id))
                found.update(session.execute(query.distinct()).scalars())
        return found

    @staticmethod
    def _delete_empty_drips(session: Session, team_id: str, drip_ids: set[int]) -> int:
        """A drip that was only theirs (`/learn join`) goes too: it has nobody left to teach."""
        if not drip_ids:
            return 0
        enrolment, target, drip = _table(Enrolment), _table(DripTarget), _table(Drip)
        empty = select(drip.c.id).where(
            drip.c.team_id == team_id,
            drip.c.id.in_(sorted(drip_ids)),
            ~exists().where(enrolment.c.drip_id == drip.c.id),
            ~exists().where(target.c.drip_id == drip.c.id),
        )
        ids = list(session.execute(empty).scalars())
        if not ids:
            return 0
        session.execute(delete(_table(PlanSlot)).where(_table(PlanSlot).c.drip_id.in_(ids)))
        return _delete_rows(session, drip, ids)

    @staticmethod
    def _mentioned_in(
        session: Session, model: type[SQLModel], column: str, team_id: str, user_id: str
    ) -> list[int]:
        table = _table(model)
        query = select(table.c.id).where(*mentioning(table, column, team_id, user_id))
        return list(session.execute(query.order_by(table.c.id)).scalars())

    @staticmethod
    def _rewrite(
        session: Session, model: type[SQLModel], column: str, team_id: str, user_id: str
    ) -> int:
        table = _table(model)
        rows = session.execute(
            select(table.c.id, table.c[column]).where(*mentioning(table, column, team_id, user_id))
        ).all()
        if rows:  # one statement, many rows
            session.execute(
                update(table)
                .where(table.c.id == bindparam("row_id"))
                .values({column: bindparam("rewritten", type_=table.c[column].type)}),
                [{"row_id": row_id, "rewritten": scrub(value, user_id)} for row_id, value in rows],
            )
        return len(rows)

    # -- deactivated in Slack -----------------------------------------------------------------

    def deactivate(self, team_id: str, user_id: str, *, now: datetime) -> Deactivated:
        """Mark the person deactivated, stop their live DM enrolments and cancel what waits to
        go to their DM, in one transaction. Someone never stored is not stored now."""
        learner, enrolment, delivery = _table(Learner), _table(Enrolment), _table(Delivery)
        drip, course = _table(Drip), _table(Course)
        theirs = [
            enrolment.c.team_id == team_id,
            enrolment.c.recipient == user_id,
            enrolment.c.recipient_kind == "dm",
        ]
        with self._db.write() as session:
            known = session.execute(
                select(
                    exists().where(learner.c.team_id == team_id, learner.c.user_id == user_id)
                    | exists().where(*theirs)
                )
            ).scalar()
            if not known:
                return Deactivated(known=False)
            store_gone(session, team_id, user_id, now=now)
            live = session.execute(
                select(
                    enrolment.c.id,
                    enrolment.c.drip_id,
                    course.c.slug.label("course"),
                    enrolment.c.enrolled_by,
                )
                .join(drip, drip.c.id == enrolment.c.drip_id)
                .join(course, course.c.id == drip.c.course_id)
                .where(*theirs, enrolment.c.status.in_(LIVE))
                .order_by(enrolment.c.id)
            ).all()
            stopped = tuple(record(StoppedEnrolment, row._mapping) for row in live)
            if stopped:
                session.execute(
                    update(enrolment)
                    .where(enrolment.c.id.in_([e.id for e in stopped]))
                    .values(status="stopped", next_due_at=None)
                )
            cancelled = session.execute(
                update(delivery)
                .where(
                    delivery.c.team_id == team_id,
                    delivery.c.recipient == user_id,
                    delivery.c.recipient_kind == "dm",
                    delivery.c.status == "pending",
                )
                .values(status="cancelled", error="account_inactive")
            )
        return Deactivated(stopped=stopped, cancelled=_rowcount(cancelled))

    def is_deactivated(self, team_id: str, user_id: str) -> bool:
        learner = _table(Learner)
        with self._db.read() as session:
            return bool(
                session.execute(
                    select(learner.c.deactivated).where(
                        learner.c.team_id == team_id, learner.c.user_id == user_id
                    )
                ).scalar()
            )

    # -- retention ----------------------------------------------------------------------------

    def expire(self, *, before: datetime, limit: int) -> tuple[int, int]:
        """Delete up to `limit` answers and `limit` discussion replies older than `before`."""
        with self._db.write() as session:
            answers = _delete_oldest(session, _table(Answer), "answered_at", before, limit)
            replies = _delete_oldest(session, _table(ThreadReply), "replied_at", before, limit)
        return answers, replies


_REMOVED_ORDER = (
    "profile",
    "lead role",
    "enrolments",
    "deliveries to their DM",
    "answers",
    "completions",
    "review cards",
    "discussion replies",
    "drip targets naming them",
    "drips left empty",
)


def _delete_oldest(
    session: Session, table: Table, column: str, before: datetime, limit: int
) -> int:
    # Any old rows, not the oldest: without an index on the instant, ordering would sort the
    # whole table for every batch, and the order does not matter.
    oldest = select(table.c.id).where(table.c[column] < before).limit(limit)
    ids = list(session.execute(oldest).scalars())
    if not ids:
        return 0
    return _rowcount(session.execute(delete(table).where(table.c.id.in_(ids))))


def _delete_rows(session: Session, table: Table, ids: list[int]) -> int:
    """Delete these rows, a chunk of ids at a time, once no other row points at them."""
    deleted = 0
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        _release(session, table, chunk)
        deleted += _rowcount(session.execute(delete(table).where(table.c.id.in_(chunk))))
    return deleted


def _release(session: Session, table: Table, ids: list[int]) -> None:
    """Rows elsewhere that point at rows about to be deleted stop pointing at them.

    Only nullable references are cleared; a row that cannot exist without its target makes
    the delete fail, and the whole forget with it, rather than lose someone else's data.
    """
    for other in metadata.sorted_tables:
        for key in other.foreign_keys:
            if key.column.table is table and key.parent.nullable and other is not table:
                session.execute(
                    update(other).where(key.parent.in_(ids)).values({key.parent.name: None})
                )


def _rowcount(result: Any) -> int:
    return int(result.rowcount)
