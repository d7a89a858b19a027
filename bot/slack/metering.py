"""Counts every Slack Web API request by method and outcome, from inside slack_sdk's client.

slack_sdk asks each of a client's retry handlers about every response and every failed
attempt, in order. `CallMeter` goes first, records what it was shown and never asks for a
retry, so the handlers after it decide as before. Bolt copies a client's handlers into the
client it makes for each request, so listeners' calls are counted too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

RECEIVED = "microlearn_received"
"""Bolt context key: time.perf_counter() when bot.slack.http had the request whole."""

Observe = Callable[..., None]
"""observe(method=…, outcome=…): the Metrics port's `slack_call`."""


class CallMeter(RetryHandler):
    """A retry handler that only counts: outcome `ok`, Slack's error code, `http_<status>`, or
    `connection_error`."""

    def __init__(self, observe: Observe) -> None:
        super().__init__(max_retry_count=0)
        self._observe = observe

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        with contextlib.suppress(Exception):  # counting must never break a call to Slack
            self._observe(method=_method(request.url), outcome=_outcome(response))
        return False


def meter(client: WebClient, observe: Observe) -> WebClient:
    """Count `client`'s requests from now on (first among its handlers); returns the client."""
    if not any(isinstance(handler, CallMeter) for handler in client.retry_handlers):
        client.retry_handlers.insert(0, CallMeter(observe))
    return client


def without_retries(client: WebClient) -> None:
    """Drop the handlers that retry; keep the meter."""
    client.retry_handlers[:] = [h for h in client.retry_handlers if isinstance(h, CallMeter)]


def _method(url: str) -> str:
    path = urlsplit(url).path
    return path.rsplit("/", 1)[-1] or "unknown"


def _outcome(response: HttpResponse | None) -> str:
    if response is None:
        return "connection_error"
    if response.status_code != 200:
        return f"http_{response.status_code}"
    body = response.body if isinstance(response.body, dict) else {}
    if body.get("ok") is False:
        return str(body.get("error") or "error")
    return "ok"
