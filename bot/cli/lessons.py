"""`microlearn lessons`: check, preview and import lessons; question statistics of a course."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from bot.config import Settings

from .exits import EXIT_FAILED, EXIT_OK


def add_parsers(commands: Any) -> None:
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
    stats = lesson_commands.add_parser(
        "stats", help="question analysis of a course: accuracy, option picks, discrimination"
    )
    stats.add_argument("course", help="the course id")
    stats.add_argument("--team", help="Slack team id, when the database serves several")
    check.set_defaults(handler=check_command)
    preview.set_defaults(handler=preview_command)
    importer.set_defaults(handler=import_command)
    stats.set_defaults(handler=_lessons_stats)


def _folder(settings: Settings, args: argparse.Namespace) -> Path:
    found: Path = (
        getattr(args, "folder", None) or getattr(args, "into", None) or settings.lessons_dir
    )
    return found


def check_command(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    return _lessons_check(_folder(settings, args), out, strict=args.strict)


def preview_command(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    return _lessons_preview(_folder(settings, args), args, out)


def import_command(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    return _lessons_import(_folder(settings, args), args, out)


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


def _lessons_stats(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    from bot import app

    try:
        lines = app.question_stats(settings, course_id=args.course, team_id=args.team)
    except app.StartupError as error:
        print(f"microlearn: {error}", file=sys.stderr)
        return EXIT_FAILED
    print("\n".join(lines), file=out)
    return EXIT_OK
