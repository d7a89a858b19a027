"""The `microlearn` command."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

from bot import metricsdir
from bot.config import ConfigError, Settings, load_settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,31}")
SLACK_TEAM = re.compile(r"[TE][A-Z0-9]{2,31}")
FORGET_HELP = """\
Deletes everything stored about one person, in one transaction: their profile, lead role,
enrolments, deliveries to their DM, answers, completions, review cards, discussion replies and
the drip targets naming them (and a drip that was theirs alone). Where rows of others name them
(drips they created, people they enrolled, roles they granted, messages mentioning them), their
id is cleared. It cannot be undone: first save what is stored with
`microlearn export-person USER_ID --out FILE` if they asked for a copy.

Slack keeps its own copies of the messages the bot sent; remove those in Slack."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="microlearn",
        description="Self-hosted Slack microlearning: lessons, quizzes, drips and reports.",
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        default=Path(".env"),
        help="read settings from this file too; the environment wins (default: .env)",
    )
    parser.add_argument("--version", action="version", version=f"microlearn {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="connect to Slack and serve (Socket Mode or --http)")
    serve.add_argument("--http", action="store_true", help="serve Slack's requests over HTTP")
    serve.add_argument("--host", default="0.0.0.0", help="HTTP bind address (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    serve.add_argument("--workers", type=int, default=2, help="HTTP worker processes (default 2)")
    serve.add_argument(
        "--health-port",
        type=int,
        metavar="N",
        help="Socket Mode: serve /healthz and /metrics on port N (default MICROLEARN_HTTP_PORT)",
    )
    serve.add_argument(
        "--sandbox-without-credentials",
        action="store_true",
        help="with no Slack credentials at all, start the sandbox instead (what `make run` does)",
    )

    sandbox = commands.add_parser(
        "sandbox", help="try it without Slack: the bot and a local Slack in your browser"
    )
    sandbox.add_argument(
        "--port", type=int, help="the page's port on 127.0.0.1 (default MICROLEARN_SANDBOX_PORT)"
    )
    sandbox.add_argument(
        "--lessons", type=Path, help="a lessons folder to serve and reload as you edit it"
    )

    lessons = commands.add_parser("lessons", help="check, preview and import lessons")
    lesson_commands = lessons.add_subparsers(
        dest="lessons_command", metavar="ACTION", required=True
    )
    check = lesson_commands.add_parser(
        "check", help="report every problem in a lessons folder as path:line: message"
    )
    check.add_argument("folder", nargs="?", type=Path, help="default: LESSONS_DIR")
    check.add_argument(
        "--strict",
        action="store_true",
        help="fail (exit 1) on warnings about giveaway cues too, not only on problems",
    )
    preview = lesson_commands.add_parser(
        "preview",
        help="print the Slack messages of one lesson as JSON, with Block Kit Builder links",
    )
    preview.add_argument("lesson", help="<course-id>/<lesson-id>, or a lesson id that is unique")
    preview.add_argument("--learner-name", default="Alex", help="first name to fill in")
    preview.add_argument("--folder", type=Path, help="default: LESSONS_DIR")
    preview.add_argument("--no-links", action="store_true", help="print only the JSON")
    importer = lesson_commands.add_parser(
        "import", help="turn a GIFT, Aiken or CSV question bank into a course folder"
    )
    importer.add_argument("file", type=Path)
    importer.add_argument("--format", required=True, choices=("gift", "aiken", "csv"))
    importer.add_argument("--course", required=True, help="the new course id, [a-z0-9-]+")
    importer.add_argument("--title", help="course title (default: from the course id)")
    importer.add_argument("--into", type=Path, help="folder to write into (default: LESSONS_DIR)")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_commands.add_parser("upgrade", help="apply pending migrations")
    backup = db_commands.add_parser(
        "backup", help="copy the SQLite database to FILE while the bot runs (PostgreSQL: pg_dump)"
    )
    backup.add_argument("file", type=Path, metavar="FILE", help="the copy to write")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")

    commands.add_parser(
        "deliver-due", help="plan and send what is due now, once (for cron instead of the tick)"
    )

    stats = lesson_commands.add_parser(
        "stats", help="question analysis of a course: accuracy, option picks, discrimination"
    )
    stats.add_argument("course", help="the course id")
    stats.add_argument("--team", help="Slack team id, when the database serves several")

    digest = commands.add_parser(
        "digest", help="send leads their weekly digest now (all leads, or --lead)"
    )
    digest.add_argument("--lead", help="only this lead's digest (a Slack user id)")
    digest.add_argument("--team", help="Slack team id, when the database serves several")

    report = commands.add_parser("report", help="write a course's answers as CSV")
    report.add_argument("course", help="the course id")
    report.add_argument("--csv", type=Path, required=True, metavar="FILE", help="where to write")
    report.add_argument("--team", help="Slack team id, when the database serves several")

    forget = commands.add_parser(
        "forget",
        help="delete everything stored about a person (export-person first)",
        description=FORGET_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    forget.add_argument("user_id", metavar="USER_ID", help="their Slack member id, like U012ABCDEF")
    forget.add_argument("--team", help="Slack team id, when the id is stored in several")
    export = commands.add_parser(
        "export-person", help="write everything stored about a person as JSON"
    )
    export.add_argument("user_id", metavar="USER_ID", help="their Slack member id, like U012ABCDEF")
    export.add_argument("--team", help="Slack team id, when the id is stored in several")
    export.add_argument(
        "--out", type=Path, metavar="FILE", help="write the JSON here (default: standard output)"
    )
    return parser


def _version() -> str:
    try:
        return metadata.version("microlearn")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(out)
        return EXIT_USAGE
    try:
        settings = load_settings(os.environ, env_file=args.env_file)
    except ConfigError as error:
        print(f"microlearn: {error}", file=sys.stderr)
        return EXIT_USAGE
    # Here, not at the top: bot.logs brings in the services and storage, and `--version`,
    # `--help` and a malformed setting answer without them.
    from bot.logs import configure_logging

    configure_logging(level=settings.log_level, fmt=settings.log_format, secrets=_secrets(settings))
    if args.command == "serve":
        if args.sandbox_without_credentials and not args.http and _no_credentials(settings):
            return _sandbox(settings, port=None, lessons=None, out=out)
        return _serve(settings, args, out)
    if args.command == "sandbox":
        return _sandbox(settings, port=args.port, lessons=args.lessons, out=out)
    if args.command == "db":
        if args.db_command == "backup":
            return _db_backup(settings, args, out)
        return _db_upgrade(settings, out)
    if args.command == "deliver-due":
        return _deliver_due(settings, out)
    if args.command == "report":
        return _report(settings, args, out)
    if args.command in ("forget", "export-person"):
        return _people_data(settings, args, out)
    if args.command == "digest":
        return _digest(settings, args, out)
    if args.command == "lessons":
        folder = (
            getattr(args, "folder", None) or getattr(args, "into", None) or settings.lessons_dir
        )
        if args.lessons_command == "check":
            return _lessons_check(folder, out, strict=args.strict)
        if args.lessons_command == "preview":
            return _lessons_preview(folder, args, out)
        if args.lessons_command == "stats":
            return _lessons_stats(settings, args, out)
        return _lessons_import(folder, args, out)
    parser.error(f"unknown command {args.command}")


def _secrets(settings: Settings) -> list[str]:
    """What no log line may show: the tokens and the signing secret (bot.logs also masks any
    token by its shape, and the password of any URL, DATABASE_URL's included)."""
    return [
        value
        for value in (
            settings.slack_bot_token,
            settings.slack_app_token,
            settings.slack_signing_secret,
        )
        if value
    ]


def _serve(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    health_port = args.health_port or settings.http_port
    if health_port is not None and not 1 <= health_port <= 65535:
        print(
            f"microlearn: --health-port must be a TCP port, 1–65535, got {health_port}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.http or os.environ.get(metricsdir.VARIABLE):
        # Before bot.app imports prometheus_client: it picks file-backed samples at import.
        try:
            with metricsdir.multiprocess_dir(os.environ) as directory:
                return _serve_app(settings, args, out, health_port, directory)
        except metricsdir.MetricsDirError as error:
            print(f"microlearn: {error}", file=sys.stderr)
            return EXIT_USAGE
    return _serve_app(settings, args, out, health_port, None)


def _serve_app(
    settings: Settings,
    args: argparse.Namespace,
    out: TextIO,
    health_port: int | None,
    metrics_dir: Path | None,
) -> int:
    from bot import app

    if settings.oauth and not args.http:
        print(f"microlearn: {app.OAUTH_NEEDS_HTTP}", file=sys.stderr)
        return EXIT_USAGE
    missing = app.missing_credentials(settings, http=args.http)
    if missing:
        print(app.credentials_guide(missing, http=args.http), file=sys.stderr)
        return EXIT_FAILED
    try:
        app.serve(
            settings,
            http=args.http,
            host=args.host,
            port=args.port,
            workers=args.workers,
            out=out,
            metrics_dir=metrics_dir,
            health_port=health_port,
        )
    except app.StartupError as error:
        for problem in getattr(error, "problems", ()):
            print(problem, file=sys.stderr)
        print(f"microlearn: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _no_credentials(settings: Settings) -> bool:
    return not (
        settings.slack_bot_token
        or settings.slack_app_token
        or settings.slack_signing_secret
        or settings.oauth
    )


def _sandbox(settings: Settings, *, port: int | None, lessons: Path | None, out: TextIO) -> int:
    from bot.sandbox.run import SandboxError, run_sandbox

    try:
        run_sandbox(
            settings,
            port=port or settings.sandbox_port,
            lessons=lessons or settings.lessons_dir,
            folder=Path.cwd(),
            out=out,
        )
    except SandboxError as error:
        print(f"microlearn: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _lessons_check(folder: Path, out: TextIO, *, strict: bool) -> int:
    from bot import app

    result = app.check_content(folder)
    for line in (*result.problems, *result.warnings):
        print(line, file=out)
    if result.problems:
        count = len(result.problems)
        print(f"{count} problem{'s' if count != 1 else ''} in {folder}", file=sys.stderr)
        return EXIT_FAILED
    warned = len(result.warnings)
    warnings = f"{warned} warning{'s' if warned != 1 else ''}"
    if strict and warned:
        print(f"{warnings} in {folder} (--strict fails on warnings)", file=sys.stderr)
        return EXIT_FAILED
    print(f"{folder}: {result.summary()}, no problems{', ' + warnings if warned else ''}", file=out)
    return EXIT_OK


def _lessons_preview(folder: Path, args: argparse.Namespace, out: TextIO) -> int:
    import json

    from bot import app
    from bot.slack import render

    result = app.check_content(folder)
    found = result.catalog.find_lessons(args.lesson)
    if len(found) != 1:
        if result.problems:
            print("\n".join(result.problems), file=sys.stderr)
        reason = "is ambiguous: add the course id" if found else "was not found"
        print(f"microlearn: lesson {args.lesson!r} {reason} in {folder}", file=sys.stderr)
        return EXIT_FAILED
    lesson = found[0]
    course = result.catalog.course(lesson.course_id)
    assert course is not None
    try:
        messages = render.preview(lesson, course, first_name=args.learner_name)
    except Exception as error:  # what `lessons check` reports as this lesson's problems
        where = f"{lesson.source.path}:" if lesson.source else lesson.key
        mine = [problem for problem in result.problems if problem.startswith(where)]
        print("\n".join(mine) or f"{where} cannot render: {error}", file=sys.stderr)
        return EXIT_FAILED
    document = {"lesson": lesson.key, "learner_name": args.learner_name, "messages": messages}
    print(json.dumps(document, indent=2, ensure_ascii=False), file=out)
    if not args.no_links:
        print("\nBlock Kit Builder:", file=out)
        for number, message in enumerate(messages, start=1):
            print(f"{number}. {message['kind']}: {render.builder_link(message)}", file=out)
    return EXIT_OK


def _lessons_import(folder: Path, args: argparse.Namespace, out: TextIO) -> int:
    from bot.content.importers import BankError, import_bank

    try:
        report = import_bank(
            args.file, fmt=args.format, course_id=args.course, into=folder, title=args.title
        )
    except (BankError, ValueError) as error:
        print(
            f"microlearn: {error}" if isinstance(error, ValueError) else str(error), file=sys.stderr
        )
        return EXIT_FAILED
    for line in report.summary_lines():
        print(line, file=out)
    return EXIT_OK


def _deliver_due(settings: Settings, out: TextIO) -> int:
    from bot import app

    if not (settings.slack_bot_token or settings.oauth):  # with OAuth: the installs' tokens
        print("microlearn: deliver-due needs SLACK_BOT_TOKEN (see .env.example)", file=sys.stderr)
        return EXIT_FAILED
    try:
        app.deliver_due(settings, out=out)
    except app.StartupError as error:
        for problem in getattr(error, "problems", ()):
            print(problem, file=sys.stderr)
        print(f"microlearn: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _report(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    from bot import app

    try:
        rows, course = app.export_answers(settings, course_id=args.course, team_id=args.team)
    except app.StartupError as error:
        print(f"microlearn: {error}", file=sys.stderr)
        return EXIT_FAILED
    try:
        args.csv.write_bytes(course)
    except OSError as error:
        print(f"microlearn: cannot write {args.csv}: {error.strerror}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {rows} answers of {args.course} to {args.csv}", file=out)
    return EXIT_OK


def _lessons_stats(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    from bot import app

    try:
        lines = app.question_stats(settings, course_id=args.course, team_id=args.team)
    except app.StartupError as error:
        print(f"microlearn: {error}", file=sys.stderr)
        return EXIT_FAILED
    print("\n".join(lines), file=out)
    return EXIT_OK


def _digest(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    from bot import app

    try:
        app.send_digests(settings, lead_id=args.lead, team_id=args.team, out=out)
    except app.StartupError as error:
        for problem in getattr(error, "problems", ()):
            print(problem, file=sys.stderr)
        print(f"microlearn: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _db_upgrade(settings: Settings, out: TextIO) -> int:
    from bot import app

    db = app.open_database(settings)
    try:
        before, after = app.upgrade_database(db)
    except app.StartupError as error:
        print(f"microlearn: {error}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        db.dispose()
    if before == after:
        print(f"database already at {after}", file=out)
    else:
        print(f"database migrated {before or 'empty'} → {after}", file=out)
    return EXIT_OK


def _db_backup(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    from bot.storage.backup import BackupRefused, backup

    try:
        copied = backup(settings.database_url, args.file, force=args.force)
    except BackupRefused as error:
        # Exit 1, not 2: the command was used right; this database cannot be copied by it
        # (PostgreSQL has pg_dump) or the copy failed, and a cron job must see either.
        print(f"microlearn: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(copied.summary(), file=out)
    return EXIT_OK


def _people_data(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    from bot import app
    from bot.scheduler import utc_now

    wrong = _person_arguments(args)
    if wrong:
        print(f"microlearn {args.command}: {wrong}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with app.people_data(settings) as privacy:
            teams = privacy.teams_of(args.user_id)
            where = f" in {args.team}" if args.team else ""
            if not teams or (args.team and args.team not in teams):
                print(
                    f"microlearn: nothing is stored about {args.user_id}{where}: already "
                    "forgotten, or never here",
                    file=sys.stderr,
                )
                return EXIT_FAILED
            if args.team is None and len(teams) > 1:
                print(
                    f"microlearn: {args.user_id} is stored in several workspaces "
                    f"({', '.join(teams)}): choose one with --team",
                    file=sys.stderr,
                )
                return EXIT_USAGE
            team = args.team or teams[0]
            if args.command == "export-person":
                document = privacy.export(team_id=team, user_id=args.user_id, now=utc_now())
                return _write_export(document, args.out, out)
            forgotten = privacy.forget(team_id=team, user_id=args.user_id)
    except app.StartupError as error:
        print(f"microlearn: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"forgot {args.user_id} in {team}, in one transaction:", file=out)
    for kind, count in forgotten.removed:
        print(f"  {kind}: {count} deleted", file=out)
    for kind, count in forgotten.cleared:
        print(f"  {kind}: {count} cleared of their id", file=out)
    return EXIT_OK


def _person_arguments(args: argparse.Namespace) -> str | None:
    if not SLACK_USER.fullmatch(args.user_id):
        return (
            f"USER_ID must be a Slack member id like U012ABCDEF, got {args.user_id!r} "
            "(in Slack: their profile → ⋮ → Copy member ID)"
        )
    if args.team is not None and not SLACK_TEAM.fullmatch(args.team):
        return f"--team must be a Slack team id like T012ABCDEF, got {args.team!r}"
    return None


def _write_export(document: dict[str, Any], target: Path | None, out: TextIO) -> int:
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    if target is None:
        out.write(text)
        return EXIT_OK
    try:
        # Only its owner may read it: it is one person's data.
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as error:
        print(f"microlearn: cannot write {target}: {error.strerror}", file=sys.stderr)
        return EXIT_FAILED
    rows = sum(len(found) for found in document["rows"].values())
    print(f"wrote {rows} rows about {document['user_id']} to {target}", file=sys.stderr)
    return EXIT_OK
