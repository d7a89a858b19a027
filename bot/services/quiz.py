"""Answers: stored exactly once, before Slack is acknowledged; then reviews and completion."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from bot.domain import points
from bot.domain.lesson import Course, Lesson, Question, QuestionKind
from bot.domain.numbers import whole_number
from bot.domain.quiz import Choice, grade, valid
from bot.domain.shuffle import option_order
from bot.services.catalog import CatalogService
from bot.services.gamify import GamifyService
from bot.services.logcontext import bind
from bot.services.metrics import NO_METRICS, Metrics
from bot.services.people import People
from bot.services.ports import SlackError
from bot.services.refused import Refused
from bot.services.reviews import ReviewService
from bot.storage.answers import AnswerRepository, DeliveredLesson, QuestionRef

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answered:
    """The learner's answer as stored (their first, if they clicked again)."""

    ref: QuestionRef
    course: Course
    lesson: Lesson
    question: Question
    choice: Choice
    correct: bool | None
    recorded: bool  # False: this click changed nothing, an earlier answer stands
    distribution: Counter[int] | None = None  # polls: votes per option so far

    @property
    def review(self) -> bool:
        return self.ref.kind == "review"

    @property
    def order(self) -> tuple[int, ...]:
        """The options in the order this question was shown to its recipient."""
        return option_order(
            self.question,
            team_id=self.ref.team_id,
            learner=self.ref.recipient,
            lesson_key=self.lesson.key,
            position=self.ref.position,
        )


@dataclass(frozen=True)
class Done:
    course: Course
    lesson: Lesson
    first_time: bool
    in_channel: bool


class QuizService:
    def __init__(
        self,
        *,
        answers: AnswerRepository,
        catalog: CatalogService,
        reviews: ReviewService,
        people: People,
        gamify: GamifyService | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._metrics = metrics
        self._answers = answers
        self._catalog = catalog
        self._reviews = reviews
        self._people = people
        self._gamify = gamify

    def answer(
        self,
        *,
        team_id: str,
        user_id: str,
        ref: str,
        choice: Choice,
        channel_id: str | None,
        message_ts: str | None,
        now: datetime,
    ) -> Answered:
        """Store the answer (one small committed insert) — call before acknowledging Slack."""
        with self._answers.answering():
            return self._answer(
                team_id=team_id,
                user_id=user_id,
                ref=ref,
                choice=choice,
                channel_id=channel_id,
                message_ts=message_ts,
                now=now,
            )

    def _answer(
        self,
        *,
        team_id: str,
        user_id: str,
        ref: str,
        choice: Choice,
        channel_id: str | None,
        message_ts: str | None,
        now: datetime,
    ) -> Answered:
        question_ref = self._ref(ref)
        bind(delivery_id=question_ref.delivery_id, drip_id=question_ref.drip_id)
        _check_clicker(question_ref, team_id=team_id, user_id=user_id, what="question")
        course, lesson, question = self._question(question_ref)
        if not valid(question, choice):
            raise Refused("That answer doesn't fit this question. Pick one of its options.")
        correct = grade(question, choice)
        stored, recorded = self._answers.record(
            team_id=team_id,
            user_id=user_id,
            ref=question_ref,
            choice=choice.encode(),
            correct=correct,
            channel_id=channel_id,
            message_ts=message_ts,
            now=now,
            award=points.for_answer(
                question=question_ref.question_id, attempt=question_ref.attempt, correct=correct
            ),
        )
        if recorded:
            self._metrics.answer_stored(kind=question_ref.kind)
        log.debug("answer %s", "stored" if recorded else "repeated: the first one stands")
        first = Choice.decode(question.kind, stored.choice)
        distribution = None
        if question.kind is QuestionKind.POLL:
            distribution = Counter(
                {
                    int(option): count
                    for option, count in self._answers.choices(question_ref.question_id).items()
                    if whole_number(option) is not None
                }
            )
        return Answered(
            question_ref, course, lesson, question, first, stored.correct, recorded, distribution
        )

    def after_answer(self, answered: Answered, *, user_id: str, now: datetime) -> bool:
        """The slow part, after the acknowledgement: spaced repetition and completion.

        Returns True when this answer completed the lesson.
        """
        if not answered.recorded:
            return False
        ref = answered.ref
        try:  # their name for reports and their zone for reviews (cached for hours)
            self._people.refresh(ref.team_id, user_id, now=now)
        except SlackError as error:
            log.warning("profile of %s not available: %s", user_id, error.code)
        if answered.correct is not None:
            self._reviews.on_answer(
                team_id=ref.team_id,
                user_id=user_id,
                question_id=ref.question_id,
                correct=answered.correct,
                attempt=ref.attempt,
                now=now,
            )
        completed = False
        if ref.kind == "lesson":
            completed = self._answers.complete_when_answered(
                team_id=ref.team_id,
                user_id=user_id,
                lesson_id=ref.lesson_id,
                delivery_id=ref.delivery_id,
                questions=len(answered.lesson.quiz),
                now=now,
                award=points.for_lesson_done(delivery=ref.delivery_id),
                course=ref.course,
            )
        if self._gamify is not None and (completed or (answered.review and answered.correct)):
            self._gamify.check_milestones(team_id=ref.team_id, user_id=user_id, now=now)
        return completed

    def done(self, *, team_id: str, user_id: str, delivery_id: int, now: datetime) -> Done:
        """The learner pressed ✓ Done on a lesson."""
        found = self._answers.lesson_of(delivery_id)
        if found is None:
            raise Refused("That lesson is no longer available.")
        _check_clicker(found, team_id=team_id, user_id=user_id, what="lesson")
        course = self._catalog.course(found.course)
        lesson = course.lesson(found.lesson) if course else None
        if course is None or lesson is None:
            raise Refused("That lesson is no longer in the course.")
        first = self._answers.complete(
            team_id=team_id,
            user_id=user_id,
            lesson_id=found.lesson_id,
            delivery_id=delivery_id,
            now=now,
            award=points.for_lesson_done(delivery=delivery_id),
            course=found.course,
        )
        if self._gamify is not None:  # also on a repeat press: it finishes what a crash left
            self._gamify.check_milestones(team_id=team_id, user_id=user_id, now=now)
        return Done(course, lesson, first, found.recipient_kind == "channel")

    def answered_on(self, channel_id: str, message_ts: str) -> int:
        return self._answers.answered_on_message(channel_id, message_ts)

    def _ref(self, ref: str) -> QuestionRef:
        delivery, _, position = ref.partition(".")
        delivery_id, number = whole_number(delivery), whole_number(position)
        found = None
        if delivery_id is not None and number is not None:
            found = self._answers.question(delivery_id, number)
        if found is None:
            raise Refused("That question is no longer available.")
        return found

    def _question(self, ref: QuestionRef) -> tuple[Course, Lesson, Question]:
        course = self._catalog.course(ref.course)
        lesson = course.lesson(ref.lesson) if course else None
        if course is None or lesson is None or ref.position > len(lesson.quiz):
            raise Refused("That question has been removed from the course.")
        return course, lesson, lesson.quiz[ref.position - 1]

    def question_for(self, ref: str, *, team_id: str, user_id: str) -> tuple[Lesson, Question, int]:
        """The question an Answer button points at (to build the open-answer form)."""
        question_ref = self._ref(ref)
        _check_clicker(question_ref, team_id=team_id, user_id=user_id, what="question")
        _, lesson, question = self._question(question_ref)
        return lesson, question, question_ref.position


def _check_clicker(
    sent: QuestionRef | DeliveredLesson, *, team_id: str, user_id: str, what: str
) -> None:
    """A click counts only from the delivery's workspace and, for a DM, from its recipient."""
    if sent.team_id != team_id:
        raise Refused(f"This {what} belongs to another workspace.")
    if sent.recipient_kind != "channel" and sent.recipient != user_id:
        raise Refused(f"This {what} was sent to someone else: only they can use its buttons.")
