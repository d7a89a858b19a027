"""Prometheus metrics behind the services' Metrics port, and `/metrics` text.

Under gunicorn every worker writes its samples to files in PROMETHEUS_MULTIPROC_DIR
(`bot.metricsdir` sets it up before prometheus_client is imported) and a scrape, whichever
worker answers it, adds up every worker's files. The outbox gauges are read from the database
at scrape time, so every worker and replica reports the same backlog.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Kinds of outbox deliveries; each has a series from the start (at 0), so a dashboard shows
# "reminder" as soon as there is such a thing to send.
KINDS = ("lesson", "review", "reminder", "notice")

# Acknowledging an answer is one small insert: milliseconds, and Slack gives up at 3 s.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
TICK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

_LABEL = re.compile(r"[A-Za-z0-9_.]{1,48}")


Backlog = Callable[[], tuple[int, datetime | None]]
"""Deliveries due now and not sent yet, and when the longest-waiting one fell due (or None)."""


class PrometheusMetrics:
    """The Metrics port on prometheus_client; `scrape()` is the body of `GET /metrics`."""

    def __init__(
        self,
        *,
        multiprocess_dir: Path | None = None,
        backlog: Backlog | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._dir = multiprocess_dir
        self._registry = CollectorRegistry(auto_describe=True)
        self._define_delivery_counters(self._registry)
        self._define_slack_and_timing(self._registry)
        for kind in KINDS:
            self._sent.labels(kind=kind)
        self._extra: list[Collector] = []
        if backlog is not None:
            self._extra.append(_BacklogCollector(backlog, clock or _utc_now))
            if multiprocess_dir is None:
                self._registry.register(self._extra[-1])

    def _define_delivery_counters(self, registry: CollectorRegistry) -> None:
        self._sent = Counter(
            "microlearn_deliveries_sent",
            "Deliveries that went out whole, by kind (lesson, review, reminder, notice)",
            ["kind"],
            registry=registry,
        )
        self._failed = Counter(
            "microlearn_deliveries_failed",
            "Deliveries that failed for good, by kind and Slack's reason",
            ["kind", "reason"],
            registry=registry,
        )
        self._retried = Counter(
            "microlearn_deliveries_retried",
            "Deliveries put back to be tried again later, by kind and reason",
            ["kind", "reason"],
            registry=registry,
        )
        self._answers = Counter(
            "microlearn_answers_stored",
            "Answers stored (a learner's first answer to a question), by lesson or review",
            ["kind"],
            registry=registry,
        )

    def _define_slack_and_timing(self, registry: CollectorRegistry) -> None:
        self._ack = Histogram(
            "microlearn_answer_ack_seconds",
            "From an answer click's arrival to its acknowledgement (answer stored)",
            buckets=ACK_BUCKETS,
            registry=registry,
        )
        self._calls = Counter(
            "microlearn_slack_api_calls",
            "Slack Web API requests, by method and outcome (ok or Slack's error)",
            ["method", "outcome"],
            registry=registry,
        )
        self._rate_limited = Counter(
            "microlearn_slack_rate_limited",
            "Slack Web API requests answered 429 (rate limited), by method",
            ["method"],
            registry=registry,
        )
        self._tick = Histogram(
            "microlearn_tick_duration_seconds",
            "How long one delivery tick (profiles, planning, sending) took",
            buckets=TICK_BUCKETS,
            registry=registry,
        )
        self._lag = Gauge(
            "microlearn_tick_lag_seconds",
            "How late the latest delivery tick started after it was due (worst live process)",
            registry=registry,
            multiprocess_mode="livemax",
        )

    # -- the Metrics port ---------------------------------------------------------------------

    def delivery_sent(self, *, kind: str) -> None:
        self._sent.labels(kind=_label(kind)).inc()

    def delivery_failed(self, *, kind: str, reason: str) -> None:
        self._failed.labels(kind=_label(kind), reason=_label(reason)).inc()

    def delivery_retried(self, *, kind: str, reason: str) -> None:
        self._retried.labels(kind=_label(kind), reason=_label(reason)).inc()

    def answer_stored(self, *, kind: str) -> None:
        self._answers.labels(kind=_label(kind)).inc()

    def answer_acknowledged(self, *, seconds: float) -> None:
        self._ack.observe(max(0.0, seconds))

    def slack_call(self, *, method: str, outcome: str) -> None:
        method = _label(method)
        self._calls.labels(method=method, outcome=_label(outcome)).inc()
        if outcome in ("http_429", "ratelimited"):
            self._rate_limited.labels(method=method).inc()

    def tick_finished(self, *, seconds: float, lag: float) -> None:
        self._tick.observe(max(0.0, seconds))
        self._lag.set(max(0.0, lag))

    # -- exposition ---------------------------------------------------------------------------

    def scrape(self) -> bytes:
        """Every metric in Prometheus's text format: this process's, or all workers' added up."""
        if self._dir is None:
            return generate_latest(self._registry)
        registry = CollectorRegistry()
        registry.register(_WrittenFiles(self._dir))
        for collector in self._extra:
            registry.register(collector)
        return generate_latest(registry)

    def page(self) -> tuple[str, bytes]:
        """`GET /metrics`: content type and body."""
        return CONTENT_TYPE, self.scrape()


class _WrittenFiles(Collector):
    """Every worker's samples, added up, from the files written so far.

    A worker creates its file empty and sizes it a moment later, and a worker that exits has
    its live gauges' files removed; prometheus_client reading a file in either moment fails
    the whole scrape (a 500). Such a file holds nothing yet, or nothing any more: left out."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def collect(self) -> Iterator[Metric]:
        for _attempt in range(2):
            try:
                return self._merged()
            except FileNotFoundError:  # removed since listed: list again
                continue
        # Still changing: this scrape fails (a 500) rather than report counters that went back.
        return self._merged()

    def _merged(self) -> Iterator[Metric]:
        files = [str(path) for path in self._directory.glob("*.db") if _sized(path)]
        merged = multiprocess.MultiProcessCollector.merge(files)  # type: ignore[no-untyped-call]
        return iter(list(merged))


def _sized(path: Path) -> bool:
    try:
        return path.stat().st_size >= 8  # prometheus_client's header: the bytes in use
    except FileNotFoundError:
        return False


def mark_process_dead(pid: int, *, directory: Path) -> None:
    """A worker exited: its live gauges (tick lag) stop counting."""
    multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


class _BacklogCollector(Collector):
    """The outbox's due deliveries, read from the database at each scrape."""

    def __init__(self, backlog: Backlog, clock: Callable[[], datetime]) -> None:
        self._backlog = backlog
        self._clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            due, oldest_due_at = self._backlog()
        except Exception as error:  # the database is down: /healthz says so; scrape the rest
            log.warning("outbox backlog not available for /metrics: %s", type(error).__name__)
            return
        yield GaugeMetricFamily(
            "microlearn_outbox_due",
            "Deliveries due now and not sent yet (all workspaces)",
            value=due,
        )
        age = 0.0
        if oldest_due_at is not None:
            age = max(0.0, (self._clock() - oldest_due_at).total_seconds())
        yield GaugeMetricFamily(
            "microlearn_outbox_oldest_due_age_seconds",
            "How long the longest-waiting due delivery has been due (0: none waiting)",
            value=age,
        )


def _label(value: str) -> str:
    """A bounded label value: Slack's codes and method names as they are, anything else `other`."""
    return value if _LABEL.fullmatch(value) else "other"


def _utc_now() -> datetime:
    return datetime.now(UTC)
