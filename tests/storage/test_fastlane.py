"""Every fast-lane statement gives what its ORM twin gives, on SQLite and on PostgreSQL."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import and_, func
from sqlmodel import Session, SQLModel, col, select

import bot.storage
from bot.storage import fastlane
from bot.storage.answers import AnswerRecord
from bot.storage.cards import CardState
from bot.storage.db import Database
from bot.storage.enrolments import EnrolmentRecord
from bot.storage.fastlane import Direct, Row
from bot.storage.installations import InstallationRecord
from bot.storage.learners import LearnerRecord
from bot.storage.models import (
    AcceptedRequest,
    Answer,
    Badge,
    Completion,
    Course,
    Delivery,
    DiscussionThread,
    Drip,
    DripTarget,
    Enrolment,
    Installation,
    Lead,
    Learner,
    Lesson,
    LessonFollowup,
    PlanSlot,
    PlayerSetting,
    PointEntry,
    ProcessedEvent,
    Question,
    ReviewCard,
    ReviewQuota,
    SendBucket,
    ThreadReply,
)
from bot.storage.rows import record

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TEAM = "T1"
ANN = "U1"  # a learner with two DM enrolments, an answer and a card
BOB = "U2"  # a learner with no enrolment
# The ids the seed's rows get (each table starts empty).
DELIVERY, LESSON, FIRST, SECOND = 1, 1, 1, 2
# The workspaces the writes run as: the prebuilt statement as one, its ORM twin as the other.
FAST, TWIN = WRITERS = ("W1", "W2")
SENDING = {FAST: 11, TWIN: 12}  # each writer's delivery being sent
DRIP_LESSON = 3  # a drip lesson sent by DM (ANN's first enrolment)


def _seed(db: Database) -> None:
    with db.write() as session:
        session.add(Course(id=1, slug="habits", title="Habits", synced_at=NOW))
        session.add(Lesson(id=LESSON, course_id=1, slug="small-steps", position=1, title="S"))
        session.flush()
        session.add(Question(id=FIRST, lesson_id=LESSON, position=1, kind="quiz", text="?"))
        session.add(Question(id=SECOND, lesson_id=LESSON, position=2, kind="poll", text="?"))
        session.add(
            Drip(id=1, team_id=TEAM, course_id=1, created_by=ANN, created_at=NOW, updated_at=NOW)
        )
        session.add(
            Drip(id=2, team_id=TEAM, course_id=1, created_by=ANN, created_at=NOW, updated_at=NOW)
        )
        session.flush()
        for learner in (ANN, BOB):
            session.add(
                Learner(
                    team_id=TEAM,
                    user_id=learner,
                    name=learner.lower(),
                    tz="Europe/Berlin",
                    tz_checked_at=NOW,
                    is_admin=learner == ANN,
                    snoozed_until=NOW + timedelta(days=2) if learner == BOB else None,
                    dm_channel=f"D{learner}",
                    pref_days="mon,wed" if learner == ANN else None,
                    created_at=NOW,
                )
            )
        session.add(Lead(team_id=TEAM, user_id=ANN, granted_by=BOB, granted_at=NOW))
        for drip, due, days in ((1, NOW + timedelta(days=3), "mon"), (2, NOW, "tue,thu")):
            session.add(
                Enrolment(
                    team_id=TEAM,
                    drip_id=drip,
                    recipient=ANN,
                    recipient_kind="dm",
                    next_due_at=due,
                    enrolled_by=ANN,
                    created_at=NOW,
                    days=days,
                    tz="Asia/Tokyo",
                    start_on=date(2026, 11, 23),
                )
            )
        session.add(  # a channel's enrolment: never in a learner's review schedule
            Enrolment(
                team_id=TEAM,
                drip_id=1,
                recipient="C1",
                recipient_kind="channel",
                next_due_at=NOW - timedelta(days=1),
                enrolled_by=ANN,
                created_at=NOW,
            )
        )
        session.flush()
        session.add(
            Delivery(
                id=DELIVERY,
                team_id=TEAM,
                dedupe_key="lesson:1",
                kind="lesson",
                recipient=ANN,
                recipient_kind="dm",
                lesson_id=LESSON,
                due_at=NOW,
                created_at=NOW,
                drip_id=2,
                payload={"attempt": 2},
            )
        )
        session.add(  # a drip lesson sent by DM, its enrolment's: for DRIP_LESSON_SENT
            Delivery(
                id=DRIP_LESSON,
                team_id=TEAM,
                dedupe_key=f"lesson:{DRIP_LESSON}",
                kind="lesson",
                enrolment_id=1,
                recipient=ANN,
                recipient_kind="dm",
                lesson_id=LESSON,
                status="sent",
                due_at=NOW,
                created_at=NOW,
                drip_id=1,
            )
        )
        session.flush()
        session.add(
            Answer(
                team_id=TEAM,
                user_id=ANN,
                question_id=FIRST,
                attempt=2,
                delivery_id=DELIVERY,
                choice="b",
                correct=False,
                answered_at=NOW,
            )
        )
        session.add(  # a review answered right: REVIEWS_RIGHT counts it, not the one above
            Answer(
                team_id=TEAM,
                user_id=ANN,
                question_id=SECOND,
                attempt=3,
                delivery_id=DELIVERY,
                choice="a",
                correct=True,
                answered_at=NOW,
            )
        )
        session.add(  # BOB's first attempt, graded: FIRST_ANSWERS finds it (none of ANN's)
            Answer(
                team_id=TEAM,
                user_id=BOB,
                question_id=FIRST,
                attempt=1,
                delivery_id=DRIP_LESSON,
                choice="a",
                correct=False,
                answered_at=NOW,
            )
        )
        session.add(
            PlayerSetting(
                team_id=TEAM, user_id=ANN, leaderboard_hidden=True, goal="habits", updated_at=NOW
            )
        )
        session.add(
            Completion(
                team_id=TEAM, user_id=ANN, lesson_id=LESSON, delivery_id=DELIVERY, completed_at=NOW
            )
        )
        for key in ("streak:3", "sticky"):
            session.add(
                Badge(team_id=TEAM, user_id=ANN, key=key, kind="streak", title=key, reached_at=NOW)
            )
        session.add(
            ReviewCard(
                team_id=TEAM,
                user_id=ANN,
                question_id=FIRST,
                card={"stability": 1.5, "due": "2026-11-24"},
                due_at=NOW + timedelta(days=1),
                reviews=1,
                status="sent",
                updated_at=NOW,
            )
        )
        session.add(
            Installation(
                team_id=TEAM,
                team_name="Acme",
                bot_token="xoxb-1",
                bot_id="B1",
                bot_user_id="UB",
                bot_scopes="chat:write",
                installed_at=NOW,
            )
        )
        for team in WRITERS:  # for FORGET_REQUEST
            session.add(AcceptedRequest(signature=f"{team}-old", expires_at=NOW))
        for team in WRITERS:  # for RECORD_PART and TAKE_TOKENS
            session.add(
                Delivery(
                    id=SENDING[team],
                    team_id=team,
                    dedupe_key="lesson:1",
                    kind="lesson",
                    recipient=ANN,
                    recipient_kind="dm",
                    lesson_id=LESSON,
                    status="sending",
                    due_at=NOW,
                    tries=2,
                    lease_until=NOW + timedelta(minutes=5),
                    claim_token="claim",
                    error="an earlier try",
                    created_at=NOW,
                )
            )
            session.add(SendBucket(team_id=team, tokens=2.0, updated=99.0, paused_until=0.0))
        session.add(SendBucket(team_id=TEAM, tokens=-3.0, updated=130.5, paused_until=130.5))
        _seed_tick(session)


def _seed_tick(session: Session) -> None:
    """What the tick's checks look for, beside rows each of them must pass over."""
    session.add(ProcessedEvent(team_id=TEAM, event_id="Ev1", received_at=NOW))
    # Gone from Slack and never looked up: not a profile to refresh.
    session.add(Learner(team_id=TEAM, user_id="U3", tz="UTC", deactivated=True, created_at=NOW))
    session.add(  # a stopped enrolment of someone never stored: nothing to look up either
        Enrolment(
            team_id=TEAM,
            drip_id=1,
            recipient="U4",
            recipient_kind="dm",
            status="stopped",
            next_due_at=NOW - timedelta(days=9),
            enrolled_by=ANN,
            created_at=NOW,
        )
    )
    # BOB (snoozed for two days) has a card due now; ANN is at today's cap for three days.
    session.add(
        ReviewCard(
            team_id=TEAM,
            user_id=BOB,
            question_id=FIRST,
            due_at=NOW,
            status="active",
            updated_at=NOW,
        )
    )
    session.add(
        ReviewQuota(
            team_id=TEAM, user_id=ANN, day=date(2026, 11, 23), resume_at=NOW + timedelta(days=3)
        )
    )
    # Lesson threads: one quiet since NOW; one answered, one never posted, one nudged before.
    for key, ts, created, nudged in (
        ("quiet", "1.1", NOW, None),
        ("answered", "1.2", NOW - timedelta(days=1), None),
        ("unposted", None, NOW - timedelta(days=2), None),
        ("nudged", "1.4", NOW - timedelta(days=3), NOW),
    ):
        session.add(
            DiscussionThread(
                team_id=TEAM,
                key=key,
                drip_id=1,
                lesson_id=LESSON,
                channel_id="C1",
                thread_ts=ts,
                created_at=created,
                nudged_at=nudged,
            )
        )
    session.flush()
    answered = session.exec(select(DiscussionThread).where(DiscussionThread.key == "answered"))
    thread = answered.one()
    for ts, deleted in (("1.5", False), ("1.6", True)):
        session.add(
            ThreadReply(
                team_id=TEAM,
                thread_id=thread.id,
                channel_id="C1",
                ts=ts,
                thread_ts="1.2",
                user_id=BOB,
                deleted=deleted,
                replied_at=NOW,
            )
        )
    session.add(
        LessonFollowup(
            team_id=TEAM,
            delivery_id=DELIVERY,
            enrolment_id=2,
            user_id=ANN,
            lesson_id=LESSON,
            delivered_at=NOW,
            next_at=NOW + timedelta(hours=1),
        )
    )
    # A lesson recorded for two days ago and never applied, and a move older still.
    for tz, action, due in (
        ("Asia/Tokyo", "plan", NOW - timedelta(days=2)),
        ("UTC", "move", NOW - timedelta(days=5)),
    ):
        session.add(
            PlanSlot(
                team_id=TEAM,
                drip_id=1,
                tz=tz,
                days="mon",
                at_time="09:30",
                next_due_at=due,
                next_position=1,
                action=action,
                new_position=2,
                finish=False,
                planned_at=NOW,
            )
        )
    # Drips run for others: one finished yesterday (its targets), one cancelled.
    for drip, status, creator in ((3, "finished", BOB), (4, "cancelled", ANN)):
        session.add(
            Drip(
                id=drip,
                team_id=TEAM,
                course_id=1,
                created_by=creator,
                status=status,
                created_at=NOW - timedelta(days=drip),
                updated_at=NOW,
                finished_at=NOW - timedelta(days=1),
            )
        )
    session.flush()
    for drip, kind, ref in ((3, "usergroup", "S1"), (3, "user", BOB), (4, "channel", "C2")):
        session.add(DripTarget(team_id=TEAM, drip_id=drip, kind=kind, ref=ref))


def _fields(instance: SQLModel, *names: str) -> Row:
    return {name: getattr(instance, name) for name in names}


# -- reads: the same parameters, the same rows --------------------------------------------------


def _question_ref(session: Session, values: dict[str, Any]) -> list[Row]:
    rows = session.exec(
        select(Delivery, Lesson, Course, Question)
        .join(Lesson, col(Lesson.id) == col(Delivery.lesson_id))
        .join(Course, col(Course.id) == col(Lesson.course_id))
        .join(Question, col(Question.lesson_id) == col(Lesson.id))
        .where(col(Delivery.id) == values["delivery_id"])
        .where(col(Question.position) == values["position"])
    ).all()
    names = ("team_id", "recipient", "recipient_kind", "kind", "lesson_id", "payload", "drip_id")
    return [
        {"delivery_id": delivery.id, **_fields(delivery, *names)}
        | {"course": course.slug, "lesson": lesson.slug, "question_id": question.id}
        for delivery, lesson, course, question in rows
    ]


def _stored_answer(session: Session, values: dict[str, Any]) -> list[Row]:
    answers = session.exec(
        select(Answer).where(
            Answer.team_id == values["team_id"],
            Answer.user_id == values["user_id"],
            Answer.question_id == values["question_id"],
            Answer.attempt == values["attempt"],
        )
    ).all()
    names = ("id", "user_id", "question_id", "attempt", "choice", "correct", "answered_at")
    return [_fields(answer, *names) for answer in answers]


def _answered_positions(session: Session, values: dict[str, Any]) -> list[Row]:
    answers = session.exec(
        select(Answer).where(
            Answer.team_id == values["team_id"],
            Answer.user_id == values["user_id"],
            Answer.delivery_id == values["delivery_id"],
        )
    ).all()
    questions = [session.get(Question, answer.question_id) for answer in answers]
    return [{"position": question.position} for question in questions if question is not None]


def _card(session: Session, values: dict[str, Any]) -> list[Row]:
    cards = session.exec(
        select(ReviewCard).where(
            ReviewCard.team_id == values["team_id"],
            ReviewCard.user_id == values["user_id"],
            ReviewCard.question_id == values["question_id"],
        )
    ).all()
    return [_fields(card, "card", "reviews", "status") for card in cards]


_LEARNER: tuple[str, ...] = (
    "team_id",
    "user_id",
    "name",
    "first_name",
    "tz",
    "tz_checked_at",
    "is_admin",
)
_LEARNER += ("deactivated", "snoozed_until", "dm_channel", "pref_days", "pref_at")


def _learner(session: Session, values: dict[str, Any]) -> list[Row]:
    learners = session.exec(
        select(Learner).where(
            Learner.team_id == values["team_id"], Learner.user_id == values["user_id"]
        )
    ).all()
    return [_fields(learner, *_LEARNER) for learner in learners]


_ENROLMENT: tuple[str, ...] = ("id", "team_id", "drip_id", "recipient", "recipient_kind")
_ENROLMENT += ("status", "next_position", "next_due_at", "tz", "days", "at_time", "start_on")
_ENROLMENT += ("enrolled_by",)


def _player_setting(session: Session, values: dict[str, Any]) -> list[Row]:
    settings = session.exec(
        select(PlayerSetting).where(
            PlayerSetting.team_id == values["team_id"], PlayerSetting.user_id == values["user_id"]
        )
    ).all()
    return [_fields(setting, "leaderboard_hidden", "goal") for setting in settings]


def _first_answers(session: Session, values: dict[str, Any]) -> list[Row]:
    answers = session.exec(
        select(Answer).where(
            Answer.team_id == values["team_id"], Answer.user_id == values["user_id"]
        )
    ).all()
    rows = []
    for answer in answers:
        question = session.get(Question, answer.question_id)
        lesson = session.get(Lesson, question.lesson_id) if question is not None else None
        course = session.get(Course, lesson.course_id) if lesson is not None else None
        if course is not None and answer.attempt == 1 and answer.correct is not None:
            rows.append(
                {"question_id": answer.question_id, "course": course.slug}
                | _fields(answer, "correct")
            )
    return rows


def _cards_of(session: Session, values: dict[str, Any]) -> list[Row]:
    cards = session.exec(
        select(ReviewCard).where(
            ReviewCard.team_id == values["team_id"], ReviewCard.user_id == values["user_id"]
        )
    ).all()
    return [_fields(card, "question_id", "card") for card in cards]


def _drip_lesson_sent(session: Session, values: dict[str, Any]) -> list[Row]:
    delivery = session.get(Delivery, values["delivery_id"])
    if delivery is None or (delivery.kind, delivery.recipient_kind) != ("lesson", "dm"):
        return []
    if delivery.lesson_id is None or delivery.enrolment_id is None:
        return []
    enrolment = session.get(Enrolment, delivery.enrolment_id)
    if enrolment is None:
        return []
    return [
        _fields(delivery, "team_id", "enrolment_id")
        | {"user_id": delivery.recipient, "lesson_id": delivery.lesson_id}
        | _fields(enrolment, "tz", "days", "at_time")
    ]


def _lead_granted(session: Session, values: dict[str, Any]) -> list[Row]:
    leads = session.exec(
        select(Lead).where(Lead.team_id == values["team_id"], Lead.user_id == values["user_id"])
    ).all()
    return [_fields(lead, "id") for lead in leads]


def _enrolments_of(session: Session, values: dict[str, Any]) -> list[Row]:
    enrolments = session.exec(
        select(Enrolment).where(
            Enrolment.team_id == values["team_id"], Enrolment.recipient == values["recipient"]
        )
    ).all()
    rows = []
    # Soonest due first (in Python here, so the twin does not repeat the statement's ORDER BY).
    for enrolment in sorted(enrolments, key=lambda e: (e.next_due_at, e.id)):
        drip = session.get(Drip, enrolment.drip_id)
        course = session.get(Course, drip.course_id) if drip is not None else None
        if course is not None:
            rows.append(_fields(enrolment, *_ENROLMENT) | {"course": course.slug})
    return rows


def _review_schedule(session: Session, values: dict[str, Any]) -> list[Row]:
    rows = session.exec(
        select(Learner, Enrolment)
        .outerjoin(
            Enrolment,
            and_(
                col(Enrolment.team_id) == col(Learner.team_id),
                col(Enrolment.recipient) == col(Learner.user_id),
                col(Enrolment.recipient_kind) == "dm",
            ),
        )
        .where(Learner.team_id == values["team_id"], Learner.user_id == values["user_id"])
    ).all()
    # Soonest due first (in Python here, so the twin does not repeat the statement's ORDER BY).
    rows = sorted(rows, key=lambda pair: (pair[1].next_due_at, pair[1].id) if pair[1] else ())
    none = dict.fromkeys(("status", "days", "at_time", "tz"))
    return [
        {"learner_tz": learner.tz}
        | (none if enrolment is None else _fields(enrolment, "status", "days", "at_time", "tz"))
        for learner, enrolment in rows
    ]


def _completions(session: Session, values: dict[str, Any]) -> list[Row]:
    done = session.exec(
        select(Completion).where(
            Completion.team_id == values["team_id"], Completion.user_id == values["user_id"]
        )
    ).all()
    rows = []
    for completion in done:
        lesson = session.get(Lesson, completion.lesson_id)
        course = session.get(Course, lesson.course_id) if lesson is not None else None
        if lesson is not None and course is not None:
            rows.append(
                {"course": course.slug, "lesson": lesson.slug} | _fields(completion, "completed_at")
            )
    return rows


def _badge_keys(session: Session, values: dict[str, Any]) -> list[Row]:
    badges = session.exec(
        select(Badge).where(Badge.team_id == values["team_id"], Badge.user_id == values["user_id"])
    ).all()
    return [_fields(badge, "key") for badge in badges]


def _reviews_right(session: Session, values: dict[str, Any]) -> list[Row]:
    answers = session.exec(
        select(Answer).where(
            Answer.team_id == values["team_id"], Answer.user_id == values["user_id"]
        )
    ).all()
    right = [answer for answer in answers if answer.attempt > 1 and answer.correct is True]
    return [{"reviews_right": len(right)}] if right else []


_INSTALLATION: tuple[str, ...] = (
    "team_id",
    "bot_token",
    "bot_id",
    "bot_user_id",
    "team_name",
    "enterprise_id",
)
_INSTALLATION += ("app_id", "bot_scopes", "installer_user_id", "installed_at")


def _installation(session: Session, values: dict[str, Any]) -> list[Row]:
    found = session.exec(select(Installation).where(Installation.team_id == values["team_id"]))
    return [_fields(installation, *_INSTALLATION) for installation in found]


# -- the tick's checks: each a row `{"found": 1}` when its step has something to do -------------

_FOUND = [{"found": 1}]


def _found(rows: Any) -> list[Row]:
    return _FOUND if list(rows) else []


def _events_to_forget(session: Session, values: dict[str, Any]) -> list[Row]:
    events = session.exec(select(ProcessedEvent)).all()
    return _found(e for e in events if e.received_at < values["before"])


def _profiles_to_refresh(session: Session, values: dict[str, Any]) -> list[Row]:
    learners = {(p.team_id, p.user_id): p for p in session.exec(select(Learner)).all()}
    stale = [
        enrolment
        for enrolment in session.exec(select(Enrolment)).all()
        if enrolment.recipient_kind == "dm"
        and enrolment.status in ("waiting", "active")
        and (
            (learner := learners.get((enrolment.team_id, enrolment.recipient))) is None
            or learner.tz_checked_at is None
            or learner.tz_checked_at < values["stale_before"]
        )
    ]
    unknown = [p for p in learners.values() if p.tz_checked_at is None and not p.deactivated]
    return _found([*stale, *unknown])


def _reviews_due(session: Session, values: dict[str, Any]) -> list[Row]:
    now = values["now"]
    snoozed = {
        (p.team_id, p.user_id)
        for p in session.exec(select(Learner)).all()
        if p.snoozed_until is not None and p.snoozed_until > now
    }
    capped = {
        (q.team_id, q.user_id)
        for q in session.exec(select(ReviewQuota)).all()
        if q.resume_at is not None and q.resume_at > now
    }
    return _found(
        card
        for card in session.exec(select(ReviewCard)).all()
        if card.status in ("active", "sent")
        and card.due_at <= now
        and (card.team_id, card.user_id) not in snoozed | capped
    )


def _quiet_threads(session: Session, values: dict[str, Any]) -> list[Row]:
    replied = {r.thread_id for r in session.exec(select(ThreadReply)).all() if not r.deleted}
    return _found(
        thread
        for thread in session.exec(select(DiscussionThread)).all()
        if thread.thread_ts is not None
        and thread.nudged_at is None
        and thread.created_at <= values["created_before"]
        and thread.id not in replied
    )


def _followups_due(session: Session, values: dict[str, Any]) -> list[Row]:
    return _found(
        followup
        for followup in session.exec(select(LessonFollowup)).all()
        if followup.outcome == "open"
        and followup.next_at is not None
        and followup.next_at <= values["now"]
    )


def _plan_due(session: Session, values: dict[str, Any]) -> list[Row]:
    due = [
        enrolment
        for enrolment in session.exec(select(Enrolment)).all()
        if enrolment.status == "active"
        and enrolment.next_due_at is not None
        and enrolment.next_due_at <= values["now"]
    ]
    stale = [
        slot
        for slot in session.exec(select(PlanSlot)).all()
        if slot.action in ("plan", "plan_last") and slot.next_due_at < values["stale_before"]
    ]
    return _found([*due, *stale])


def _plan_slots(session: Session, values: dict[str, Any]) -> list[Row]:
    limit: int = values["limit"]
    return _FOUND * min(limit, len(session.exec(select(PlanSlot)).all()))


def _deliveries_due(session: Session, values: dict[str, Any]) -> list[Row]:
    now = values["now"]
    return _found(
        delivery
        for delivery in session.exec(select(Delivery)).all()
        if (delivery.status == "pending" and delivery.due_at <= now)
        or (
            delivery.status == "sending"
            and delivery.lease_until is not None
            and delivery.lease_until < now
        )
    )


def _drip_owners(session: Session, values: dict[str, Any]) -> list[Row]:
    rows = []
    for target in session.exec(select(DripTarget)).all():
        drip = session.get(Drip, target.drip_id)
        if drip is None or drip.team_id != target.team_id:
            continue
        finished = drip.finished_at is not None and drip.finished_at >= values["finished_since"]
        if drip.status in ("active", "paused") or (drip.status == "finished" and finished):
            row = _fields(drip, "team_id", "created_by") | _fields(target, "kind", "ref")
            rows.append(((drip.id, target.id), row | _fields(drip, "created_at")))
    return [row for _key, row in sorted(rows, key=lambda pair: pair[0])]


@dataclass(frozen=True)
class Read:
    twin: Callable[[Session, dict[str, Any]], list[Row]]
    cases: list[dict[str, Any]]  # parameters; the last finds nothing
    into: type[Any] | None = None  # the record its rows become, label for field


def _who(user: str, **more: Any) -> dict[str, Any]:
    return {"team_id": TEAM, "user_id": user, **more}


_ANSWER_KEY = {"question_id": FIRST, "attempt": 2}


def _paused_until(session: Session, values: dict[str, Any]) -> list[Row]:
    buckets = session.exec(select(SendBucket).where(SendBucket.team_id == values["team_id"]))
    return [_fields(bucket, "paused_until") for bucket in buckets]


READS: dict[str, Read] = {
    "PAUSED_UNTIL": Read(_paused_until, [{"team_id": TEAM}, {"team_id": FAST}, {"team_id": "W9"}]),
    "QUESTION_REF": Read(
        _question_ref,
        [{"delivery_id": DELIVERY, "position": 2}, {"delivery_id": DELIVERY, "position": 3}],
    ),
    "STORED_ANSWER": Read(
        _stored_answer,
        [_who(ANN, **_ANSWER_KEY), _who(ANN, question_id=FIRST, attempt=1)],
        into=AnswerRecord,
    ),
    "ANSWERED_POSITIONS": Read(
        _answered_positions, [_who(ANN, delivery_id=DELIVERY), _who(BOB, delivery_id=DELIVERY)]
    ),
    "CARD": Read(
        _card, [_who(ANN, question_id=FIRST), _who(ANN, question_id=SECOND)], into=CardState
    ),
    "LEARNER": Read(_learner, [_who(ANN), _who(BOB), _who("U9")], into=LearnerRecord),
    "REVIEW_SCHEDULE": Read(_review_schedule, [_who(ANN), _who(BOB), _who("U9")]),
    "PLAYER_SETTING": Read(_player_setting, [_who(ANN), _who(BOB)]),
    "FIRST_ANSWERS": Read(_first_answers, [_who(BOB), _who(ANN)]),
    "CARDS_OF": Read(_cards_of, [_who(ANN), _who(BOB), {"team_id": "T9", "user_id": ANN}]),
    "DRIP_LESSON_SENT": Read(
        _drip_lesson_sent, [{"delivery_id": DRIP_LESSON}, {"delivery_id": DELIVERY}]
    ),
    "LEAD_GRANTED": Read(_lead_granted, [_who(ANN), {"team_id": "T9", "user_id": ANN}, _who(BOB)]),
    "ENROLMENTS_OF": Read(
        _enrolments_of,
        [
            {"team_id": TEAM, "recipient": ANN},
            {"team_id": TEAM, "recipient": "C1"},
            {"team_id": TEAM, "recipient": BOB},
        ],
        into=EnrolmentRecord,
    ),
    "COMPLETIONS": Read(_completions, [_who(ANN), _who(BOB)]),
    "BADGE_KEYS": Read(_badge_keys, [_who(ANN), _who(BOB)]),
    "REVIEWS_RIGHT": Read(_reviews_right, [_who(ANN), _who(BOB)]),
    "INSTALLATION": Read(
        _installation, [{"team_id": TEAM}, {"team_id": "T9"}], into=InstallationRecord
    ),
    "EVENTS_TO_FORGET": Read(
        _events_to_forget, [{"before": NOW + timedelta(seconds=1)}, {"before": NOW}]
    ),
    "PROFILES_TO_REFRESH": Read(
        _profiles_to_refresh,
        [{"stale_before": NOW + timedelta(seconds=1)}, {"stale_before": NOW}],
    ),
    "REVIEWS_DUE": Read(
        _reviews_due,
        [
            {"now": NOW + timedelta(days=4)},  # ANN's card, her cap over
            {"now": NOW + timedelta(days=2, hours=1)},  # BOB's card, his snooze over
            {"now": NOW + timedelta(days=1, hours=1)},  # ANN capped, BOB snoozed
        ],
    ),
    "QUIET_THREADS": Read(
        _quiet_threads,
        [{"created_before": NOW}, {"created_before": NOW - timedelta(seconds=1)}],
    ),
    "FOLLOWUPS_DUE": Read(
        _followups_due,
        [{"now": NOW + timedelta(hours=1)}, {"now": NOW + timedelta(minutes=59)}],
    ),
    "PLAN_DUE": Read(
        _plan_due,
        [
            {"now": NOW - timedelta(days=1), "stale_before": NOW - timedelta(days=3)},  # C1's
            {"now": NOW - timedelta(days=2), "stale_before": NOW - timedelta(days=1)},  # a slot
            {"now": NOW - timedelta(days=2), "stale_before": NOW - timedelta(days=2)},
        ],
    ),
    "PLAN_SLOTS": Read(_plan_slots, [{"limit": 1}, {"limit": 5}, {"limit": 0}]),
    "DELIVERIES_DUE": Read(
        _deliveries_due,
        [
            {"now": NOW},  # the pending one
            {"now": NOW + timedelta(minutes=6)},  # and the sending ones, their leases run out
            {"now": NOW - timedelta(seconds=1)},
        ],
    ),
    "DRIP_OWNERS": Read(
        _drip_owners,
        [{"finished_since": NOW - timedelta(days=1)}, {"finished_since": NOW}],
    ),
}


# -- writes: the same calls for two workspaces, the same results and the same rows --------------


def _insert_or_nothing(session: Session, row: SQLModel, key: Any) -> list[Row]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id, the ORM's way."""
    if session.exec(select(type(row)).where(key)).first() is not None:
        return []
    session.add(row)
    session.flush()
    return [{"id": row.id}]  # type: ignore[attr-defined]


def _answer_of(values: dict[str, Any]) -> Answer:
    names: tuple[str, ...] = ("team_id", "user_id", "question_id", "attempt", "delivery_id")
    names += ("choice", "correct", "channel_id", "message_ts", "answered_at")
    return Answer(**{name: values[name] for name in names})


def _insert_answer(session: Session, values: dict[str, Any]) -> list[Row]:
    answer = _answer_of(values)
    key = and_(
        col(Answer.team_id) == answer.team_id,
        col(Answer.user_id) == answer.user_id,
        col(Answer.question_id) == answer.question_id,
        col(Answer.attempt) == answer.attempt,
    )
    return _insert_or_nothing(session, answer, key)


def _completion_of(values: dict[str, Any]) -> Completion:
    names = ("team_id", "user_id", "lesson_id", "delivery_id", "completed_at")
    return Completion(**{name: values[name] for name in names})


def _insert_completion(session: Session, values: dict[str, Any]) -> list[Row]:
    done = _completion_of(values)
    key = and_(
        col(Completion.team_id) == done.team_id,
        col(Completion.user_id) == done.user_id,
        col(Completion.lesson_id) == done.lesson_id,
    )
    return _insert_or_nothing(session, done, key)


def _points(session: Session, values: dict[str, Any]) -> None:
    entry = PointEntry(**values)
    key = and_(
        col(PointEntry.team_id) == entry.team_id,
        col(PointEntry.user_id) == entry.user_id,
        col(PointEntry.cause) == entry.cause,
    )
    _insert_or_nothing(session, entry, key)


def _insert_points(session: Session, values: dict[str, Any]) -> list[Row]:
    _points(session, values)
    return []


def _with_points(at: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def points(values: dict[str, Any]) -> dict[str, Any]:
        names = ("cause", "event", "points", "course")
        return {
            "team_id": values["team_id"],
            "user_id": values["user_id"],
            "awarded_at": values[at],
            **{name: values[f"points_{name}"] for name in names},
        }

    return points


def _insert_answer_with_points(session: Session, values: dict[str, Any]) -> list[Row]:
    inserted = _insert_answer(session, values)
    if inserted:
        _points(session, _with_points("answered_at")(values))
    return inserted


def _insert_completion_with_points(session: Session, values: dict[str, Any]) -> list[Row]:
    inserted = _insert_completion(session, values)
    if inserted:
        _points(session, _with_points("completed_at")(values))
    return inserted


def _upsert_card(session: Session, values: dict[str, Any]) -> list[Row]:
    card = session.exec(
        select(ReviewCard).where(
            ReviewCard.team_id == values["team_id"],
            ReviewCard.user_id == values["user_id"],
            ReviewCard.question_id == values["question_id"],
        )
    ).first()
    if card is None:
        session.add(ReviewCard(**values))
        return []
    for name in ("card", "due_at", "status", "updated_at"):  # `reviews` stays as it was
        setattr(card, name, values[name])
    session.add(card)
    return []


def _remember_request(session: Session, values: dict[str, Any]) -> list[Row]:
    seen = AcceptedRequest(**values)
    return _insert_or_nothing(session, seen, col(AcceptedRequest.signature) == seen.signature)


def _forget_request(session: Session, values: dict[str, Any]) -> list[Row]:
    for seen in session.exec(
        select(AcceptedRequest).where(AcceptedRequest.signature == values["signature"])
    ):
        session.delete(seen)
    return []


def _record_part(session: Session, values: dict[str, Any]) -> list[Row]:
    delivery = session.exec(
        select(Delivery).where(
            col(Delivery.id) == values["delivery_id"],
            col(Delivery.claim_token) == values["claim_token"],
            col(Delivery.status) == "sending",
        )
    ).first()
    if delivery is None:
        return []
    delivery.parts_sent = values["parts_sent"]
    delivery.channel_id = values["channel_id"]
    if values["message_ts"] is not None:
        delivery.message_ts = values["message_ts"]
    if values["status"] is not None:
        delivery.status, delivery.sent_at = values["status"], values["sent_at"]
        delivery.lease_until = delivery.error = None
    session.flush()
    return [{"id": delivery.id}]


def _take_tokens(session: Session, values: dict[str, Any]) -> list[Row]:
    bucket = session.exec(select(SendBucket).where(SendBucket.team_id == values["team_id"])).first()
    if bucket is None:
        return []
    earned = max(0.0, values["now"] - bucket.updated) * values["rate"]
    bucket.tokens = min(values["burst"], bucket.tokens + earned) - values["want"]
    bucket.updated = max(bucket.updated, values["now"])
    session.flush()
    return [_fields(bucket, "tokens", "updated", "paused_until")]


@dataclass(frozen=True)
class Write:
    twin: Callable[[Session, dict[str, Any]], list[Row]]
    calls: Callable[[str], list[dict[str, Any]]]  # for a workspace: the parameters, in turn
    tables: tuple[type[SQLModel], ...]  # where its rows land
    postgresql_only: bool = False


def _answer(team: str, *, attempt: int = 1, choice: str = "a") -> dict[str, Any]:
    return {
        "team_id": team,
        "user_id": ANN,
        "question_id": SECOND,
        "attempt": attempt,
        "delivery_id": DELIVERY,
        "choice": choice,
        "correct": None,
        "channel_id": "DU1",
        "message_ts": "1700000000.000100",
        "answered_at": NOW,
    }


def _completion(team: str) -> dict[str, Any]:
    return {
        "team_id": team,
        "user_id": ANN,
        "lesson_id": LESSON,
        "delivery_id": DELIVERY,
        "completed_at": NOW,
    }


def _points_of(cause: str) -> dict[str, Any]:
    return {
        "points_cause": cause,
        "points_event": "answer",
        "points_points": 5,
        "points_course": "habits",
    }


def _point_row(team: str, cause: str) -> dict[str, Any]:
    return {
        "team_id": team,
        "user_id": ANN,
        "cause": cause,
        "event": "answer",
        "points": 5,
        "course": "habits",
        "awarded_at": NOW,
    }


def _card_values(team: str, *, status: str, stability: float) -> dict[str, Any]:
    return {
        "team_id": team,
        "user_id": ANN,
        "question_id": SECOND,
        "card": {"stability": stability},
        "due_at": NOW + timedelta(days=stability),
        "reviews": 0,
        "status": status,
        "updated_at": NOW,
    }


WRITES: dict[str, Write] = {
    "INSERT_ANSWER": Write(
        _insert_answer,
        lambda team: [_answer(team), _answer(team, choice="b"), _answer(team, attempt=2)],
        (Answer,),
    ),
    "INSERT_COMPLETION": Write(
        _insert_completion, lambda team: [_completion(team), _completion(team)], (Completion,)
    ),
    "INSERT_POINTS": Write(
        _insert_points,
        lambda team: [_point_row(team, "a"), _point_row(team, "a"), _point_row(team, "b")],
        (PointEntry,),
    ),
    "INSERT_ANSWER_WITH_POINTS": Write(
        _insert_answer_with_points,
        lambda team: [
            _answer(team) | _points_of("answer:2:1"),
            _answer(team, choice="b") | _points_of("answer:2:1"),
            _answer(team, attempt=2) | _points_of("answer:2:1"),  # its cause counted before
        ],
        (Answer, PointEntry),
        postgresql_only=True,
    ),
    "INSERT_COMPLETION_WITH_POINTS": Write(
        _insert_completion_with_points,
        lambda team: [_completion(team) | _points_of("done:1")] * 2,
        (Completion, PointEntry),
        postgresql_only=True,
    ),
    "UPSERT_CARD": Write(
        _upsert_card,
        lambda team: [
            _card_values(team, status="active", stability=1.0),
            _card_values(team, status="sent", stability=4.0),
        ],
        (ReviewCard,),
    ),
    "REMEMBER_REQUEST": Write(
        _remember_request,
        lambda team: [{"signature": f"{team}-new", "expires_at": NOW}] * 2,
        (AcceptedRequest,),
    ),
    "FORGET_REQUEST": Write(
        _forget_request,
        lambda team: [{"signature": f"{team}-old"}, {"signature": f"{team}-never"}],
        (AcceptedRequest,),
    ),
    "RECORD_PART": Write(
        _record_part,
        lambda team: [
            _part(team, 1, message_ts="1700000000.000100"),  # the lesson: its ts kept
            _part(team, 2, status="sent", sent_at=NOW),  # the last part: sent
            _part(team, 3),  # no longer this claim's
            _part(team, 3, claim_token="another"),
        ],
        (Delivery,),
    ),
    "TAKE_TOKENS": Write(
        _take_tokens,
        lambda team: [
            {"team_id": team, "want": 1, "now": 100.0, "rate": 2.0, "burst": 4.0},  # refilled
            {"team_id": team, "want": 6, "now": 100.5, "rate": 2.0, "burst": 4.0},  # in debt
            {"team_id": team, "want": 1, "now": 99.0, "rate": 2.0, "burst": 4.0},  # clock behind
            {"team_id": f"{team}-new", "want": 1, "now": 100.0, "rate": 2.0, "burst": 4.0},
        ],
        (SendBucket,),
    ),
}


def _part(team: str, parts_sent: int, **values: Any) -> dict[str, Any]:
    return {
        "delivery_id": SENDING[team],
        "claim_token": "claim",
        "parts_sent": parts_sent,
        "channel_id": f"D{team}",
        "message_ts": None,
        "status": None,
        "sent_at": None,
        **values,
    }


def _written(db: Database, table: type[SQLModel], team: str) -> list[Row]:
    """The table's rows of `team` (by team id, or by signature for accepted requests)."""
    with db.read() as session:
        rows = [row.model_dump() for row in session.exec(select(table)).all()]
    return [row for row in rows if str(row.get("team_id", row.get("signature"))).startswith(team)]


def _alike(rows: list[Row], team: str) -> list[Row]:
    """Rows without their ids and with the team's name left out, in a fixed order."""
    alike = [
        {k: v.replace(team, "*") if isinstance(v, str) else v for k, v in row.items() if k != "id"}
        for row in rows
    ]
    return sorted(alike, key=repr)


# -- the tests ----------------------------------------------------------------------------------


def test_every_prebuilt_statement_has_an_orm_twin() -> None:
    assert sorted(fastlane.statements()) == sorted([*READS, *WRITES])


def test_every_prebuilt_statement_lives_in_the_fast_lane() -> None:
    fenced = {id(statement) for statement in fastlane.statements().values()}
    for module in pkgutil.iter_modules(bot.storage.__path__, "bot.storage."):
        for name, value in vars(importlib.import_module(module.name)).items():
            assert not isinstance(value, Direct) or id(value) in fenced, (module.name, name)


def test_every_prebuilt_read_gives_what_its_orm_twin_gives(db: Database) -> None:
    """Each read, over one seed (reads change nothing): every case gives what its twin gives,
    the first something, the last nothing. Every read is checked; the failures are listed."""
    _seed(db)
    failures: list[str] = []
    for name in sorted(READS):
        try:
            _check_read(db, READS[name], fastlane.statements()[name])
        except AssertionError as error:
            failures.append(f"{name}: {error}")
    assert failures == []


def _check_read(db: Database, read: Read, statement: Direct) -> None:
    for values in read.cases:
        with db.direct() as connection:
            fast = connection.all(statement, values)
        with db.read() as session:
            twin = read.twin(session, values)
        assert fast == twin, values
        for row in fast:
            if read.into is not None:
                record(read.into, row)  # every label is one of the record's fields
    assert fast == [], "the last case finds nothing"
    with db.direct() as connection:
        assert connection.all(statement, read.cases[0]) != []


@pytest.mark.parametrize("name", sorted(WRITES))
def test_a_prebuilt_write_does_what_its_orm_twin_does(db: Database, name: str) -> None:
    write = WRITES[name]
    if write.postgresql_only and db.is_sqlite:
        pytest.skip("runs on PostgreSQL only (the answer path uses it there)")
    _seed(db)
    statement = fastlane.statements()[name]
    fast: list[list[Row]] = []
    for values in write.calls(FAST):
        with db.direct(write=True) as connection:
            fast.append(connection.all(statement, values))
    twin: list[list[Row]] = []
    for values in write.calls(TWIN):
        with db.write() as session:
            twin.append(write.twin(session, values))
    anonymous = [[{k: "id" for k in row} for row in rows] for rows in fast]
    assert anonymous == [[{k: "id" for k in row} for row in rows] for rows in twin]
    for table in write.tables:
        fast_rows = _alike(_written(db, table, FAST), FAST)
        assert fast_rows == _alike(_written(db, table, TWIN), TWIN), table.__name__
    # RETURNING id: the rows written (TAKE_TOKENS returns the bucket's balance instead).
    returned = {row["id"] for rows in fast for row in rows if "id" in row}
    assert returned <= {row["id"] for row in _written(db, write.tables[0], FAST)}


def test_the_sending_bookkeeping_commits_without_waiting_for_the_disk(db: Database) -> None:
    """RECORD_PART and TAKE_TOKENS, once per post: synchronous_commit is off for their own
    transaction (a crash may lose them; Slack's metadata and the bucket's slack cover that),
    and the connection is as it was afterwards, for the next statement that must be durable."""
    if db.is_sqlite:
        pytest.skip("SQLite in WAL mode with synchronous=NORMAL never waits at commit")
    _seed(db)
    setting = select(func.current_setting("synchronous_commit"))
    with db.engine.connect() as connection:
        usual = connection.execute(setting).scalar()
        if usual == "off":
            pytest.skip("this server never waits for the disk at commit")
        assert connection.execute(setting.where(fastlane._not_durable("postgresql"))).scalar() == (
            "off"
        )
    take = {"team_id": FAST, "want": 1, "now": 100.0, "rate": 2.0, "burst": 4.0}
    with db.direct(write=True) as connection:
        assert connection.first(fastlane.TAKE_TOKENS, take) is not None
        assert connection.first(fastlane.RECORD_PART, _part(FAST, 1)) is not None
        assert connection._execute("SHOW synchronous_commit") == [(usual,)]  # the same one


def test_a_record_is_built_by_label_and_a_missing_or_unexpected_label_fails() -> None:
    row = {"status": "sent", "card": {"due": "2026-11-24"}, "reviews": 2}  # not in field order
    assert record(CardState, row) == CardState(card={"due": "2026-11-24"}, reviews=2, status="sent")
    with pytest.raises(TypeError, match=r"missing \['status'\]"):
        record(CardState, {"card": {}, "reviews": 2})
    with pytest.raises(TypeError, match=r"unexpected \['due_at'\]"):
        record(CardState, {**row, "due_at": NOW})
    with pytest.raises(TypeError, match=r"given twice \['status'\]"):
        record(CardState, row, status="active")
    # Fields with defaults too: a missing label is not quietly left at its default.
    with pytest.raises(TypeError, match=r"missing \['installed_at'\]"):
        names = [name for name in _INSTALLATION if name != "installed_at"]
        record(InstallationRecord, dict.fromkeys(names, ""))
