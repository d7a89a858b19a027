"""`GET /healthz` and `GET /metrics`: what orchestrators' probes and Prometheus ask.

Served beside `/slack/events` in HTTP mode (bot.slack.http), and on their own port in Socket
Mode (`MICROLEARN_HTTP_PORT`), so probes and scrapers work the same in both modes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"

log = logging.getLogger(__name__)

HealthCheck = Callable[[], dict[str, str]]
"""Returns component → "ok" or a short reason it is not (logged, never sent)."""

Scrape = Callable[[], tuple[str, bytes]]
"""The metrics page: its content type and body."""


class Probes:
    """A WSGI app for the two probe paths; anything else is 404, other methods 405."""

    def __init__(self, *, health: HealthCheck, metrics: Scrape | None = None) -> None:
        self._health = health
        self._metrics = metrics

    def serves(self, path: str) -> bool:
        return path == HEALTH_PATH or (path == METRICS_PATH and self._metrics is not None)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if not self.serves(path):
            return _send(start_response, "404 Not Found", "text/plain; charset=utf-8", b"Not Found")
        if method not in ("GET", "HEAD"):
            return _send(
                start_response, "405 Method Not Allowed", "text/plain; charset=utf-8", b"Use GET"
            )
        if path == METRICS_PATH:
            assert self._metrics is not None
            content_type, body = self._metrics()
            return _send(start_response, "200 OK", content_type, body, head=method == "HEAD")
        return self._healthz(start_response, head=method == "HEAD")

    def _healthz(self, start_response: StartResponse, *, head: bool) -> Iterable[bytes]:
        checks = self._health()
        if all(value == "ok" for value in checks.values()):
            status, report = "200 OK", {"status": "ok", **checks}
        else:
            # Why it is down (driver errors name hosts, ports, databases) is for the operator.
            log.warning(
                "health check failed: %s", "; ".join(f"{k}: {v}" for k, v in checks.items())
            )
            status, report = "503 Service Unavailable", {"status": "unavailable"}
        body = json.dumps(report).encode()
        return _send(start_response, status, "application/json", body, head=head)


def _send(
    start_response: StartResponse,
    status: str,
    content_type: str,
    body: bytes,
    *,
    head: bool = False,
) -> Iterable[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [] if head else [body]
