"""Spaced repetition with FSRS: missed questions come back in the learner's slot until they stick.

A wrong answer rates the card `Again`, a right one `Good`; there are no same-day learning steps,
so every review lands on a later day, snapped to the learner's drip slot (weekdays 09:30 local
for people without one). Click latency is not used: it measures when the DM was opened.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, cast

from fsrs import Card, Rating, Scheduler

from bot.domain.review_load import (
    DEFAULT_REVIEWS_PER_DAY,
    DueCard,
    shift_for_snooze,
    todays_reviews,
)
from bot.domain.schedule import DEFAULT_AT, Days, next_slot, parse_time, zone
from bot.storage.cards import CardRecord, CardRepository
from bot.storage.learners import LearnerRepository
from bot.storage.outbox import Outbox
from bot.storage.review_load import ReviewLoadRepository

MASTERED_AFTER = timedelta(days=21)  # once the next review would be this far out, it has stuck
HOLD = timedelta(days=30)  # a sent review waits this long for its answer before it is sent again
REVIEW_BATCH = 500

# The learner's zone and their DM enrolments' (status, days, at_time, tz), soonest due first.
Schedule = tuple[str | None, list[tuple[str, str, str, str]]]

_SCHEDULER = Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)


class ReviewService:
    def __init__(
        self,
        *,
        cards: CardRepository,
        learners: LearnerRepository,
        outbox: Outbox,
        load: ReviewLoadRepository,
        per_day: int = DEFAULT_REVIEWS_PER_DAY,
    ) -> None:
        self._cards = cards
        self._learners = learners
        self._outbox = outbox
        self._load = load
        self._per_day = per_day

    def on_answer(
        self,
        *,
        team_id: str,
        user_id: str,
        question_id: int,
        correct: bool,
        attempt: int,
        now: datetime,
    ) -> datetime | None:
        """Update the learner's card for a graded answer; return when it comes back, if it does."""
        schedule: Schedule | None = None
        if correct:
            existing = self._cards.card(team_id, user_id, question_id)
        else:  # its card is rescheduled (unless mastered or moved on): read the slot with it
            existing, schedule = self._cards.card_and_schedule(team_id, user_id, question_id)
        if existing is None and correct:
            return None  # right the first time: nothing to repeat
        if existing is not None and existing.status == "mastered":
            return None
        if existing is not None and attempt <= existing.reviews:
            return None  # an answer to an older round; the card moved on
        card = (
            Card.from_dict(cast(Any, existing.card))
            if existing
            else Card(card_id=question_id, due=now)
        )
        card, _ = _SCHEDULER.review_card(card, Rating.Good if correct else Rating.Again, now)
        mastered = correct and card.due - now >= MASTERED_AFTER
        due = self._slot_after(team_id, user_id, card.due, answered=now, schedule=schedule)
        self._cards.save_card(
            team_id=team_id,
            user_id=user_id,
            question_id=question_id,
            card=_card_dict(card),
            due_at=due,
            status="mastered" if mastered else "active",
            now=now,
        )
        return None if mastered else due

    def slot_after(
        self, team_id: str, user_id: str, due: datetime, *, answered: datetime
    ) -> datetime:
        """The learner's first delivery slot on or after the day `due` falls on, and never on the
        day answered.

        FSRS counts in days: a card due "in a day" is due on the next day, whatever the minute.
        Comparing instants would push a question answered a few seconds after a 09:30 slot past
        the next day's 09:30 slot, to the day after.
        """
        return self._slot_after(team_id, user_id, due, answered=answered)

    def _slot_after(
        self,
        team_id: str,
        user_id: str,
        due: datetime,
        *,
        answered: datetime,
        schedule: Schedule | None = None,
    ) -> datetime:
        days, at, tz = self._schedule(team_id, user_id, schedule)
        due_day = due.astimezone(tz).date()
        first_day = max(due_day, answered.astimezone(tz).date() + timedelta(days=1))
        not_before = datetime.combine(first_day, time(0, 0), tzinfo=tz)
        return next_slot(days, at, tz, after=not_before - timedelta(seconds=1))

    def _schedule(
        self, team_id: str, user_id: str, known: Schedule | None = None
    ) -> tuple[Days, time, Any]:
        """`known`: what `LearnerRepository.review_schedule` gives, read already."""
        if known is None:
            known = self._learners.review_schedule(team_id, user_id)
        learner_tz, enrolments = known
        tz = zone(learner_tz or "UTC")
        live = [e for e in enrolments if e[0] in ("active", "waiting", "paused")]
        if not (live or enrolments):
            return Days(), DEFAULT_AT, tz
        _status, days, at_time, enrolment_tz = (live or enrolments)[0]
        return Days.decode(days), parse_time(at_time), zone(enrolment_tz or "UTC")

    def plan(self, *, now: datetime) -> int:
        """Queue one Review message per learner with cards due: at most `per_day` questions a
        (local) day, most overdue first. Returns how many questions were queued."""
        planned = 0
        for team_id, user_id in self._load.learners_due(now=now, limit=REVIEW_BATCH):
            planned += self._plan_learner(team_id, user_id, now=now)
        return planned

    def _plan_learner(self, team_id: str, user_id: str, *, now: datetime) -> int:
        days, at, tz = self._schedule(team_id, user_id)
        today = now.astimezone(tz).date()
        sent_today = self._load.sent_on(team_id, user_id, today)
        cards = {card.id: card for card in self._cards.cards_of(team_id, user_id)}
        chosen = [
            cards[due.id]
            for due in todays_reviews(
                (DueCard(card.id, card.due_at) for card in cards.values()),
                now=now,
                per_day=self._per_day,
                sent_today=sent_today,
            )
        ]
        # Once today's questions are out, look again at the learner's next slot (not midnight):
        # what is left comes then, in their slot, most overdue first.
        next_at = next_slot(days, at, tz, after=now)
        if not chosen:
            self._load.cap_until(team_id, user_id, day=today, until=next_at)
            return 0
        full = sent_today + len(chosen) >= self._per_day
        first = chosen[0]
        sent = self._load.send(
            team_id=team_id,
            user_id=user_id,
            cards=[(card.id, card.reviews) for card in chosen],
            hold_until=now + HOLD,
            day=today,
            resume_at=next_at if full else None,
            dedupe_key=f"reviews:{first.id}:{first.reviews + 1}",
            payload={
                "items": [
                    {
                        "card": card.id,
                        "question": card.question_id,
                        "course": card.course,
                        "lesson": card.lesson,
                        "position": card.position,
                        "attempt": card.reviews + 2,  # the lesson's answer was attempt 1
                    }
                    for card in chosen
                ]
            },
            now=now,
        )
        return len(chosen) if sent else 0

    def send_due_now(self, team_id: str, user_id: str, *, until: datetime, now: datetime) -> int:
        """Queue at once the learner's reviews scheduled by `until` (App Home's Review now).

        Each card is claimed as the tick claims it (`review_sent` compares its round), so a
        double click, or the tick at the same moment, queues every review once.
        """
        queued = 0
        for card in self._cards.cards_of(team_id, user_id):
            if card.status == "active" and card.due_at <= until:
                queued += self._queue(card, now=now, pulled=True)
        return queued

    def _queue(self, card: CardRecord, *, now: datetime, pulled: bool = False) -> int:
        round_ = card.reviews + 1
        if not self._cards.review_sent(card.id, reviews=round_, hold_until=now + HOLD):
            return 0  # another process queued it
        self._outbox.enqueue(
            team_id=card.team_id,
            dedupe_key=f"review:{card.id}:{round_}",
            kind="review",
            recipient=card.user_id,
            recipient_kind="dm",
            due_at=now,
            now=now,
            lesson=(card.course, card.lesson),
            question_position=card.position,
            # asked for (Review now): it goes out even during a snooze
            payload={"attempt": round_ + 1, **({"pulled_by": card.user_id} if pulled else {})},
        )
        return 1

    def hold_for_snooze(self, *, team_id: str, user_id: str, start: datetime, end: datetime) -> int:
        """Reviews falling due during a snooze move on by its length, to the learner's slot then.

        Returns how many moved. Cards already due keep their date and come first afterwards.
        """
        moved = 0
        for card in self._cards.cards_of(team_id, user_id):
            if card.status != "active":
                continue
            shifted = shift_for_snooze(card.due_at, snooze_start=start, snooze_end=end)
            if shifted == card.due_at:
                continue
            due = self.slot_after(team_id, user_id, shifted, answered=start)
            moved += self._load.move(card.id, due_at=card.due_at, to=due)
        return moved

    def due_count(
        self, team_id: str, user_id: str, *, now: datetime
    ) -> tuple[int, datetime | None]:
        """(reviews due now, when the next one comes)."""
        cards = self._cards.cards_of(team_id, user_id)
        due = sum(1 for card in cards if card.status == "sent" or card.due_at <= now)
        upcoming = [c.due_at for c in cards if c.status == "active" and c.due_at > now]
        return due, min(upcoming) if upcoming else None


def _card_dict(card: Card) -> dict[str, Any]:
    return dict(card.to_dict())
