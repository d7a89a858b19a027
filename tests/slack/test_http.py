"""The WSGI application in process: routing, health, and what reaches Bolt."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt.request.internals import parse_body

from bot import app, bolt_app
from bot.config import settings_from
from bot.domain.lesson import Catalog
from bot.slack.http import SlackWsgiApp, _parsed
from bot.storage.db import Database


def _call(wsgi: SlackWsgiApp, method: str, path: str, body: bytes = b"") -> tuple[str, bytes]:
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"] = status
        return lambda data: None

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "wsgi.input": io.BytesIO(body),
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    chunks: Iterable[bytes] = wsgi(environ, start_response)
    return captured["status"], b"".join(chunks)


@contextmanager
def _wsgi(database_url: str) -> Iterator[SlackWsgiApp]:
    settings = settings_from(
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "DATABASE_URL": database_url}
    )
    db = Database(settings.database_url)
    services = app.build_services(settings, db, Catalog())
    bolt = bolt_app.build_bolt_app(settings, services, token_verification_enabled=False)
    try:
        yield bolt_app.http_app(settings, db, bolt)
    finally:
        db.dispose()


def test_healthz_is_503_when_the_database_is_down_and_only_the_log_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with _wsgi("postgresql://nobody@127.0.0.1:9/secretdb") as wsgi:
        status, body = _call(wsgi, "GET", "/healthz")
    assert status == "503 Service Unavailable"
    assert json.loads(body) == {"status": "unavailable"}  # no host, port or database name
    logged = [r.getMessage() for r in caplog.records if r.name == "bot.slack.probes"]
    assert any("127.0.0.1" in line and "9" in line for line in logged), logged


def test_healthz_is_200_when_the_database_answers(database_url: str) -> None:
    with _wsgi(database_url) as wsgi:
        status, body = _call(wsgi, "GET", "/healthz")
    assert status == "200 OK"
    assert json.loads(body) == {"status": "ok", "database": "ok"}


def test_other_paths_and_methods(tmp_path: object) -> None:
    with _wsgi(f"sqlite:///{tmp_path}/x.db") as wsgi:
        assert _call(wsgi, "GET", "/")[0] == "404 Not Found"
        assert _call(wsgi, "GET", "/slack/events")[0] == "405 Method Not Allowed"
        assert _call(wsgi, "POST", "/slack/events", b"a=b")[0] == "401 Unauthorized"


def test_click_payloads_reach_bolt_exactly_as_bolt_would_parse_them() -> None:
    tricky = 'é€😀 "quotes" & ampersands = equals + plus % percent \\ back\nline\ttab _~.'
    payload = {
        "type": "block_actions",
        "user": {"id": "U1", "name": tricky},
        "actions": [{"action_id": "answer_1", "value": "12.3:1"}],
        "message": {"text": tricky, "blocks": [{"type": "section", "text": {"text": tricky}}]},
    }
    body = urlencode({"payload": json.dumps(payload)})
    environ = {"CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": "1"}
    request = _parsed(body, environ)
    assert request is not None
    assert request.body == parse_body(body, "application/x-www-form-urlencoded") == payload
    assert request.context.user_id == "U1"
    lowercase = body.replace("%C3%A9", "%c3%a9")  # hex digits in either case
    again = _parsed(lowercase, environ)
    assert again is not None and again.body == payload
