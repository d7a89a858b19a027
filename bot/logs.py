"""Log set-up for every command: human text (default) or one JSON object per line.

JSON lines carry `time`, `level`, `logger`, `message`, and the ids of what the line is about
(`team_id`, `user_id`, `drip_id`, `delivery_id`, bound by bot.services.logcontext) where known.
Either way, nothing secret leaves: Slack tokens and the configured secrets are masked in every
line, and the Slack libraries' DEBUG output (which holds whole request and response bodies, so
message texts and answers) stays off even at MICROLEARN_LOG_LEVEL=DEBUG.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from bot.services.logcontext import FIELDS, current

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "[redacted]"

# Slack tokens of every kind (bot, user, app-level, refresh, configuration) and webhook paths.
_TOKENS = re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]+|hooks\.slack\.com/\S+")
# The password in a URL's credentials (DATABASE_URL in a driver's message): scheme://user:…@
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]+@")

# Their DEBUG lines are whole HTTP bodies and WebSocket frames: message texts, answers, and
# (in slack_sdk's OAuth flow) secrets. Our Socket Mode handler logs through the last one.
BODY_LOGGERS = ("slack_sdk", "slack_bolt", "microlearn.socket_mode", "websockets", "urllib3")
# A trace of their parsers and font caches, not of the bot: thousands of lines per start.
TRACE_LOGGERS = ("markdown_it", "matplotlib", "PIL", "fsrs")


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler configure_logging installs (told apart from anyone else's)."""


class Ids(logging.Filter):
    """Copies the bound ids into each record (an id given with `extra=` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in current().items():
            if key in FIELDS and not hasattr(record, key):
                setattr(record, key, value)
        return True


class Masked(logging.Formatter):
    """Formats with `inner`, then masks tokens and secrets in the whole line (tracebacks too)."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self._inner = inner
        # Short values would mask ordinary words; Slack's secrets are long.
        self._secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        return mask(self._inner.format(record), self._secrets)


def mask(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    return _URL_PASSWORD.sub(rf"\g<1>{MASK}@", _TOKENS.sub(MASK, text))


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
        json_ensure_ascii=False,
    )


def configure_logging(
    *, level: str, fmt: str, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> None:
    """Route every logger (gunicorn's too, see bot.server) to one stderr handler.

    As logging.basicConfig does, a process whose logging is set up already (a test runner, a
    program embedding microlearn) keeps its handlers; only the libraries' levels are set.
    """
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, _Handler)]
    if ours or not root.handlers:
        for old in ours:
            root.removeHandler(old)
        handler = _Handler(stream or sys.stderr)
        inner = json_formatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)
        handler.setFormatter(Masked(inner, secrets))
        handler.addFilter(Ids())
        root.addHandler(handler)
        root.setLevel(level)
    for name in (*BODY_LOGGERS, *TRACE_LOGGERS):
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLevelName(level)))
    if level != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)
        # Two lines per run of every job (the tick, the 5-second upkeep): the tick logs its own
        # one-line summary when something was sent or failed.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)


class ContextThreadPool(ThreadPoolExecutor):
    """Runs each task in a copy of the submitter's context: a listener's log lines carry the
    ids its request bound (bot.services.logcontext)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)
