"""The signed-request layer: headers are checked before the body is read, signatures with
slack_sdk's SignatureVerifier on the app's clock, and nothing a stranger sends is a 500."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import urlencode

import pytest
from slack_bolt import Ack, App
from slack_bolt.authorization import AuthorizeResult

from tests.slack.signed import FORM, NOW, Untouchable, call, http_app, sign
from tests.support import databases

HELP = urlencode(
    {"command": "/learn", "text": "help", "user_id": "U1", "team_id": "T1", "channel_id": "D1"}
).encode()
STAMP = int(NOW.timestamp())


def _good() -> dict[str, str]:
    return sign(HELP)


@pytest.fixture
def unused_db(tmp_path: Path) -> str:
    """For requests refused before anything is stored: one database kind is enough."""
    return f"sqlite:///{tmp_path}/unused.db"


@pytest.fixture
def sqlite_url(_sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite database, for requests that are stored but not about storage."""
    return databases.copy_sqlite(_sqlite_template, tmp_path / "microlearn.db")


def test_a_request_signed_at_the_apps_clock_is_answered(database_url: str) -> None:
    with http_app(database_url) as wsgi:  # the wall clock is years away from NOW
        reply = call(wsgi, HELP, sign(HELP))
    assert reply.status == "200 OK"
    assert b"microlearn commands" in reply.body


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_SLACK_REQUEST_TIMESTAMP": str(STAMP)},
        {"HTTP_X_SLACK_SIGNATURE": _good()["HTTP_X_SLACK_SIGNATURE"]},
        {**_good(), "HTTP_X_SLACK_SIGNATURE": "v0=" + "é" * 64},
        {**_good(), "HTTP_X_SLACK_SIGNATURE": "v0=" + "\u0661" * 64},
        {**_good(), "HTTP_X_SLACK_SIGNATURE": _good()["HTTP_X_SLACK_SIGNATURE"].upper()},
        {**_good(), "HTTP_X_SLACK_SIGNATURE": "v1=" + _good()["HTTP_X_SLACK_SIGNATURE"][3:]},
        {**_good(), "HTTP_X_SLACK_SIGNATURE": _good()["HTTP_X_SLACK_SIGNATURE"][:-1]},
        {**_good(), "HTTP_X_SLACK_SIGNATURE": ""},
        {**_good(), "HTTP_X_SLACK_REQUEST_TIMESTAMP": "9" * 5000},
        {
            **_good(),
            "HTTP_X_SLACK_REQUEST_TIMESTAMP": "".join(chr(0x660 + int(d)) for d in str(STAMP)),
        },
        {**_good(), "HTTP_X_SLACK_REQUEST_TIMESTAMP": f" {STAMP}"},
        {**_good(), "HTTP_X_SLACK_REQUEST_TIMESTAMP": f"+{STAMP}"},
        {**_good(), "HTTP_X_SLACK_REQUEST_TIMESTAMP": "-1"},
        {**_good(), "HTTP_X_SLACK_REQUEST_TIMESTAMP": ""},
        sign(HELP, at=STAMP - 301),
        sign(HELP, at=STAMP + 301),
    ],
    ids=[
        "no-signature",
        "no-timestamp",
        "non-ascii-signature",
        "arabic-digit-signature",
        "uppercase-hex",
        "other-version",
        "short-signature",
        "empty-signature",
        "5000-digit-timestamp",
        "arabic-digit-timestamp",
        "spaced-timestamp",
        "signed-timestamp",
        "negative-timestamp",
        "empty-timestamp",
        "stale",
        "from-the-future",
    ],
)
def test_missing_garbled_or_stale_signature_headers_get_401_before_the_body_is_read(
    unused_db: str, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with http_app(unused_db) as wsgi:
        reply = call(wsgi, HELP, headers, stream=Untouchable())
    assert reply.status == "401 Unauthorized"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize(
    ("length", "status"),
    [
        ("abc", "400 Bad Request"),
        ("-1", "400 Bad Request"),
        ("1e3", "400 Bad Request"),
        ("\u0661\u0660", "400 Bad Request"),
        ("9" * 5000, "400 Bad Request"),
        ("1000001", "413 Payload Too Large"),
    ],
)
def test_a_bad_or_huge_content_length_is_refused_unread(
    unused_db: str, length: str, status: str
) -> None:
    with http_app(unused_db) as wsgi:
        reply = call(wsgi, HELP, {**_good(), "CONTENT_LENGTH": length}, stream=Untouchable())
    assert reply.status == status


def test_a_signed_body_that_is_not_utf8_is_a_400(database_url: str) -> None:
    body = b"payload=\xff\xfe"
    with http_app(database_url) as wsgi:
        assert call(wsgi, body, sign(body)).status == "400 Bad Request"


def test_a_body_changed_after_signing_is_a_401(database_url: str) -> None:
    changed = HELP.replace(b"help", b"hElp")
    with http_app(database_url) as wsgi:
        assert call(wsgi, changed, sign(HELP)).status == "401 Unauthorized"
        assert call(wsgi, HELP, sign(HELP, secret="another-app")).status == "401 Unauthorized"


def test_a_request_that_failed_is_accepted_again_when_slack_retries_it(database_url: str) -> None:
    """Slack may retry a failed request within the same second: the same signature."""
    calls: list[str] = []
    bolt = App(
        signing_secret="unused",
        authorize=lambda **_: AuthorizeResult(
            enterprise_id=None, team_id="T1", bot_token="xoxb-unused", bot_user_id="UB"
        ),
        request_verification_enabled=False,
        process_before_response=True,
    )

    @bolt.command("/learn")
    def fail_once(ack: Ack) -> None:
        calls.append("called")
        if len(calls) == 1:
            raise RuntimeError("a listener failed")
        ack("done")

    logging.getLogger("slack_bolt.App").disabled = True  # the failure is the test's own
    try:
        with http_app(database_url, bolt=bolt) as wsgi:
            headers = sign(HELP)
            first = call(wsgi, HELP, headers)
            second = call(wsgi, HELP, headers)
            third = call(wsgi, HELP, headers)
    finally:
        logging.getLogger("slack_bolt.App").disabled = False
    assert (first.code, second.code, third.code) == (500, 200, 401)
    assert len(calls) == 2


def test_when_the_database_cannot_tell_a_replay_the_answer_is_503(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with http_app("postgresql://nobody@127.0.0.1:9/none") as wsgi:
        reply = call(wsgi, HELP, sign(HELP))
    assert reply.status == "503 Service Unavailable"
    assert not [r for r in caplog.records if r.exc_info]


def test_health_and_routing_need_no_signature(unused_db: str) -> None:
    with http_app(unused_db) as wsgi:
        assert call(wsgi, b"", {}, method="GET", path="/").code == 404
        assert call(wsgi, b"", {}, method="GET", path="/slack/events").code == 405
        assert call(wsgi, b"", {}, method="POST", path="/healthz").code == 404
        assert call(wsgi, HELP, {}, content_type=FORM).code == 401


@pytest.mark.parametrize(
    "payload",
    [
        {"view": None},
        {"type": "view_submission", "view": []},
        {"type": "block_actions", "actions": [1]},
        {"type": "block_actions", "actions": []},
        {"type": "block_actions", "actions": [{"action_id": ["answer_1"]}]},
        {"type": "block_actions", "user": [], "actions": [{"action_id": "x"}]},
        {"type": "shortcut", "callback_id": {}},
        {"type": ["block_actions"]},
    ],
)
def test_a_signed_payload_bolt_cannot_route_is_a_400_not_a_500(
    sqlite_url: str, payload: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    with http_app(sqlite_url) as wsgi:
        reply = call(wsgi, body, sign(body))
    assert reply.status == "400 Bad Request"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize(
    "envelope",
    [
        {"type": "event_callback", "event": "message"},
        {"type": "event_callback", "event": {"type": 3}},
        {"type": "event_callback", "event": {"type": "message", "message": "hi"}},
        {"type": "event_callback", "authorizations": "T1", "event": {"type": "message"}},
    ],
)
def test_a_signed_event_bolt_cannot_route_is_a_400_not_a_500(
    sqlite_url: str, envelope: dict[str, object]
) -> None:
    body = json.dumps(envelope).encode()
    with http_app(sqlite_url) as wsgi:
        reply = call(wsgi, body, sign(body), content_type="application/json")
    assert reply.status == "400 Bad Request"
