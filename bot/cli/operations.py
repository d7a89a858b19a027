"""`microlearn db upgrade|backup` and `microlearn deliver-due`: running the bot's database."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from bot.config import Settings

from .exits import EXIT_FAILED, EXIT_OK


def add_parsers(commands: Any) -> None:
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = db_commands.add_parser("upgrade", help="apply pending migrations")
    backup = db_commands.add_parser(
        "backup", help="copy the SQLite database to FILE while the bot runs (PostgreSQL: pg_dump)"
    )
    backup.add_argument("file", type=Path, metavar="FILE", help="the copy to write")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")

    deliver_due = commands.add_parser(
        "deliver-due", help="plan and send what is due now, once (for cron instead of the tick)"
    )
    upgrade.set_defaults(handler=upgrade_command)
    backup.set_defaults(handler=_db_backup)
    deliver_due.set_defaults(handler=deliver_due_command)


def upgrade_command(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    return _db_upgrade(settings, out)


def deliver_due_command(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    return _deliver_due(settings, out)


def _db_upgrade(settings: Settings, out: TextIO) -> int:
    # Storage alone: migrating needs neither Slack nor the use cases, and the job that migrates
    # before the servers start imports about a second of CPU less (measured) than the whole app.
    from bot.storage import migrate
    from bot.storage.db import Database, StorageUnavailable

    db = Database(settings.database_url)
    try:
        before, after = migrate.upgrade(db)
    except StorageUnavailable as error:
        print(f"microlearn: {migrate.cannot_migrate(error)}", file=sys.stderr)
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


def _deliver_due(settings: Settings, out: TextIO) -> int:
    from bot import operations, preflight

    if not (settings.slack_bot_token or settings.oauth):  # with OAuth: the installs' tokens
        print("microlearn: deliver-due needs SLACK_BOT_TOKEN (see .env.example)", file=sys.stderr)
        return EXIT_FAILED
    try:
        operations.deliver_due(settings, out=out)
    except preflight.StartupError as error:
        for problem in getattr(error, "problems", ()):
            print(problem, file=sys.stderr)
        print(f"microlearn: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
