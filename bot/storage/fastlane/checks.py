"""The tick's checks for work: each step asks here whether its read could find anything."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, exists, literal, literal_column, or_, select
from sqlmodel import col

from bot.storage.fastlane.driver import Direct
from bot.storage.models import (
    Delivery,
    DiscussionThread,
    Drip,
    DripTarget,
    Enrolment,
    Learner,
    LessonFollowup,
    PlanSlot,
    ProcessedEvent,
    ReviewCard,
    ReviewQuota,
    ThreadReply,
)

# -- the tick: anything to do? (bot.storage.*) --------------------------------------------------
# A serving process ticks every few seconds, and most ticks find nothing due. Each step of the
# tick first asks here, in one cheap round trip, whether its own read could find anything; only
# then does it run (its reads, its write transaction, SQLite's write lock). Each condition is the
# step's own WHERE clause, or one implied by it: a step skipped would have found nothing.
# One row `{"found": 1}` when there is something, none when not.


def _found(*conditions: Any) -> Any:
    """SELECT 1 AS found WHERE <any of the conditions>."""
    return select(literal_column("1").label("found")).where(or_(*conditions))


def _one_of(column: Any, *values: str) -> Any:
    """`column IN (…)` with one bound parameter per value (an expanding IN is not supported)."""
    return column.in_([literal(value, column.type) for value in values])


# Event ids received before `before` (DiscussionRepository.forget_events).
EVENTS_TO_FORGET = Direct(
    _found(exists().where(col(ProcessedEvent.received_at) < bindparam("before")))
)

# People whose time zone is unknown or older than `stale_before` (learners_to_refresh's reads).
PROFILES_TO_REFRESH = Direct(
    _found(
        select(col(Enrolment.id))
        .outerjoin(
            Learner,
            and_(
                col(Learner.team_id) == col(Enrolment.team_id),
                col(Learner.user_id) == col(Enrolment.recipient),
            ),
        )
        .where(
            col(Enrolment.recipient_kind) == "dm",
            _one_of(col(Enrolment.status), "waiting", "active"),
            col(Learner.tz_checked_at).is_(None)
            | (col(Learner.tz_checked_at) < bindparam("stale_before"))
            | col(Learner.id).is_(None),
        )
        .exists(),
        exists().where(col(Learner.tz_checked_at).is_(None), col(Learner.deactivated).is_(False)),
    )
)

# Review cards due by `now` of a learner neither snoozed nor at today's cap
# (ReviewLoadRepository.learners_due).
REVIEWS_DUE = Direct(
    _found(
        exists().where(
            _one_of(col(ReviewCard.status), "active", "sent"),
            col(ReviewCard.due_at) <= bindparam("now"),
            ~exists().where(
                col(Learner.team_id) == col(ReviewCard.team_id),
                col(Learner.user_id) == col(ReviewCard.user_id),
                col(Learner.snoozed_until) > bindparam("now"),
            ),
            ~exists().where(
                col(ReviewQuota.team_id) == col(ReviewCard.team_id),
                col(ReviewQuota.user_id) == col(ReviewCard.user_id),
                col(ReviewQuota.resume_at) > bindparam("now"),
            ),
        )
    )
)

# Lesson threads posted, never nudged, created by `created_before`, with no current reply
# (DiscussionRepository.quiet_threads).
QUIET_THREADS = Direct(
    _found(
        exists().where(
            col(DiscussionThread.thread_ts).is_not(None),
            col(DiscussionThread.nudged_at).is_(None),
            col(DiscussionThread.created_at) <= bindparam("created_before"),
            col(DiscussionThread.id).not_in(
                select(col(ThreadReply.thread_id))
                .where(col(ThreadReply.deleted).is_(False), col(ThreadReply.thread_id).is_not(None))
                .distinct()
            ),
        )
    )
)

# Open follow-ups whose next step is due by `now` (FollowupRepository.due).
FOLLOWUPS_DUE = Direct(
    _found(
        exists().where(
            col(LessonFollowup.outcome) == "open", col(LessonFollowup.next_at) <= bindparam("now")
        )
    )
)

# Active enrolments due by `now`, or lesson slots recorded before `stale_before` and never applied
# (PlanRepository.plan: what it reads and what it deletes).
PLAN_DUE = Direct(
    _found(
        exists().where(
            col(Enrolment.status) == "active", col(Enrolment.next_due_at) <= bindparam("now")
        ),
        exists().where(
            _one_of(col(PlanSlot.action), "plan", "plan_last"),
            col(PlanSlot.next_due_at) < bindparam("stale_before"),
        ),
    )
)

# One row per recorded plan slot, up to `limit` (PlanRepository.apply_planned asks for one).
PLAN_SLOTS = Direct(
    select(literal_column("1").label("found")).select_from(PlanSlot).limit(bindparam("limit"))
)

# Deliveries due by `now`, or whose lease ran out by then (Outbox.claim).
DELIVERIES_DUE = Direct(
    _found(
        exists().where(
            and_(col(Delivery.status) == "pending", col(Delivery.due_at) <= bindparam("now"))
            | and_(col(Delivery.status) == "sending", col(Delivery.lease_until) < bindparam("now"))
        )
    )
)

# Every drip run for others and its targets: active, paused, or finished since `finished_since`
# (InsightRepository.drip_owners, read by every tick's digest step).
DRIP_OWNERS = Direct(
    select(
        col(Drip.team_id),
        col(Drip.created_by),
        col(DripTarget.kind),
        col(DripTarget.ref),
        col(Drip.created_at),
    )
    .join(
        DripTarget,
        and_(col(DripTarget.drip_id) == col(Drip.id), col(DripTarget.team_id) == col(Drip.team_id)),
    )
    .where(
        _one_of(col(Drip.status), "active", "paused")
        | and_(col(Drip.status) == "finished", col(Drip.finished_at) >= bindparam("finished_since"))
    )
    .order_by(col(Drip.id), col(DripTarget.id))
)
