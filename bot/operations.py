"""The operators' one-shot commands: deliver-due, report CSV, lessons stats, digest, privacy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from bot.app import build_services, open_database, upgrade_database
from bot.config import Settings
from bot.preflight import ContentProblems, StartupError, check_content, check_slack
from bot.scheduler import utc_now
from bot.services import Services
from bot.services.notices import Notices
from bot.services.privacy import PrivacyService
from bot.services.refused import Refused
from bot.storage.db import Database
from bot.storage.enrolments import EnrolmentRepository
from bot.storage.learners import LearnerRepository
from bot.storage.outbox import Outbox
from bot.storage.people import PersonRepository


@contextmanager
def _sending(settings: Settings) -> Iterator[Services]:
    """The use cases of a one-shot command that sends: checked lessons and token, the database
    migrated, the catalogue synced; the database closed after."""
    content = check_content(settings.lessons_dir)
    if content.problems:
        raise ContentProblems(content.problems, settings.lessons_dir)
    check_slack(settings)
    db = open_database(settings)
    try:
        upgrade_database(db)
        services = build_services(settings, db, content.catalog)
        services.catalog.sync(now=utc_now())
        yield services
    finally:
        db.dispose()


def deliver_due(settings: Settings, *, out: TextIO) -> None:
    """One pass of planning and sending, for operators who prefer cron to a resident tick."""
    with _sending(settings) as services:
        report = services.delivery.tick(utc_now())
    print(
        f"planned {report.planned} lessons ({report.moved} missed ones moved to their "
        f"next slot); sent {report.drain.sent} deliveries ({report.drain.messages} messages), "
        f"{report.drain.retried} to retry, {report.drain.failed} failed",
        file=out,
    )


def export_answers(settings: Settings, *, course_id: str, team_id: str | None) -> tuple[int, bytes]:
    """`microlearn report <course> --csv FILE`: the same CSV the Slack report uploads."""
    if not settings.lessons_dir.is_dir():
        raise StartupError(
            f"the lessons folder {settings.lessons_dir} does not exist: set LESSONS_DIR to the "
            "folder of courses the report is about"
        )
    content = check_content(settings.lessons_dir)
    db = open_database(settings)
    try:
        upgrade_database(db)
        services = build_services(settings, db, content.catalog)
        teams = services.reports.teams()
        if team_id is None and len(teams) > 1:
            raise StartupError(
                f"this database holds several workspaces ({', '.join(teams)}): "
                "choose one with --team"
            )
        team = team_id or (teams[0] if teams else "")
        try:
            report, csv_bytes = services.reports.report(team_id=team, course_id=course_id)
        except Refused as refused:
            raise StartupError(str(refused).replace("`", "")) from None
    finally:
        db.dispose()
    return report.answers, csv_bytes


@contextmanager
def people_data(settings: Settings) -> Iterator[PrivacyService]:
    """`microlearn forget` and `export-person`: the people's-data use cases on DATABASE_URL."""
    db = open_database(settings)
    try:
        upgrade_database(db)
        yield PrivacyService(
            people=PersonRepository(db),
            learners=LearnerRepository(db),
            enrolments=EnrolmentRepository(db),
            notices=Notices(Outbox(db)),
        )
    finally:
        db.dispose()


def _reporting(settings: Settings, db: Database) -> Services:
    """Services over the lessons folder, for the reporting commands (no Slack call made)."""
    if not settings.lessons_dir.is_dir():
        raise StartupError(
            f"the lessons folder {settings.lessons_dir} does not exist: set LESSONS_DIR to the "
            "folder of courses the report is about"
        )
    content = check_content(settings.lessons_dir)
    upgrade_database(db)
    return build_services(settings, db, content.catalog)


def _one_team(services: Services, team_id: str | None) -> str:
    teams = services.reports.teams()
    if team_id is None and len(teams) > 1:
        raise StartupError(
            f"this database holds several workspaces ({', '.join(teams)}): choose one with --team"
        )
    return team_id or (teams[0] if teams else "")


def question_stats(settings: Settings, *, course_id: str, team_id: str | None) -> list[str]:
    """`microlearn lessons stats <course>`: the questions CSV's figures as a table, with flags."""
    db = open_database(settings)
    try:
        services = _reporting(settings, db)
        try:
            return services.lead_reports.question_stats(
                team_id=_one_team(services, team_id), course_id=course_id
            )
        except Refused as refused:
            raise StartupError(str(refused).replace("`", "")) from None
    finally:
        db.dispose()


def send_digests(
    settings: Settings, *, lead_id: str | None, team_id: str | None, out: TextIO
) -> int:
    """`microlearn digest`: queue today's digest for every lead (or one) and send what is due."""
    with _sending(settings) as services:
        now = services.clock()
        if lead_id is not None and team_id is None:
            teams = {team for team, lead in services.digests.leads(now) if lead == lead_id}
            team_id = _one_team(services, None) if len(teams) != 1 else teams.pop()
        queued = services.digests.send_now(now=now, team_id=team_id, lead_id=lead_id)
        report = services.delivery.drain(now=now)
    print(
        f"queued {queued} digests (a lead gets one a day at most); sent {report.sent} "
        f"deliveries, {report.retried} to retry, {report.failed} failed",
        file=out,
    )
    return queued
