"""Posts to response URLs over kept-alive connections.

Every click's feedback goes to its response URL. Bolt's `respond` builds a new webhook client
and opens a new connection for each post — in production a new TLS session with Slack, which
costs more CPU than everything else a click does. Here each thread keeps one connection per
host and reuses it; a connection the server has closed meanwhile is replaced once, and the post
is sent again on the new one (a request that fails on a reused connection was not received).
Behind a proxy (HTTPS_PROXY and the like) posts go through slack_sdk's webhook client instead.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from slack_sdk.webhook import WebhookClient

log = logging.getLogger(__name__)

TIMEOUT = 10.0  # seconds; the post happens after the ack, so a slow Slack delays only feedback
USER_AGENT = "microlearn (response_url)"

# What a closed keep-alive connection raises when it is reused.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)

Respond = Callable[..., object]
"""respond(text=…, blocks=…, response_type=…, replace_original=…), as Bolt's is called."""


class ResponseUrls:
    def __init__(self, *, timeout: float = TIMEOUT) -> None:
        self._timeout = timeout
        self._local = threading.local()
        self._proxies = urllib.request.getproxies()  # read once: it walks the environment

    def responder(self, url: str) -> Callable[..., int]:
        """A `respond` for one response URL, called like Bolt's; returns the HTTP status."""

        def respond(**message: Any) -> int:
            return self.post(
                url, {key: value for key, value in message.items() if value is not None}
            )

        return respond

    def post(self, url: str, message: dict[str, Any]) -> int:
        """POST the message as JSON; returns the HTTP status (logged when it is not 200)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not a response URL: {url!r}")
        body = json.dumps(message).encode("utf-8")
        if parts.scheme in self._proxies and not urllib.request.proxy_bypass(parts.hostname):
            status = int(
                WebhookClient(url, timeout=int(self._timeout)).send_dict(message).status_code
            )
        else:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            status = self._send(parts.scheme, parts.hostname, parts.port, path, body)
        if status != 200:
            log.warning("response URL answered HTTP %s", status)
        return status

    def _send(self, scheme: str, host: str, port: int | None, path: str, body: bytes) -> int:
        key = (scheme, host, port)
        connections: _Connections = self._local.__dict__.setdefault("connections", _Connections())
        connection = connections.get(key)
        reused = connection is not None
        for _attempt in range(2):
            if connection is None:
                connection = _connect(scheme, host, port, self._timeout)
                connections[key] = connection
            try:
                connection.request(
                    "POST",
                    path,
                    body=body,
                    headers={
                        "Content-Type": "application/json;charset=utf-8",
                        "User-Agent": USER_AGENT,
                    },
                )
                response = connection.getresponse()
                response.read()
            except _STALE:
                connection.close()
                connections.pop(key, None)
                connection = None
                if not reused:
                    raise
                reused = False  # once: a fresh connection that fails is a real failure
                continue
            except BaseException:
                connection.close()
                connections.pop(key, None)
                raise
            if response.will_close:
                connection.close()
                connections.pop(key, None)
            return int(response.status)
        raise AssertionError("unreachable")  # pragma: no cover


class _Connections(dict[tuple[str, str, int | None], http.client.HTTPConnection]):
    """One thread's connections, closed when the thread ends and its locals are dropped."""

    def __del__(self) -> None:
        for connection in self.values():
            connection.close()


def _connect(
    scheme: str, host: str, port: int | None, timeout: float
) -> http.client.HTTPConnection:
    if scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout)
    return http.client.HTTPConnection(host, port, timeout=timeout)
