"""The `microlearn` command: its parser, and the dispatch to one module per group of commands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TextIO

from bot.config import ConfigError, Settings, load_settings

from . import lessons, operations, people, reports, serving
from .exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]


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

    for group in (serving, lessons, operations, reports, people):
        group.add_parsers(commands)
    return parser


@cache
def _parser() -> argparse.ArgumentParser:
    """The parser, built once per process (4 ms of CPU each time): parsing leaves it as it was,
    so the commands run in one process (the tests run thousands) share it."""
    return build_parser()


@cache
def _version() -> str:
    try:
        return metadata.version("microlearn")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(out)
        return EXIT_USAGE
    try:
        settings = load_settings(os.environ, env_file=args.env_file)
    except ConfigError as error:
        print(f"microlearn: {error}", file=sys.stderr)
        return EXIT_USAGE
    # Here, not at the top: `--version`, `--help` and a malformed setting answer without the
    # JSON formatter. (bot.logs no longer brings in the services and storage: bot.services
    # names its use cases for type checking only, so a command imports just what it runs.)
    from bot.logs import configure_logging

    configure_logging(level=settings.log_level, fmt=settings.log_format, secrets=_secrets(settings))
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.error(f"unknown command {args.command}")
    code: int = handler(settings, args, out)
    return code


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
