"""The `microlearn` command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.config import ConfigError, Settings, load_settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


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
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="connect to Slack and serve (Socket Mode or --http)")
    serve.add_argument("--http", action="store_true", help="serve Slack's requests over HTTP")
    serve.add_argument("--host", default="0.0.0.0", help="HTTP bind address (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    serve.add_argument("--workers", type=int, default=2, help="HTTP worker processes (default 2)")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_commands.add_parser("upgrade", help="apply pending migrations")
    return parser


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
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if settings.log_level != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.command == "serve":
        return _serve(settings, args, out)
    if args.command == "db":
        return _db_upgrade(settings, out)
    parser.error(f"unknown command {args.command}")


def _serve(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    from bot import app

    missing = app.missing_credentials(settings, http=args.http)
    if missing:
        print(app.credentials_guide(missing, http=args.http), file=sys.stderr)
        return EXIT_FAILED
    try:
        app.serve(
            settings, http=args.http, host=args.host, port=args.port, workers=args.workers, out=out
        )
    except app.StartupError as error:
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
