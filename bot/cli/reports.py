"""`microlearn digest` and `microlearn report`: leads' digests and a course's answers as CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from bot.config import Settings

from .exits import EXIT_FAILED, EXIT_OK


def add_parsers(commands: Any) -> None:
    digest = commands.add_parser(
        "digest", help="send leads their weekly digest now (all leads, or --lead)"
    )
    digest.add_argument("--lead", help="only this lead's digest (a Slack user id)")
    digest.add_argument("--team", help="Slack team id, when the database serves several")

    report = commands.add_parser("report", help="write a course's answers as CSV")
    report.add_argument("course", help="the course id")
    report.add_argument("--csv", type=Path, required=True, metavar="FILE", help="where to write")
    report.add_argument("--team", help="Slack team id, when the database serves several")
    digest.set_defaults(handler=_digest)
    report.set_defaults(handler=_report)


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
