"""Reminders for unanswered DM lessons, and enrolments that pause themselves after misses.

A DM drip lesson is followed up from the moment it is delivered: while its quiz is unanswered
(or, without a quiz, Done is not pressed) it gets up to `limit` short reminders, each `hours`
after the last, kept to the learner's working hours (bot/domain/reminders.py). A remind-interval
after the last reminder, a lesson still unanswered counts as missed; `pause_after` missed in a row
pause the enrolment, and the learner gets one DM with a Resume button. Reminders and that DM go
through the outbox (paced, once each, surviving restarts).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.domain.reminders import in_working_hours, next_reminder, should_pause
from bot.domain.schedule import Days, next_slot, parse_time, zone
from bot.services.refused import Refused
from bot.services.wording import when
from bot.storage.auto_pauses import AutoPauseRepository
from bot.storage.reminders import (
    DripAttention,
    DueFollowup,
    FollowupRepository,
    Notice,
)

log = logging.getLogger(__name__)

BATCH = 500  # follow-ups decided per tick; the rest wait for the next one
RESUME_ACTION = "resume_enrolment"


@dataclass(frozen=True)
class FollowupReport:
    reminded: int = 0
    answered: int = 0
    missed: int = 0
    paused: int = 0


@dataclass(frozen=True)
class Resumed:
    course: str
    next_at: datetime


class ReminderService:
    def __init__(
        self,
        *,
        repository: FollowupRepository,
        pauses: AutoPauseRepository,
        hours: float,
        limit: int,
        pause_after: int,
    ) -> None:
        self._repository = repository
        self._pauses = pauses
        self._hours = hours
        self._limit = limit
        self._pause_after = pause_after

    @property
    def enabled(self) -> bool:
        return self._limit > 0 or self._pause_after > 0

    def track(self, *, delivery_id: int, delivered_at: datetime) -> bool:
        """Follow up a lesson just delivered, if it is a DM drip lesson (once per delivery)."""
        if not self.enabled:
            return False
        lesson = self._repository.lesson_delivery(delivery_id)
        if lesson is None:
            return False
        first = self._next(
            delivered_at, sent=0, tz=lesson.tz, days=lesson.days, at_time=lesson.at_time
        )
        return self._repository.track(
            team_id=lesson.team_id,
            delivery_id=delivery_id,
            enrolment_id=lesson.enrolment_id,
            user_id=lesson.user_id,
            lesson_id=lesson.lesson_id,
            delivered_at=delivered_at,
            next_at=first,
        )

    def _next(
        self, delivered_at: datetime, *, sent: int, tz: str, days: str, at_time: str
    ) -> datetime:
        """When reminder `sent + 1` is due; past the last one, when the lesson counts missed."""
        due = next_reminder(
            delivered_at=delivered_at,
            hours=self._hours,
            limit=max(self._limit, sent) + 1,  # one step past the last reminder: the verdict
            sent=sent,
            tz=zone(tz),
            at=parse_time(at_time),
            days=Days.decode(days),
        )
        assert due is not None
        return due

    def follow_up(self, *, now: datetime) -> FollowupReport:
        """The tick's step: remind, settle or pause every follow-up that fell due."""
        reminded = answered = missed = paused = 0
        for followup in self._repository.due(now=now, limit=BATCH):
            if followup.answered:
                answered += self._repository.settle(followup, outcome="answered", now=now)
            elif followup.enrolment_status not in ("active", "finished"):
                # Paused by its lead, left, cancelled or stopped: nothing to remind about.
                self._repository.settle(followup, outcome="dropped", now=now)
            elif followup.snoozed_until is not None and followup.snoozed_until > now:
                later = in_working_hours(
                    followup.snoozed_until,
                    tz=zone(followup.tz),
                    at=parse_time(followup.at_time),
                    days=Days.decode(followup.days),
                )
                self._repository.postpone(followup, next_at=later)
            elif followup.reminders_sent < self._limit:
                reminded += self._remind(followup, now=now)
            elif self._repository.settle(followup, outcome="missed", now=now):
                missed += 1
                paused += self._maybe_pause(followup, now=now)
        if reminded or missed:
            log.info(
                "reminded %d lessons; %d missed, %d enrolments paused", reminded, missed, paused
            )
        return FollowupReport(reminded, answered, missed, paused)

    def _remind(self, followup: DueFollowup, *, now: datetime) -> int:
        number = followup.reminders_sent + 1
        action = "its quiz is one tap" if followup.has_quiz else "press ✓ Done once you've read it"
        last = " This is the last reminder for it." if number >= self._limit else ""
        text = (
            f":bell: Reminder: your lesson *{followup.lesson_title}* from "
            f"*{followup.course_title}* is waiting further up in this chat: {action}.{last}\n"
            "Need a break? `/learn snooze 7` holds your lessons for a week."
        )
        notice = Notice(
            dedupe_key=f"remind:{followup.delivery_id}:{number}",
            recipient=followup.user_id,
            payload={"text": text},
            drip_id=followup.drip_id,
        )
        later = self._next(
            followup.delivered_at,
            sent=number,
            tz=followup.tz,
            days=followup.days,
            at_time=followup.at_time,
        )
        return int(self._repository.remind(followup, next_at=later, notice=notice, now=now))

    def _maybe_pause(self, followup: DueFollowup, *, now: datetime) -> int:
        if self._pause_after <= 0 or followup.enrolment_status != "active":
            return 0
        outcomes = self._repository.recent_outcomes(followup.enrolment_id, last=self._pause_after)
        if not should_pause(outcomes, after=self._pause_after):
            return 0
        text = (
            f":pause_button: You've left the last {self._pause_after} lessons of "
            f"*{followup.course_title}* unanswered, so I've paused this course for you: "
            "no more lessons or reminders for now. Press *Resume* (or type `/learn resume`) when "
            "you're ready to carry on."
        )
        notice = Notice(
            dedupe_key=f"autopause:{followup.enrolment_id}:{followup.id}",
            recipient=followup.user_id,
            payload={
                "text": text,
                "button": {
                    "text": "Resume",
                    "action_id": RESUME_ACTION,
                    "value": str(followup.enrolment_id),
                },
            },
            drip_id=followup.drip_id,
        )
        done = self._pauses.pause(
            team_id=followup.team_id,
            enrolment_id=followup.enrolment_id,
            drip_id=followup.drip_id,
            user_id=followup.user_id,
            notice=notice,
            now=now,
        )
        if done:
            log.info("enrolment %d paused itself after missed lessons", followup.enrolment_id)
        return int(done)

    def resume(self, *, team_id: str, user_id: str, enrolment_id: int, now: datetime) -> Resumed:
        """The learner pressed Resume on the auto-pause DM: their lessons carry on."""
        paused = self._pauses.paused(team_id, enrolment_id)
        if paused is None:
            raise Refused("There is nothing paused to resume here: your lessons are running.")
        if paused.user_id != user_id:
            raise Refused("This button was sent to someone else: only they can use it.")
        if paused.status != "paused":
            raise Refused(f"Your *{paused.course}* lessons are running already.")
        if paused.drip_status != "active":
            raise Refused(
                f"Your lead has {paused.drip_status} this drip of *{paused.course}*, so it "
                "can't be resumed from here."
            )
        after = now
        if paused.snoozed_until is not None and paused.snoozed_until > now:
            after = paused.snoozed_until
        due = next_slot(
            Days.decode(paused.days),
            parse_time(paused.at_time),
            zone(paused.tz),
            after=after,
            start_on=paused.start_on,
        )
        if not self._pauses.resume(
            team_id=team_id, enrolment_id=enrolment_id, next_due_at=due, now=now
        ):
            raise Refused(f"Your *{paused.course}* lessons are running already.")
        return Resumed(paused.course, due)

    def resume_all(self, *, team_id: str, user_id: str, now: datetime) -> list[Resumed]:
        """`/learn resume`: every course of the learner that paused itself carries on too."""
        resumed = []
        for enrolment_id in self._pauses.paused_of(team_id, user_id):
            try:
                resumed.append(
                    self.resume(
                        team_id=team_id, user_id=user_id, enrolment_id=enrolment_id, now=now
                    )
                )
            except Refused:
                continue  # its lead paused the drip: theirs to resume
        return resumed

    def attention(self, team_id: str, drip_ids: list[int]) -> list[DripAttention]:
        """Per drip: learners who paused themselves, and learners reminded but not answering."""
        return self._repository.attention(team_id, drip_ids)

    @staticmethod
    def resumed_text(resumed: Resumed) -> str:
        return (
            f":arrow_forward: Welcome back! Your *{resumed.course}* lessons carry on: "
            f"the next one comes {when(resumed.next_at)}."
        )
