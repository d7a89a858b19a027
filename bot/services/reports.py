"""Progress for learners, reports and CSV exports for leads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.domain.lesson import Course, Lesson, Question, QuestionKind
from bot.domain.quiz import Choice, describe
from bot.domain.schedule import Days, zone
from bot.services.audience import Audience
from bot.services.catalog import CatalogService
from bot.services.csvfile import csv_bytes
from bot.services.discussions import DiscussionService, LessonTalk
from bot.services.refused import Refused
from bot.services.reminders import ReminderService
from bot.services.reviews import ReviewService
from bot.storage.answer_reports import AnswerReports, AnswerRow
from bot.storage.drips import DripRepository
from bot.storage.enrolments import EnrolmentRepository
from bot.storage.insights import InsightsRepository
from bot.storage.learners import LearnerRepository
from bot.storage.reminders import DripAttention

ANSWERS_COLUMNS = (
    "learner_id",
    "learner_name",
    "course",
    "lesson",
    "question",
    "kind",
    "answer",
    "correct",
    "attempt",
    "answered_at",
)
HARDEST = 3


@dataclass(frozen=True)
class Progress:
    lessons_done: int
    answered: int
    right: int
    streak: int
    reviews_due: int
    next_review_at: datetime | None
    next_lesson: Lesson | None
    next_lesson_at: datetime | None
    courses: tuple[tuple[Course, int], ...]  # course and the next lesson's number
    replies: int = 0  # replies in lesson discussion threads


@dataclass(frozen=True)
class LessonStats:
    lesson: Lesson
    sent: int  # people it reached by DM
    channels: int  # channels it was posted in
    completed: int


@dataclass(frozen=True)
class QuestionStats:
    lesson: Lesson
    number: int
    question: Question
    answered: int
    right: int

    @property
    def accuracy(self) -> float | None:
        if not self.question.kind.graded or not self.answered:
            return None
        return self.right / self.answered


@dataclass(frozen=True)
class Report:
    course: Course
    lessons: tuple[LessonStats, ...]
    questions: tuple[QuestionStats, ...]
    answers: int
    learners: int
    talk: tuple[LessonTalk, ...] = ()
    # Per drip of the course: learners paused after unanswered lessons, or reminded and silent.
    attention: tuple[DripAttention, ...] = ()

    @property
    def hardest(self) -> tuple[QuestionStats, ...]:
        graded = [q for q in self.questions if q.accuracy is not None]
        return tuple(sorted(graded, key=lambda q: (q.accuracy or 0.0, -q.answered))[:HARDEST])


class ReportService:
    def __init__(
        self,
        *,
        answers: AnswerReports,
        drips: DripRepository,
        learners: LearnerRepository,
        enrolments: EnrolmentRepository,
        catalog: CatalogService,
        reviews: ReviewService,
        discussions: DiscussionService,
        insights: InsightsRepository | None = None,
        reminders: ReminderService | None = None,
    ) -> None:
        self._insights = insights
        self._reminders = reminders
        self._answers = answers
        self._drips = drips
        self._learners = learners
        self._enrolments = enrolments
        self._catalog = catalog
        self._reviews = reviews
        self._discussions = discussions

    def progress(self, *, team_id: str, user_id: str, now: datetime) -> Progress:
        done, answered, right, activity = self._answers.progress(team_id, user_id)
        learner = self._learners.learner(team_id, user_id)
        tz = zone(learner.tz if learner else "UTC")
        enrolments = self._enrolments.enrolments(
            team_id, recipient=user_id, statuses=("waiting", "active", "paused")
        )
        days = Days.decode(enrolments[0].days) if enrolments else Days()
        due, next_review = self._reviews.due_count(team_id, user_id, now=now)
        next_lesson = next_at = None
        courses = []
        for enrolment in sorted(
            enrolments, key=lambda e: e.next_due_at or now + timedelta(days=9999)
        ):
            course = self._catalog.course(enrolment.course)
            if course is None:
                continue
            courses.append((course, enrolment.next_position))
            if next_lesson is None and enrolment.next_position <= len(course.lessons):
                next_lesson = course.lessons[enrolment.next_position - 1]
                next_at = enrolment.next_due_at
        return Progress(
            lessons_done=done,
            answered=answered,
            right=right,
            streak=streak(
                {a.astimezone(tz).date() for a in activity}, days, today=now.astimezone(tz).date()
            ),
            reviews_due=due,
            next_review_at=next_review,
            next_lesson=next_lesson,
            next_lesson_at=next_at,
            courses=tuple(courses),
            replies=self._discussions.replies(team_id, user_id),
        )

    def teams(self) -> list[str]:
        return self._answers.teams()

    def report(self, *, team_id: str, course_id: str) -> tuple[Report, bytes]:
        """The summary and the answers CSV (`<course>-answers.csv`)."""
        report, answers, _ = self.full_report(team_id=team_id, course_id=course_id)
        return report, answers

    def course(self, course_id: str) -> Course:
        """A course by id, or Refused naming the ones there are."""
        course = self._catalog.course(course_id)
        if course is None:
            known = ", ".join(f"`{c.id}`" for c in self._catalog.catalog.courses)
            raise Refused(f"There is no course `{course_id}`. The courses are {known}.")
        return course

    def full_report(
        self, *, team_id: str, course_id: str, audience: Audience | None = None
    ) -> tuple[Report, bytes, bytes]:
        """The summary, the answers CSV and the discussion CSV (`<course>-discussion.csv`).

        With an `audience`, only its learners' answers, completions and replies count, and only
        its deliveries (see bot.services.audience); without one, everyone's.
        """
        course = self.course(course_id)
        rows = self._answers.answer_rows(team_id, course.id)
        if audience is None:
            reach = self._answers.lesson_reach(team_id, course.id)
            channels = self._answers.channel_lessons_sent(team_id, course.id)
        else:
            rows = [row for row in rows if audience.counts(row.user_id, row.answered_at)]
            reach, channels = self._reach(team_id, course.id, audience)
        lessons = tuple(
            LessonStats(
                lesson,
                reach.get(lesson.id, (0, 0))[0],
                channels.get(lesson.id, 0),
                reach.get(lesson.id, (0, 0))[1],
            )
            for lesson in course.lessons
        )
        questions = _question_stats(course, rows)
        talk, discussion_csv = self._discussions.report(
            team_id, course, keep=audience.counts if audience is not None else None
        )
        report = Report(
            course=course,
            lessons=lessons,
            questions=questions,
            answers=len(rows),
            learners=len({row.user_id for row in rows}),
            talk=talk,
            attention=self._attention(team_id, course.id),
        )
        return report, answers_csv(course, rows), discussion_csv

    def _reach(
        self, team_id: str, course_id: str, audience: Audience
    ) -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
        """`lesson_reach` and `channel_lessons_sent`, counting the audience only."""
        assert self._insights is not None, "scoped reports need the insights repository"
        people: dict[str, set[str]] = {}
        posts: dict[str, set[str]] = {}
        for delivery in audience.deliveries:
            at = delivery.sent_at or delivery.created_at
            if delivery.status != "sent" or (audience.since is not None and at < audience.since):
                continue
            into = people if delivery.recipient_kind == "dm" else posts
            into.setdefault(delivery.lesson, set()).add(delivery.recipient)
        done: dict[str, int] = {}
        for fact in self._insights.completions(team_id, courses=[course_id]):
            if audience.counts(fact.user_id, fact.completed_at):
                done[fact.lesson] = done.get(fact.lesson, 0) + 1
        reach = {
            lesson: (len(people.get(lesson, ())), done.get(lesson, 0))
            for lesson in {*people, *done}
        }
        return reach, {lesson: len(channels) for lesson, channels in posts.items()}

    def _attention(self, team_id: str, course_id: str) -> tuple[DripAttention, ...]:
        if self._reminders is None:
            return ()
        drips = [drip.id for drip in self._drips.drips(team_id) if drip.course == course_id]
        found = self._reminders.attention(team_id, drips)
        return tuple(a for a in found if a.auto_paused or a.waiting)


def answers_csv(course: Course, rows: list[AnswerRow]) -> bytes:
    """One row per stored answer, in the exact columns of the contract."""
    return csv_bytes(ANSWERS_COLUMNS, [_answer_cells(course, row) for row in rows])


def _answer_cells(course: Course, row: AnswerRow) -> list[str | int]:
    lesson = course.lesson(row.lesson)
    question = (
        lesson.quiz[row.position - 1] if lesson and row.position <= len(lesson.quiz) else None
    )
    kind = QuestionKind(row.kind)
    answer = describe(question, Choice.decode(kind, row.choice)) if question else row.choice
    return [
        row.user_id,
        row.learner_name,
        row.course,
        row.lesson,
        question.text if question else f"question {row.position}",
        row.kind,
        answer,
        _graded(kind, row.correct),
        row.attempt,
        row.answered_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    ]


def _graded(kind: QuestionKind, correct: bool | None) -> str:
    """`true`/`false`; empty for polls and open answers, which have no right answer."""
    if not kind.graded or correct is None:
        return ""
    return "true" if correct else "false"


def streak(active_days: set[date], days: Days, *, today: date) -> int:
    """Consecutive scheduled days with some learning, counting back from today.

    Today counts only once something happened; unscheduled days (weekends for a weekday drip)
    neither break nor extend the streak.
    """
    count = 0
    day = today if today in active_days else today - timedelta(days=1)
    for _ in range(3660):
        if day.weekday() in days.days:
            if day not in active_days:
                break
            count += 1
        day -= timedelta(days=1)
    return count


def _question_stats(course: Course, rows: Sequence[AnswerRow]) -> tuple[QuestionStats, ...]:
    """Each question's first tries and how many were right."""
    first_tries = [row for row in rows if row.attempt == 1]
    questions = []
    for lesson in course.lessons:
        for number, question in enumerate(lesson.quiz, start=1):
            mine = [r for r in first_tries if r.lesson == lesson.id and r.position == number]
            questions.append(
                QuestionStats(
                    lesson, number, question, len(mine), sum(1 for r in mine if r.correct)
                )
            )
    return tuple(questions)
