"""The tables.

Every row owned by a Slack workspace carries `team_id`, and its unique keys include it.

Courses, lessons and questions are synced from the deployment's lessons folder and shared by every
workspace the deployment serves, so they carry no team id.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime

# Deterministic constraint names: Alembic's SQLite batch mode needs them to alter tables.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TEAM_ID = 32  # Slack ids are short; a bound keeps PostgreSQL indexes lean.
SLACK_ID = 32
TS = 32


def _instant(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class Learner(SQLModel, table=True):
    __tablename__ = "learner"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    user_id: str = Field(max_length=SLACK_ID)
    name: str = Field(default="", max_length=200)
    first_name: str = Field(default="", max_length=200)
    tz: str = Field(default="UTC", max_length=64)
    tz_checked_at: datetime | None = _instant(nullable=True)
    deactivated: bool = False
    snoozed_until: datetime | None = _instant(nullable=True)
    created_at: datetime = _instant()
    is_admin: bool = False  # workspace admin or owner, from the Slack profile
    dm_channel: str | None = Field(default=None, max_length=SLACK_ID)
    pref_days: str | None = Field(default=None, max_length=40)  # the learner's own delivery days
    pref_at: str | None = Field(default=None, max_length=5)  # and time, overriding drips' for DMs


class Lead(SQLModel, table=True):
    __tablename__ = "lead"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    user_id: str = Field(max_length=SLACK_ID)
    granted_by: str = Field(max_length=SLACK_ID)
    granted_at: datetime = _instant()


class Course(SQLModel, table=True):
    __tablename__ = "course"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=100, unique=True)
    title: str = Field(max_length=150)
    description: str = Field(default="", max_length=300)
    skills: list[str] = Field(default_factory=list, sa_type=JSON)
    content_hash: str = Field(default="", max_length=64)
    retired: bool = False
    synced_at: datetime = _instant()


class Lesson(SQLModel, table=True):
    __tablename__ = "lesson"
    __table_args__ = (UniqueConstraint("course_id", "slug"),)

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id")
    slug: str = Field(max_length=100)
    position: int
    title: str = Field(max_length=150)
    objective: str = Field(default="", max_length=500)
    minutes: int = 3
    content_hash: str = Field(default="", max_length=64)
    retired: bool = False


class Question(SQLModel, table=True):
    __tablename__ = "question"
    __table_args__ = (UniqueConstraint("lesson_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    lesson_id: int = Field(foreign_key="lesson.id")
    position: int
    kind: str = Field(max_length=16)
    text: str = Field(max_length=3000)
    retired: bool = False


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
    created_at: datetime = _instant()
    updated_at: datetime = _instant()
    finished_at: datetime | None = _instant(nullable=True)


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
    next_due_at: datetime | None = _instant(nullable=True)
    # waiting (for the learner's zone) | active | paused | finished | stopped | cancelled | left
    status: str = Field(default="active", max_length=16)
    enrolled_by: str = Field(max_length=SLACK_ID)
    created_at: datetime = _instant()
    # The schedule this enrolment follows, in its recipient's zone (the lead's, for channels).
    tz: str = Field(default="UTC", max_length=64)
    days: str = Field(default="mon,tue,wed,thu,fri", max_length=40)
    at_time: str = Field(default="09:30", max_length=5)
    start_on: date | None = None
    finished_at: datetime | None = _instant(nullable=True)


class PlanSlot(SQLModel, table=True):
    """A group of due enrolments and what the plan step decided for it, until it is applied.

    Enrolments that share a drip, a schedule, a due instant and a lesson share one outcome; the
    plan step records it here in one row per group, and the per-learner deliveries are written
    from it in bounded chunks as the drain needs them.
    """

    __tablename__ = "plan_slot"
    __table_args__ = (
        UniqueConstraint(
            "team_id",
            "drip_id",
            "tz",
            "days",
            "at_time",
            "next_due_at",
            "next_position",
            name="uq_plan_slot_group",  # the generated name is longer than PostgreSQL keeps
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    drip_id: int = Field(foreign_key="drip.id")
    tz: str = Field(max_length=64)
    days: str = Field(max_length=40)
    at_time: str = Field(max_length=5)
    next_due_at: datetime = _instant()
    next_position: int
    action: str = Field(max_length=16)  # plan | plan_last | move | finish
    lesson_id: int | None = Field(default=None, foreign_key="lesson.id")
    new_position: int
    new_due_at: datetime | None = _instant(nullable=True)
    finish: bool = False
    planned_at: datetime = _instant()


class Delivery(SQLModel, table=True):
    """The outbox: one row per message set to send, claimed with a lease and a claim token."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("team_id", "dedupe_key"),
        Index("ix_delivery_status_due_at", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    dedupe_key: str = Field(max_length=200)
    kind: str = Field(max_length=16)  # lesson | review | notice
    enrolment_id: int | None = Field(default=None, foreign_key="enrolment.id")
    recipient: str = Field(max_length=SLACK_ID)
    recipient_kind: str = Field(max_length=16)
    lesson_id: int | None = Field(default=None, foreign_key="lesson.id")
    question_id: int | None = Field(default=None, foreign_key="question.id")
    status: str = Field(default="pending", max_length=16)  # pending | sending | sent | failed
    due_at: datetime = _instant()
    tries: int = 0
    lease_until: datetime | None = _instant(nullable=True)
    claim_token: str | None = Field(default=None, max_length=64)
    channel_id: str | None = Field(default=None, max_length=SLACK_ID)
    message_ts: str | None = Field(default=None, max_length=TS)
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _instant()
    sent_at: datetime | None = _instant(nullable=True)
    drip_id: int | None = Field(default=None, foreign_key="drip.id")
    parts_sent: int = 0  # messages of this delivery already posted (a lesson is several)
    payload: dict[str, Any] | None = Field(default=None, sa_type=JSON)  # notices: what to say


class Answer(SQLModel, table=True):
    __tablename__ = "answer"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "question_id", "attempt"),
        # A poll's results and a channel question's answer count, without reading every answer.
        Index("ix_answer_question_id_attempt", "question_id", "attempt"),
        Index("ix_answer_channel_id_message_ts", "channel_id", "message_ts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    user_id: str = Field(max_length=SLACK_ID)
    question_id: int = Field(foreign_key="question.id")
    attempt: int = 1
    delivery_id: int | None = Field(default=None, foreign_key="delivery.id")
    choice: str = Field(max_length=3000)
    correct: bool | None = None
    channel_id: str | None = Field(default=None, max_length=SLACK_ID)
    message_ts: str | None = Field(default=None, max_length=TS)
    answered_at: datetime = _instant()


class Completion(SQLModel, table=True):
    """A learner finished a lesson: pressed Done, or answered its last question."""

    __tablename__ = "completion"
    __table_args__ = (UniqueConstraint("team_id", "user_id", "lesson_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    user_id: str = Field(max_length=SLACK_ID)
    lesson_id: int = Field(foreign_key="lesson.id")
    delivery_id: int | None = Field(default=None, foreign_key="delivery.id")
    completed_at: datetime = _instant()


class ReviewCard(SQLModel, table=True):
    """Spaced repetition of a question a learner missed (an FSRS card)."""

    __tablename__ = "review_card"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "question_id"),
        Index("ix_review_card_status_due_at", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    user_id: str = Field(max_length=SLACK_ID)
    question_id: int = Field(foreign_key="question.id")
    card: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    due_at: datetime = _instant()
    reviews: int = 0  # review rounds sent so far (the answer's attempt is this + 1)
    status: str = Field(default="active", max_length=16)  # active | sent | mastered
    updated_at: datetime = _instant()


class DiscussionThread(SQLModel, table=True):
    """A lesson's discussion thread: under a channel post, or one per lesson of a DM drip."""

    __tablename__ = "discussion_thread"
    __table_args__ = (UniqueConstraint("team_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    key: str = Field(max_length=120)  # post:<delivery> | drip:<drip>:lesson:<lesson>
    drip_id: int | None = Field(default=None, foreign_key="drip.id")
    lesson_id: int = Field(foreign_key="lesson.id")
    channel_id: str = Field(max_length=SLACK_ID)
    thread_ts: str | None = Field(default=None, max_length=TS, index=True)
    created_at: datetime = _instant()
    nudged_at: datetime | None = _instant(nullable=True)
    error: str | None = Field(default=None, max_length=200)


class ThreadReply(SQLModel, table=True):
    __tablename__ = "thread_reply"
    __table_args__ = (UniqueConstraint("team_id", "channel_id", "ts"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    thread_id: int | None = Field(default=None, foreign_key="discussion_thread.id")
    channel_id: str = Field(max_length=SLACK_ID)
    ts: str = Field(max_length=TS)
    thread_ts: str = Field(max_length=TS)
    user_id: str = Field(max_length=SLACK_ID)
    text: str = Field(default="", max_length=40000)
    reaction_count: int = 0
    deleted: bool = False
    edited_at: datetime | None = _instant(nullable=True)
    replied_at: datetime = _instant()


class ProcessedEvent(SQLModel, table=True):
    """Slack event ids already handled: Slack retries events and Bolt does not deduplicate."""

    __tablename__ = "processed_event"
    __table_args__ = (UniqueConstraint("team_id", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    event_id: str = Field(max_length=64)
    received_at: datetime = _instant()


class AcceptedRequest(SQLModel, table=True):
    """Signed HTTP requests already acted on, kept while Slack's 5-minute window lets them replay.

    It is recorded before the payload (and so its workspace) is read, so it carries no team id:
    a signature is the app's, whichever workspace the request came from.
    """

    __tablename__ = "accepted_request"

    id: int | None = Field(default=None, primary_key=True)
    signature: str = Field(max_length=64, unique=True)  # SHA-256 of X-Slack-Signature, in hex
    expires_at: datetime = _instant(index=True)


# -- Reminders and auto-pause (issue 15 item 2) ----------------------------------------------------


class LessonFollowup(SQLModel, table=True):
    """A DM drip lesson waiting for its answer: when to remind, how often it was, how it ended."""

    __tablename__ = "lesson_followup"
    __table_args__ = (
        UniqueConstraint("team_id", "delivery_id"),
        Index("ix_lesson_followup_outcome_next_at", "outcome", "next_at"),
        Index("ix_lesson_followup_enrolment_id", "enrolment_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    delivery_id: int = Field(foreign_key="delivery.id")
    enrolment_id: int = Field(foreign_key="enrolment.id")
    user_id: str = Field(max_length=SLACK_ID)
    lesson_id: int = Field(foreign_key="lesson.id")
    delivered_at: datetime = _instant()
    reminders_sent: int = 0
    next_at: datetime | None = _instant(nullable=True)  # next reminder, or when it counts missed
    # open | answered | missed | dropped (paused, left…) | forgiven (missed before a resume)
    outcome: str = Field(default="open", max_length=16)
    settled_at: datetime | None = _instant(nullable=True)


class AutoPause(SQLModel, table=True):
    """An enrolment that paused itself after lessons in a row went unanswered."""

    __tablename__ = "auto_pause"
    __table_args__ = (UniqueConstraint("team_id", "enrolment_id", "paused_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    enrolment_id: int = Field(foreign_key="enrolment.id", index=True)
    drip_id: int = Field(foreign_key="drip.id")
    user_id: str = Field(max_length=SLACK_ID)
    paused_at: datetime = _instant()
    resumed_at: datetime | None = _instant(nullable=True)


# -- Review load (issue 15 item 3) ---------------------------------------------------------------


class ReviewQuota(SQLModel, table=True):
    """Review questions a learner got on their current local day, and when more may come."""

    __tablename__ = "review_quota"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    user_id: str = Field(max_length=SLACK_ID)
    day: date
    sent: int = 0
    resume_at: datetime | None = _instant(nullable=True)  # the day's cap is reached until then


# -- People's data (issue 18 item 5) -----------------------------------------------------------
# `microlearn forget` deletes a person's deliveries; the database then checks, for each one, that
# no answer or completion still points at it. These let it look instead of reading every row.
Index("ix_answer_delivery_id", Answer.__table__.c.delivery_id)  # type: ignore[attr-defined]
Index("ix_completion_delivery_id", Completion.__table__.c.delivery_id)  # type: ignore[attr-defined]


# --- Installations (OAuth: many workspaces) ---------------------------------------------------


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
    installed_at: datetime = _instant()


# -- Points, badges and leaderboard/goal settings (issue 15 items 4-6: gamify) --------------------


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
    awarded_at: datetime = _instant()


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
    reached_at: datetime = _instant()


class PlayerSetting(SQLModel, table=True):
    """A person's own choices about the game: hidden from leaderboards, a skill goal."""

    __tablename__ = "player_setting"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    user_id: str = Field(max_length=SLACK_ID)
    leaderboard_hidden: bool = False
    goal: str | None = Field(default=None, max_length=100)
    updated_at: datetime = _instant()


# -- Issue 19: one sending rate per workspace, shared by every process (bot/storage/send_rate.py)


class SendBucket(SQLModel, table=True):
    """The token bucket that paces chat.postMessage for a whole workspace, across processes.

    Times are seconds since the epoch on the senders' clocks. `tokens` may be negative: slots
    handed out ahead of time. `updated` moves to the end of a 429's pause, so nothing is earned
    during it.
    """

    __tablename__ = "send_bucket"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID, unique=True)
    tokens: float
    updated: float
    paused_until: float = 0.0


metadata = SQLModel.metadata
