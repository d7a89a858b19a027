"""`microlearn forget` and `microlearn export-person`: a person's data erased or exported."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, TextIO

from bot.config import Settings

from .exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE

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


def add_parsers(commands: Any) -> None:
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
    forget.set_defaults(handler=_people_data)
    export.set_defaults(handler=_people_data)


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
