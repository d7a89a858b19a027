"""`/learn report` for leads: scoped to their learners, with a chart and the questions CSV."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cached_property

from bot.domain.schedule import Target, local_instant, zone
from bot.services.audience import Audience, Narrowing, audience
from bot.services.charts import LessonRow, QuestionRow, ReportChart, report_filename, report_png
from bot.services.people import People
from bot.services.ports import Messenger
from bot.services.questions import (
    AnalysedQuestion,
    analyse_course,
    questions_csv,
    questions_filename,
    stats_table,
)
from bot.services.reports import Report, ReportService
from bot.services.roles import Roles
from bot.services.targets import Targets
from bot.storage.answer_reports import AnswerReports, AnswerRow
from bot.storage.insights import InsightsRepository
from bot.storage.learners import LearnerRepository


@dataclass
class LeadReport:
    report: Report
    audience: Audience
    answers_csv: bytes
    discussion_csv: bytes
    questions_csv: bytes
    chart: ReportChart
    questions: tuple[AnalysedQuestion, ...]

    @cached_property
    def chart_png(self) -> bytes:
        """Drawn when first asked for: the CSV files need not wait for it."""
        return report_png(self.chart)

    def files(self) -> Iterator[tuple[str, bytes, str, str]]:
        """(filename, content, what, comment) of each file; the chart last, drawn on the way."""
        course = self.report.course.id
        yield from (
            (f"{course}-answers.csv", self.answers_csv, "answers", "Every answer, one row each."),
            (
                f"{course}-discussion.csv",
                self.discussion_csv,
                "discussion",
                "Every current reply in the lesson threads, one row each.",
            ),
            (
                questions_filename(course),
                self.questions_csv,
                "questions",
                "Per question and option: first-try accuracy, picks, discrimination.",
            ),
        )
        yield report_filename(course), self.chart_png, "chart", "Completion, accuracy, replies."

    def filenames(self) -> list[str]:
        course = self.report.course.id
        return [
            f"{course}-answers.csv",
            f"{course}-discussion.csv",
            questions_filename(course),
            report_filename(course),
        ]


class LeadReports:
    def __init__(
        self,
        *,
        reports: ReportService,
        insights: InsightsRepository,
        answers: AnswerReports,
        roles: Roles,
        targets: Targets,
        learners: LearnerRepository,
        people: People,
        messenger: Messenger,
    ) -> None:
        self._reports = reports
        self._insights = insights
        self._answers = answers
        self._roles = roles
        self._targets = targets
        self._learners = learners
        self._people = people
        self._messenger = messenger

    def report(
        self,
        *,
        team_id: str,
        lead_id: str,
        course_id: str,
        targets: tuple[Target, ...] = (),
        since: date | None = None,
        now: datetime,
    ) -> LeadReport:
        """The lead's report on a course: their learners only (admins: everyone's)."""
        self._roles.require_lead(team_id, lead_id, doing="see reports", now=now)
        course = self._reports.course(course_id)
        owner = None if self._people.is_admin(team_id, lead_id, now=now) else lead_id
        narrowing = None
        if targets:
            found = self._targets.resolve(team_id, targets)
            label = ", ".join(_target_label(kind, ref, name) for kind, ref, name in found.labels)
            narrowing = Narrowing(
                users=frozenset(found.users),
                channels=frozenset(c.id for c in found.channels),
                label=label,
            )
        start = None
        if since is not None:
            learner = self._learners.learner(team_id, lead_id)
            start = local_instant(since, time(0, 0), zone(learner.tz if learner else "UTC"))
        who = audience(
            deliveries=self._insights.sent_lessons(team_id, course=course.id),
            answers=self._insights.answers(team_id, courses=[course.id]),
            completions=self._insights.completions(team_id, courses=[course.id]),
            owner=owner,
            narrowing=narrowing,
            since=start,
            since_label=since.isoformat() if since else "",
        )
        summary, answers_csv, discussion_csv = self._reports.full_report(
            team_id=team_id, course_id=course.id, audience=who
        )
        rows = [
            row
            for row in self._answers.answer_rows(team_id, course.id)
            if who.counts(row.user_id, row.answered_at)
        ]
        analysed = tuple(analyse_course(course, rows))
        chart = report_chart(summary, rows, subtitle=who.label)
        return LeadReport(
            report=summary,
            audience=who,
            answers_csv=answers_csv,
            discussion_csv=discussion_csv,
            questions_csv=questions_csv(course, analysed),
            chart=chart,
            questions=analysed,
        )

    def question_stats(self, *, team_id: str, course_id: str) -> list[str]:
        """`microlearn lessons stats`: every learner's first tries, as a table with flags."""
        course = self._reports.course(course_id)
        analysed = analyse_course(course, self._answers.answer_rows(team_id, course.id))
        return stats_table(course, analysed)

    def upload(self, *, team_id: str, lead_id: str, report: LeadReport) -> str | None:
        """Put the report's files in the lead's DM; the chart's file id, when Slack gives one."""
        title = report.report.course.title
        chart_id = None
        for filename, content, what, comment in report.files():
            file_id = self._messenger.upload(
                team_id,
                lead_id,
                filename=filename,
                content=content,
                title=f"{title}: {what}",
                comment=f"*{title}*: {comment}",
            )
            if chart_id is None and filename.endswith(".png"):
                chart_id = file_id
        return chart_id


def report_chart(report: Report, rows: list[AnswerRow], *, subtitle: str) -> ReportChart:
    """The report's numbers as the chart draws them."""
    answered: dict[str, set[str]] = {}
    for row in rows:
        if row.attempt == 1:
            answered.setdefault(row.lesson, set()).add(row.user_id)
    talk = {t.lesson.id: t.replies for t in report.talk}
    lessons = []
    for stats in report.lessons:
        lesson_id = stats.lesson.id
        people = len(answered.get(lesson_id, ()))
        lessons.append(
            LessonRow(
                title=f"{stats.lesson.position}. {stats.lesson.title}",
                delivered=max(stats.sent, stats.completed, people),
                done=stats.completed,
                answered=people,
                replies=talk.get(lesson_id, 0),
            )
        )
    questions = tuple(
        QuestionRow(
            label=f"{q.lesson.position}.{q.number} {q.question.text}",
            accuracy=q.accuracy,
            answered=q.answered,
        )
        for q in report.questions
        if q.question.kind.graded
    )
    return ReportChart(
        course_title=report.course.title,
        lessons=tuple(lessons),
        questions=questions,
        subtitle=subtitle,
    )


def _target_label(kind: str, ref: str, name: str) -> str:
    if kind == "channel":
        return f"#{name}" if name else f"<#{ref}>"
    if kind == "members":
        return f"members of #{name}" if name else f"members of <#{ref}>"
    return f"@{name}" if name else f"<@{ref}>"
