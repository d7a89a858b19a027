"""The WSGI application: Bolt on `POST /slack/events`, `GET /healthz` and `GET /metrics`, and
with OAuth Bolt's install pages, `GET /slack/install` and `GET /slack/oauth_redirect`."""

from __future__ import annotations

import binascii
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Protocol

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.oauth import OAuthFlow
from slack_sdk.signature import Clock, SignatureVerifier

from bot.services.logcontext import fresh_ids
from bot.services.replays import ReplayCheckUnavailable
from bot.slack.envelope import well_formed
from bot.slack.metering import RECEIVED
from bot.slack.probes import HealthCheck, Probes, Scrape

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

EVENTS_PATH = "/slack/events"
SIGNATURE_WINDOW = 300  # seconds, as Slack specifies (and SignatureVerifier enforces)
MAX_QUERY = 4096  # an install link's query (code, state) is a few hundred characters
MAX_BODY = 1_000_000  # Slack's payloads are far smaller; refuse anything bigger unread.

# What Slack sends, exactly: anything else is refused before it reaches int() or a comparison.
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_DIGITS = re.compile(r"[0-9]{1,12}")  # [0-9], not \d: int() would take other scripts' digits

log = logging.getLogger(__name__)

Refusal = tuple[str, str]
"""An HTTP status line and a short plain-text body."""


class Replays(Protocol):
    """Remembers what was accepted, across processes (bot.services.replays.ReplayGuard)."""

    def first_use(self, signature: str, timestamp: int) -> bool: ...

    def release(self, signature: str) -> None: ...


class SlackWsgiApp:
    """Checks the headers, then the signature, freshness and novelty, then the payload's shape,
    before Bolt sees a request.

    Headers are checked before the body is read: a request without a well-formed, fresh
    signature is a 401 whatever its body. The body is verified with slack_sdk's
    SignatureVerifier, and a signed request is accepted once (`Replays`). Bolt parses the body
    before verifying it, so a signed but malformed payload would raise inside the adapter; here
    it is a 400.
    """

    def __init__(
        self,
        app: App,
        *,
        signing_secret: str,
        health: HealthCheck,
        replays: Replays,
        clock: Callable[[], datetime] | None = None,
        oauth: OAuthFlow | None = None,
        metrics: Scrape | None = None,
    ) -> None:
        self._app = app
        self._oauth = oauth
        self._oauth_paths = (
            {oauth.install_path, oauth.redirect_uri_path} if oauth is not None else set()
        )
        self._probes = Probes(health=health, metrics=metrics)
        self._replays = replays
        self._now = clock or _utc_now
        self._verifier = SignatureVerifier(signing_secret, clock=_SecondsClock(self._now))

    def refuse_head(self, method: str, path: str, headers: Mapping[str, str]) -> Refusal | None:
        """Why a request is refused from its request line and (lower-cased) headers alone; None
        when its body is worth reading. The server asks this before it waits for a body."""
        return self._refuse(
            method,
            path,
            headers.get("content-length"),
            headers.get("x-slack-request-timestamp"),
            headers.get("x-slack-signature"),
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        received = time.perf_counter()
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE")
        refusal = self._refuse(method, path, environ.get("CONTENT_LENGTH"), timestamp, signature)
        if refusal is not None:
            return _plain(start_response, *refusal)
        if self._probes.serves(path):
            return self._probes(environ, start_response)
        if path in self._oauth_paths:
            return self._install(environ, start_response)
        assert timestamp is not None and signature is not None  # _refuse checked both
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return _plain(start_response, *_MALFORMED)
        if not self._verifier.is_valid(text, timestamp, signature):
            return _plain(start_response, *_UNSIGNED)
        try:
            if not self._replays.first_use(signature, int(timestamp)):
                log.warning("refused a signed request already accepted before (a replay)")
                return _plain(start_response, "401 Unauthorized", "Request already accepted")
        except ReplayCheckUnavailable as error:
            log.warning("cannot tell whether a request is a replay: %s", error)
            return _plain(start_response, "503 Service Unavailable", "Try again later")
        request = _parsed(text, environ)
        if request is None:
            log.warning("rejected a signed request whose payload does not parse")
            return _plain(start_response, *_MALFORMED)
        request.context[RECEIVED] = received  # an answer's acknowledgement is timed from here
        # The request parsed once here goes straight to Bolt (its WSGI adapter would parse again).
        with fresh_ids():
            response = self._app.dispatch(request)
        if response.status >= 500:
            self._release(signature)
        return _respond(start_response, response)

    def _install(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Bolt's OAuth flow: the install page (state issued, cookie set), then Slack's redirect
        back with a code, exchanged for the workspace's token and stored."""
        assert self._oauth is not None
        query = environ.get("QUERY_STRING", "")
        if len(query) > MAX_QUERY:
            return _plain(start_response, "414 URI Too Long", "URI Too Long")
        request = BoltRequest(body="", query=query, headers=_headers(environ))
        if environ.get("PATH_INFO") == self._oauth.install_path:
            response = self._oauth.handle_installation(request)
        else:
            response = self._oauth.handle_callback(request)
        return _respond(start_response, response)

    def _refuse(
        self,
        method: str,
        path: str,
        length: str | None,
        timestamp: str | None,
        signature: str | None,
    ) -> Refusal | None:
        if self._probes.serves(path) and method in ("GET", "HEAD"):
            return None
        if path in self._oauth_paths:
            if method != "GET":
                return "405 Method Not Allowed", "Use GET"
            return None
        if path != EVENTS_PATH:
            return "404 Not Found", "Not Found"
        if method != "POST":
            return "405 Method Not Allowed", "Use POST"
        return self._refuse_event(length, timestamp, signature)

    def _refuse_event(
        self, length: str | None, timestamp: str | None, signature: str | None
    ) -> Refusal | None:
        """A POST to the events path: a body of a size we take, signed and fresh."""
        if length and not _DIGITS.fullmatch(length):
            return "400 Bad Request", "Bad Content-Length"
        if length and int(length) > MAX_BODY:
            return "413 Payload Too Large", "Payload Too Large"
        if signature is None or not _SIGNATURE.fullmatch(signature):
            return _UNSIGNED
        if timestamp is None or not _DIGITS.fullmatch(timestamp):
            return _UNSIGNED
        if abs(self._now().timestamp() - int(timestamp)) > SIGNATURE_WINDOW:
            return _UNSIGNED
        return None

    def _release(self, signature: str) -> None:
        # A request that failed did not act: Slack retries it, perhaps within the same second
        # (the same signature), and that retry must be accepted.
        try:
            self._replays.release(signature)
        except ReplayCheckUnavailable as error:
            log.warning("cannot forget a failed request's signature: %s", error)


_UNSIGNED = ("401 Unauthorized", "Invalid signature")
_MALFORMED = ("400 Bad Request", "Malformed payload")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _SecondsClock(Clock):
    """SignatureVerifier's clock, reading the app's."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now().timestamp()


def _parsed(text: str, environ: WSGIEnvironment) -> BoltRequest | None:
    """Bolt's request for a verified body, or None when the payload does not parse.

    Interactive payloads (every click) are decoded here, where percent-decoding runs in C, and
    handed to Bolt already parsed: Bolt's own parser decodes them character group by character
    group in Python, which costs more than the rest of an acknowledged click. Bolt's mode for
    pre-parsed bodies is "socket_mode"; the only other thing that changes is that Bolt does not
    check the signature, which `SlackWsgiApp` has just done over the raw bytes.
    """
    headers = _headers(environ)
    content_type = environ.get("CONTENT_TYPE", "")
    headers["content-type"] = content_type
    headers["content-length"] = environ.get("CONTENT_LENGTH", "")
    query = environ.get("QUERY_STRING", "")
    try:
        payload = _interactive_payload(text, content_type)
        if payload is not None:
            request = BoltRequest(body=payload, query=query, headers=headers, mode="socket_mode")
        else:
            request = BoltRequest(body=text, query=query, headers=headers)
    except Exception:  # Bolt raises whatever json/urllib raise on a bad body
        return None
    body = request.body
    return request if isinstance(body, dict) and body and well_formed(body) else None


def _headers(environ: WSGIEnvironment) -> dict[str, str | Sequence[str]]:
    return {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }


def _respond(start_response: StartResponse, response: BoltResponse) -> Iterable[bytes]:
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
