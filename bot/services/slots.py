"""When an enrolment's lessons come: a new DM enrolment's first slot, and the next one after."""

from __future__ import annotations

from datetime import date, datetime, time

from bot.domain.schedule import Days, next_slot, parse_time, stored_days, stored_time, zone
from bot.storage.enrolments import EnrolmentRecord, NewEnrolment
from bot.storage.learners import LearnerRecord


def dm_plan(
    learner: LearnerRecord | None,
    user_id: str,
    *,
    days: Days,
    at: time,
    start_on: date | None,
    now: datetime,
) -> NewEnrolment:
    """A DM enrolment in the learner's zone, at their own days and time if they set them."""
    # A preference that no longer reads (stored before forms were checked) is ignored.
    if learner is not None:
        days = stored_days(learner.pref_days) or days
        at = stored_time(learner.pref_at) or at
    known = learner is not None and learner.tz_checked_at is not None
    tz = learner.tz if learner is not None and known else "UTC"
    after = max(now, learner.snoozed_until) if learner and learner.snoozed_until else now
    return NewEnrolment(
        recipient=user_id,
        recipient_kind="dm",
        tz=tz,
        days=days.encode(),
        at_time=at.strftime("%H:%M"),
        start_on=start_on,
        next_due_at=next_slot(days, at, zone(tz), after=after, start_on=start_on)
        if known
        else None,
        status="active" if known else "waiting",
    )


def next_due(enrolment: EnrolmentRecord, *, after: datetime) -> datetime:
    """The enrolment's first slot after `after`, at its own days, time and zone."""
    return next_slot(
        Days.decode(enrolment.days),
        parse_time(enrolment.at_time),
        zone(enrolment.tz),
        after=after,
        start_on=enrolment.start_on,
    )
