"""What the use cases count, as a port: the composition root plugs Prometheus in behind it.

The core imports no metrics library; every method is cheap and never raises.
"""

from __future__ import annotations

from typing import Protocol


class Metrics(Protocol):
    """Counters and timings the use cases and the Slack adapter report."""

    def delivery_sent(self, *, kind: str) -> None:
        """A delivery (lesson, review, notice, reminder…) went out whole."""

    def delivery_failed(self, *, kind: str, reason: str) -> None:
        """A delivery failed for good; `reason` is Slack's error code or `unavailable`."""

    def delivery_retried(self, *, kind: str, reason: str) -> None:
        """A delivery will be tried again later."""

    def answer_stored(self, *, kind: str) -> None:
        """A learner's first answer to a question was stored (`lesson` or `review`)."""

    def answer_acknowledged(self, *, seconds: float) -> None:
        """How long Slack waited for an answer click's acknowledgement."""

    def slack_call(self, *, method: str, outcome: str) -> None:
        """One Web API request: `ok`, Slack's error code, `http_429`, `connection_error`…"""

    def tick_finished(self, *, seconds: float, lag: float) -> None:
        """A delivery tick ran for `seconds`, starting `lag` seconds after it was due."""


class NoMetrics:
    """Counts nothing: tests and one-off commands that have no scraper."""

    def delivery_sent(self, *, kind: str) -> None:
        pass

    def delivery_failed(self, *, kind: str, reason: str) -> None:
        pass

    def delivery_retried(self, *, kind: str, reason: str) -> None:
        pass

    def answer_stored(self, *, kind: str) -> None:
        pass

    def answer_acknowledged(self, *, seconds: float) -> None:
        pass

    def slack_call(self, *, method: str, outcome: str) -> None:
        pass

    def tick_finished(self, *, seconds: float, lag: float) -> None:
        pass


NO_METRICS: Metrics = NoMetrics()
