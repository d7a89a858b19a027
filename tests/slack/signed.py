"""The HTTP app in process, on a clock the test sets, and requests signed the way Slack signs."""

from __future__ import annotations

import hashlib
import hmac
import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt import App

from bot import app, bolt_app
from bot.config import settings_from
from bot.domain.lesson import Catalog
from bot.slack.http import SlackWsgiApp
from bot.storage.db import Database
from tests.standin import SlackStandIn

# Far from the wall clock: only the app's own clock decides what is fresh.
NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
SECRET = "in-process-signing-secret"
FORM = "application/x-www-form-urlencoded"


def sign(body: bytes, at: int | None = None, secret: str = SECRET) -> dict[str, str]:
    """X-Slack-Request-Timestamp and X-Slack-Signature, as WSGI environ keys."""
    stamp = str(int(NOW.timestamp()) if at is None else at)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    return {
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": stamp,
        "HTTP_X_SLACK_SIGNATURE": "v0=" + digest.hexdigest(),
    }


class Untouchable:
    """A request body that must not be read: the headers alone decide."""

    def read(self, *_args: object) -> bytes:
        raise AssertionError("the body was read before the headers were checked")


@dataclass
class Reply:
    status: str
    body: bytes

    @property
    def code(self) -> int:
        return int(self.status.split(" ", 1)[0])


def call(
    wsgi: SlackWsgiApp,
    body: bytes,
    environ: Mapping[str, str],
    *,
    content_type: str = FORM,
    stream: Any = None,
    method: str = "POST",
    path: str = "/slack/events",
) -> Reply:
    """One request, as a WSGI server hands it over (header values are latin-1 strings)."""
    captured: list[str] = []
    full: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": content_type,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(body) if stream is None else stream,
        **environ,
    }

    def start_response(status: str, _headers: Any, _exc: Any = None) -> Any:
        captured.append(status)
        return lambda _data: None

    chunks = b"".join(wsgi(full, start_response))
    return Reply(captured[0], chunks)


@contextmanager
def http_app(database_url: str, *, bolt: App | None = None) -> Iterator[SlackWsgiApp]:
    """microlearn's WSGI app (as `serve --http` builds it) against the Slack stand-in."""
    with SlackStandIn() as standin:
        settings = settings_from(
            {
                "SLACK_BOT_TOKEN": standin.bot_token,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": standin.api_url,
                "DATABASE_URL": database_url,
            }
        )
        db = Database(database_url)
        try:
            if bolt is None:
                services = app.build_services(settings, db, Catalog(), clock=lambda: NOW)
                bolt = bolt_app.build_bolt_app(
                    settings,
                    services,
                    process_before_response=True,
                    token_verification_enabled=False,
                )
            yield bolt_app.http_app(settings, db, bolt, clock=lambda: NOW)
        finally:
            db.dispose()
