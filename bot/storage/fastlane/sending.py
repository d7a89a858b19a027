"""What each post runs: its part recorded, the workspace's 429 pause, the shared send rate, and
what a drip lesson sent by DM starts following up."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Float,
    bindparam,
    case,
    func,
    literal_column,
    null,
    select,
    text,
    true,
    type_coerce,
    update,
)
from sqlalchemy.types import NullType
from sqlmodel import col

from bot.storage.fastlane.driver import Direct, _by
from bot.storage.models import Delivery, Enrolment, SendBucket
from bot.storage.models.base import table_of

# -- sending (bot.storage.outbox, bot.storage.send_rate) -----------------------------------------
# Once per post, each in one round trip of its own (autocommit). On PostgreSQL its commit does not
# wait for the disk, as `write_connection(durable=False)` commits, but without the three round
# trips of BEGIN, SET LOCAL and COMMIT: set_config(…, true) sets synchronous_commit for the
# statement's own transaction. SQLite never waits for the disk at commit here (synchronous=NORMAL).


def _not_durable(dialect: str) -> Any:
    """A condition that holds, and on PostgreSQL commits the statement without a disk wait."""
    if dialect == "sqlite":
        return true()
    return text("set_config('synchronous_commit', 'off', true) = 'off'")


def _record_part(dialect: str) -> Any:
    table = table_of(Delivery)
    c = table.c
    sent = bindparam("status", type_=c.status.type)  # "sent" with the last part, else None
    return (
        update(table)
        .where(
            c.id == bindparam("delivery_id"),
            c.claim_token == bindparam("claim_token"),
            c.status == literal_column("'sending'"),
            _not_durable(dialect),
        )
        .values(
            parts_sent=bindparam("parts_sent", type_=c.parts_sent.type),
            channel_id=bindparam("channel_id", type_=c.channel_id.type),
            message_ts=func.coalesce(
                bindparam("message_ts", type_=c.message_ts.type), c.message_ts
            ),
            status=func.coalesce(sent, c.status),
            sent_at=func.coalesce(bindparam("sent_at", type_=c.sent_at.type), c.sent_at),
            lease_until=case((sent.is_(None), c.lease_until), else_=null()),
            error=case((sent.is_(None), c.error), else_=null()),
        )
        .returning(c.id)
    )


def _take_tokens(dialect: str) -> Any:
    table = table_of(SendBucket)
    c = table.c
    greatest, least = (func.max, func.min) if dialect == "sqlite" else (func.greatest, func.least)
    now = bindparam("now", type_=Float())
    rate, burst = bindparam("rate", type_=Float()), bindparam("burst", type_=Float())
    # The balance at max(updated, now): what it was, plus what the time since earned.
    returned = (c.tokens, c.updated, c.paused_until)
    refilled = least(burst, c.tokens + greatest(literal_column("0.0"), now - c.updated) * rate)
    return (
        update(table)
        .where(c.team_id == bindparam("team_id"), _not_durable(dialect))
        .values(
            tokens=refilled - bindparam("want", type_=Float()), updated=greatest(c.updated, now)
        )
        # As the driver gives them (floats): SQLAlchemy's Float processor wants the column's type.
        .returning(*(type_coerce(column, NullType()).label(column.key) for column in returned))
    )


# A delivery's posted part (with the last, the delivery is sent): its id, or no row when this
# claim no longer owns the delivery. `message_ts` None keeps the stored one.
RECORD_PART = Direct(build=_record_part)
# The end of a workspace's latest 429 pause, as any process stored it; no row before its first post.
PAUSED_UNTIL = Direct(
    select(type_coerce(col(SendBucket.paused_until), NullType()).label("paused_until")).where(
        _by(col(SendBucket.team_id))
    )
)
# `want` tokens taken from a workspace's shared bucket: the balance after, its clock and its
# pause; no row when the workspace has no bucket yet.
TAKE_TOKENS = Direct(build=_take_tokens)


# -- after a lesson is sent (bot.storage.reminders) -----------------------------------------------
# A drip lesson delivered by DM, with its enrolment's schedule: the follow-up of every lesson sent
# starts from it (FollowupRepository.lesson_delivery). No row for anything else.
DRIP_LESSON_SENT = Direct(
    select(
        col(Delivery.team_id),
        col(Delivery.enrolment_id),
        col(Delivery.recipient).label("user_id"),
        col(Delivery.lesson_id),
        col(Enrolment.tz),
        col(Enrolment.days),
        col(Enrolment.at_time),
    )
    .join(Enrolment, col(Enrolment.id) == col(Delivery.enrolment_id))
    .where(
        col(Delivery.id) == bindparam("delivery_id"),
        col(Delivery.kind) == "lesson",
        col(Delivery.recipient_kind) == "dm",
        col(Delivery.lesson_id).is_not(None),
    )
)
