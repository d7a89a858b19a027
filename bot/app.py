"""Composition root: the only place that builds engine, services, Bolt app and scheduler."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from slack_bolt import App

from bot.assembly import Kick as Kick
from bot.assembly import build_services as build_services
from bot.bolt_app import build_bolt_app
from bot.config import Settings
from bot.domain.lesson import Catalog
from bot.metrics import PrometheusMetrics
from bot.preflight import StartupError
from bot.scheduler import Ticker, utc_now
from bot.services import Services
from bot.services.metrics import NO_METRICS
from bot.services.replays import ReplayGuard
from bot.storage import migrate
from bot.storage.backlog import due_backlog
from bot.storage.db import Database, StorageUnavailable
from bot.storage.requests import AcceptedRequests

log = logging.getLogger(__name__)


@dataclass
class Container:
    """Everything one serving process runs on."""

    settings: Settings
    db: Database
    services: Services
    bolt: App
    ticker: Ticker | None = None
    metrics: PrometheusMetrics | None = None

    def start_ticking(self) -> None:
        self.ticker = Ticker(
            partial(_tick, self.services, budget=_drain_budget(self.settings)),
            seconds=self.settings.tick_seconds,
            upkeep=lambda: upkeep(self.db, now=utc_now()),
            # Time zones beside the tick: a large workspace's directory takes seconds to read,
            # and a fan-out to people new to the bot would wait for it before sending.
            profiles=lambda now: self.services.delivery.refresh_profiles(now=now),
            metrics=self.services.metrics,
        )
        self.services_kick.target = self.ticker.kick
        self.ticker.start()

    @property
    def services_kick(self) -> Kick:
        kick = self.services.drips.kick
        assert isinstance(kick, Kick)
        return kick

    def close(self) -> None:
        if self.ticker is not None:
            self.ticker.stop()
        self.db.dispose()


def upkeep(db: Database, *, now: datetime) -> None:
    """Every few seconds: SQLite's checkpoint, and forgetting signatures too old to replay."""
    db.checkpoint()
    ReplayGuard(AcceptedRequests(db)).prune(now=now)


def _drain_budget(settings: Settings) -> timedelta:
    return timedelta(seconds=max(60, settings.tick_seconds * 2))


def _tick(services: Services, now: datetime, *, budget: timedelta | None) -> None:
    report = services.delivery.tick(now, budget=budget, profiles=False)
    if report.drain.sent or report.drain.failed:
        log.info(
            "tick: %d sent, %d to retry, %d failed",
            report.drain.sent,
            report.drain.retried,
            report.drain.failed,
        )


def open_database(settings: Settings) -> Database:
    # A connection for every thread that may use one at the same moment (requests, listeners,
    # the scheduler's few; the settling threads spend most of their time waiting on Slack, and
    # a burst of them borrows the pool's overflow): below that, connections are opened and
    # closed under load, and on PostgreSQL each one is a new server process. Of those, the
    # threads that take requests (gunicorn's, or Socket Mode's listeners) keep one each for
    # what a click stores before its ack, so it never waits behind the settling threads.
    requests = max(settings.web_threads, settings.listener_threads)
    return Database(
        settings.database_url,
        pool_size=settings.web_threads + settings.listener_threads + 2 - requests,
        urgent_pool_size=requests,
    )


def upgrade_database(db: Database) -> tuple[str | None, str]:
    try:
        return migrate.upgrade(db)
    except StorageUnavailable as error:
        raise StartupError(migrate.cannot_migrate(error)) from error


def prometheus_metrics(db: Database, metrics_dir: Path | None) -> PrometheusMetrics:
    """The metrics of one process; with `metrics_dir`, added up with the other processes'."""
    return PrometheusMetrics(
        multiprocess_dir=metrics_dir, backlog=lambda: due_backlog(db, now=utc_now())
    )


def build(
    settings: Settings,
    *,
    catalog: Catalog,
    token_verification_enabled: bool = True,
    clock: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    metrics: bool = False,
    metrics_dir: Path | None = None,
) -> Container:
    """`metrics`: count for `/metrics` (in files under `metrics_dir` when several processes
    serve, see bot.metricsdir). `sleep`: how posts wait for their turn (the sandbox's stops
    short when it stops)."""
    db = open_database(settings)
    counted = prometheus_metrics(db, metrics_dir) if metrics else None
    services = build_services(
        settings, db, catalog, clock=clock, sleep=sleep, metrics=counted or NO_METRICS
    )
    bolt = build_bolt_app(settings, services, token_verification_enabled=token_verification_enabled)
    return Container(settings=settings, db=db, services=services, bolt=bolt, metrics=counted)
