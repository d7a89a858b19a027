"""The WSGI application: Bolt on `POST /slack/events`, and `GET /healthz`."""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING

from slack_bolt import App, BoltRequest

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
SIGNATURE_WINDOW = 300  # seconds, as Slack specifies
MAX_BODY = 1_000_000  # Slack's payloads are far smaller; refuse anything bigger unread.

log = logging.getLogger(__name__)

HealthCheck = Callable[[], dict[str, str]]
"""Returns component → "ok" or a short reason it is not."""


class SlackWsgiApp:
    """Checks the signature and the payload's shape before Bolt sees a request.

    Bolt parses the body before verifying it, so a signed but malformed payload would raise inside
    the adapter; here it is a 400, and an unsigned one a 401 whatever its shape.
    """

    def __init__(self, app: App, *, signing_secret: str, health: HealthCheck) -> None:
        self._app = app
        self._secret = signing_secret.encode()
        self._health = health

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            return self._healthz(start_response)
        if path != EVENTS_PATH:
            return _plain(start_response, "404 Not Found", "Not Found")
        if method != "POST":
            return _plain(start_response, "405 Method Not Allowed", "Use POST")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _plain(start_response, "400 Bad Request", "Bad Content-Length")
        if length > MAX_BODY:
            return _plain(start_response, "413 Payload Too Large", "Payload Too Large")
        body = environ["wsgi.input"].read(length) if length else b""
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        if not self._signed(body, timestamp, signature):
            return _plain(start_response, "401 Unauthorized", "Invalid signature")
        request = _parsed(body, environ)
        if request is None:
            log.warning("rejected a signed request whose payload does not parse")
            return _plain(start_response, "400 Bad Request", "Malformed payload")
        # The request parsed once here goes straight to Bolt (its WSGI adapter would parse again).
        response = self._app.dispatch(request)
        payload = response.body.encode("utf-8")
        headers = [
            (name, value)
            for name, values in response.headers.items()
            if name.lower() != "content-length"
            for value in values
        ]
        headers.append(("Content-Length", str(len(payload))))
        start_response(_status_line(response.status), headers)
        return [payload]

    def _signed(self, body: bytes, timestamp: str, signature: str) -> bool:
        """Slack's v0 signature over the raw bytes, within five minutes of now."""
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW:
            return False
        base = b"v0:" + timestamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    def _healthz(self, start_response: StartResponse) -> Iterable[bytes]:
        checks = self._health()
        healthy = all(value == "ok" for value in checks.values())
        body = json.dumps({"status": "ok" if healthy else "unavailable", **checks}).encode()
        status = "200 OK" if healthy else "503 Service Unavailable"
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]


def _parsed(body: bytes, environ: WSGIEnvironment) -> BoltRequest | None:
    """Bolt's request for a signed body, or None when the payload does not parse.

    Interactive payloads (every click) are decoded here, where percent-decoding runs in C, and
    handed to Bolt already parsed: Bolt's own parser decodes them character group by character
    group in Python, which costs more than the rest of an acknowledged click. Bolt's mode for
    pre-parsed bodies is "socket_mode"; the only other thing that changes is that Bolt does not
    check the signature a second time, which `SlackWsgiApp` has just done over the raw bytes.
    """
    headers: dict[str, str | Sequence[str]] = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    content_type = environ.get("CONTENT_TYPE", "")
    headers["content-type"] = content_type
    headers["content-length"] = environ.get("CONTENT_LENGTH", "")
    query = environ.get("QUERY_STRING", "")
    try:
        text = body.decode("utf-8")
        payload = _interactive_payload(text, content_type)
        if payload is not None:
            request = BoltRequest(body=payload, query=query, headers=headers, mode="socket_mode")
        else:
            request = BoltRequest(body=text, query=query, headers=headers)
    except Exception:  # Bolt raises whatever json/urllib raise on a bad body
        return None
    return request if isinstance(request.body, dict) and request.body else None


def _interactive_payload(text: str, content_type: str) -> dict[str, object] | None:
    """The JSON of a form body that is exactly `payload=…`; None for any other body."""
    if not (text.startswith("payload=") and content_type.startswith(_FORM)):
        return None
    encoded = text[len("payload=") :]
    if any(mark in encoded for mark in _NOT_PLAIN):
        return None  # not what Slack sends: let Bolt's parser decide
    # Quoted-printable's "=XX" is percent-encoding's "%XX"; binascii decodes it in C.
    decoded = binascii.a2b_qp(encoded.replace("+", " ").replace("%", "=")).decode("utf-8")
    payload = json.loads(decoded)
    return payload if isinstance(payload, dict) else None


_FORM = "application/x-www-form-urlencoded"
_NOT_PLAIN = ("&", "=", "\r", "\n")


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def _plain(start_response: StartResponse, status: str, text: str) -> Iterable[bytes]:
    body = text.encode()
    start_response(
        status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    )
    return [body]
