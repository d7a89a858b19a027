"""Delivering to the app as Slack does: signed HTTP requests or Socket Mode envelopes; events."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from .server import JSON, SlackStandIn

VERIFICATION_TOKEN = "standin-verification-token"
_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


@dataclass
class DriverResponse:
    """What the app answered: HTTP status/headers/body, or the Socket Mode ack payload."""

    status: int
    headers: dict[str, str]
    body: str
    request: JSON = field(default_factory=dict)
    event_id: str | None = None
    ack: JSON | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def payload(self) -> JSON:
        """The body as a message/response dict: JSON, or ``{"text": body}`` for plain text."""
        if not self.body:
            return {}
        try:
            decoded = json.loads(self.body)
        except ValueError:
            return {"text": self.body}
        return decoded if isinstance(decoded, dict) else {"text": self.body}


@functools.cache
def _opener() -> urllib.request.OpenerDirector:
    """One opener for every driver of the process (building one builds a dozen handlers); it
    keeps no state between requests, and ignores any proxy set in the environment."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


class SlackDelivery:
    """Sends the app what Slack sends, over HTTP (signed) or Socket Mode."""

    def __init__(
        self,
        standin: SlackStandIn,
        *,
        request_url: str | None = None,
        signing_secret: str | None = None,
        mode: Literal["http", "socket"] = "http",
        timeout: float = 10.0,
        ack_timeout: float = 5.0,
    ) -> None:
        if mode == "http" and (not request_url or signing_secret is None):
            raise ValueError("HTTP mode needs request_url and signing_secret")
        self.standin = standin
        self.request_url = request_url
        self.signing_secret = signing_secret
        self.mode = mode
        self.timeout = timeout
        self.ack_timeout = ack_timeout
        self._opener = _opener()
        self._signed_at: dict[bytes, int] = {}  # body digest → the last timestamp signed

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Slack's signature headers for ``body`` (timestamp defaults to the wall clock).

        Slack signs every delivery anew, and a retry comes seconds later: by default the same
        body is never signed twice with the same timestamp (the app refuses a replayed signature).
        """
        if self.signing_secret is None:
            raise ValueError("no signing secret")
        stamp = int(time.time()) if timestamp is None else timestamp
        if timestamp is None:
            key = hashlib.sha256(body).digest()
            stamp = max(stamp, self._signed_at.get(key, stamp - 1) + 1)
            self._signed_at[key] = stamp
        base = b"v0:" + str(stamp).encode() + b":" + body
        digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": str(stamp), "X-Slack-Signature": f"v0={digest}"}

    def raw_post(self, body: bytes, headers: Mapping[str, str]) -> DriverResponse:
        """POST exactly these bytes and headers to the app's request URL."""
        if not self.request_url:
            raise ValueError("no request_url (socket mode driver)")
        request = urllib.request.Request(
            self.request_url, data=body, headers=dict(headers), method="POST"
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return DriverResponse(
                    status=response.status,
                    headers=dict(response.headers.items()),
                    body=response.read().decode("utf-8", "replace"),
                )
        except urllib.error.HTTPError as error:
            return DriverResponse(
                status=error.code,
                headers=dict(error.headers.items()) if error.headers else {},
                body=error.read().decode("utf-8", "replace"),
            )

    def _post(
        self, body: bytes, content_type: str, extra: Mapping[str, str] | None = None
    ) -> DriverResponse:
        headers = {"Content-Type": content_type, "User-Agent": _USER_AGENT, **self.sign(body)}
        headers.update(extra or {})
        return self.raw_post(body, headers)

    def _socket(self, envelope_type: str, payload: JSON, **kwargs: Any) -> DriverResponse:
        ack = self.standin.socket_send(envelope_type, payload, timeout=self.ack_timeout, **kwargs)
        body = json.dumps(ack["payload"]) if "payload" in ack else ""
        return DriverResponse(status=200, headers={}, body=body, ack=ack)

    def _interactive(self, payload: JSON) -> DriverResponse:
        if self.mode == "socket":
            response = self._socket("interactive", payload)
        else:
            body = urlencode({"payload": json.dumps(payload)}).encode()
            response = self._post(body, "application/x-www-form-urlencoded")
        response.request = payload
        return response

    def _user_ref(self, user_id: str) -> JSON:
        user = self.standin.user(user_id)
        return {
            "id": user_id,
            "username": user["name"],
            "name": user["name"],
            "team_id": self.standin.team_id,
        }

    def _team(self) -> JSON:
        return {"id": self.standin.team_id, "domain": self.standin.team_domain}

    def _channel_name(self, channel_id: str) -> str:
        info = self.standin.conversation(channel_id)
        return "directmessage" if info.get("is_im") else str(info.get("name", ""))

    def event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        event_time: int | None = None,
    ) -> DriverResponse:
        """Deliver an Events API ``event_callback`` (the same event_id on retries)."""
        eid = event_id or self.standin.new_id("Ev")
        envelope: JSON = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.standin.team_id,
            "context_team_id": self.standin.team_id,
            "api_app_id": self.standin.app_id,
            "event": dict(event),
            "type": "event_callback",
            "event_id": eid,
            "event_time": event_time if event_time is not None else int(self.standin.now()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.standin.team_id,
                    "user_id": self.standin.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        if self.mode == "socket":
            response = self._socket(
                "events_api",
                envelope,
                retry_attempt=retry_num or 0,
                retry_reason=retry_reason if retry_num else "",
            )
        else:
            extra = {}
            if retry_num is not None:
                extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
            response = self._post(json.dumps(envelope).encode(), "application/json", extra)
        response.request = envelope
        response.event_id = eid
        return response
