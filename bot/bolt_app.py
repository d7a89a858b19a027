"""The Bolt app over the services, and the WSGI app that verifies each request before Bolt.

Every listener is registered here; listeners reach Slack through the messenger.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from slack_bolt import App
from slack_sdk import WebClient

from bot.config import Settings
from bot.logs import ContextThreadPool
from bot.metrics import PrometheusMetrics
from bot.preflight import StartupError, tls_context_for
from bot.services import Services
from bot.services.installations import Installations
from bot.services.metrics import NO_METRICS, Metrics
from bot.services.replays import ReplayGuard
from bot.slack.http import SlackWsgiApp
from bot.slack.installations import OAuthApp, oauth_settings
from bot.slack.listeners import register_listeners
from bot.slack.messenger import SlackMessenger
from bot.slack.metering import meter
from bot.slack.probes import HealthCheck, Scrape
from bot.slack.settling import SETTLE_THREADS, Settling
from bot.slack.throttle import Throttle
from bot.storage.db import Database, StorageUnavailable
from bot.storage.requests import AcceptedRequests


def slack_messenger(
    settings: Settings,
    installations: Installations | None,
    *,
    client: WebClient | None = None,
    metrics: Metrics = NO_METRICS,
) -> SlackMessenger:
    """The one outbound path: SLACK_BOT_TOKEN, or with OAuth each workspace's installed token."""
    return SlackMessenger(
        meter(client or slack_client(settings, retries=False), metrics.slack_call),
        tokens=installations.token if installations is not None else None,
    )


def slack_client(settings: Settings, *, retries: bool = True) -> WebClient:
    # With OAuth, each call gets its workspace's token (Bolt's per request, the messenger's).
    token = None if settings.oauth else settings.slack_bot_token
    client = WebClient(
        token=token, base_url=settings.slack_api_url, ssl=tls_context_for(settings.slack_api_url)
    )
    if not retries:
        client.retry_handlers.clear()
    return client


def build_bolt_app(
    settings: Settings,
    services: Services,
    *,
    process_before_response: bool = False,
    token_verification_enabled: bool = True,
    throttle: Throttle | None = None,
) -> App:
    oauth = None
    if settings.oauth:
        assert services.installations is not None
        assert settings.slack_client_id and settings.slack_client_secret
        assert settings.slack_state_secret
        oauth = oauth_settings(
            OAuthApp(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret,
                state_secret=settings.slack_state_secret,
                api_url=settings.slack_api_url,
            ),
            services.installations,
            guard=services.installations,
            clock=services.clock,
        )
    app = App(
        logger=_bolt_logger(),
        client=meter(slack_client(settings), services.metrics.slack_call),
        oauth_settings=oauth,
        signing_secret=settings.slack_signing_secret or "",
        # Every HTTP request reaches Bolt through SlackWsgiApp, which has verified its signature,
        # freshness and novelty (see http_app); Socket Mode requests carry no signature.
        request_verification_enabled=False,
        token_verification_enabled=token_verification_enabled,
        process_before_response=process_before_response,
        listener_executor=ContextThreadPool(
            max_workers=settings.listener_threads, thread_name_prefix="listener"
        ),
        name="microlearn",
    )
    register_listeners(
        app,
        services,
        messenger=slack_messenger(settings, services.installations, metrics=services.metrics),
        # Run before the response (tests): everything settles before the request returns.
        settling=Settling(0 if process_before_response else SETTLE_THREADS),
        throttle=throttle,
    )
    return app


class _DropNoise(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN from the environment is unused when a client is given."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, _DropNoise) for f in logger.filters):
        logger.addFilter(_DropNoise())
    return logger


def http_app(
    settings: Settings,
    db: Database,
    bolt: App,
    *,
    clock: Callable[[], datetime] | None = None,
    metrics: PrometheusMetrics | None = None,
) -> SlackWsgiApp:
    """What `serve --http` runs: each request signed, fresh and new before Bolt sees it."""
    if not settings.slack_signing_secret:
        raise StartupError("HTTP mode needs SLACK_SIGNING_SECRET")
    return SlackWsgiApp(
        bolt,
        signing_secret=settings.slack_signing_secret,
        health=health_check(db),
        replays=ReplayGuard(AcceptedRequests(db)),
        clock=clock,
        oauth=bolt.oauth_flow,
        metrics=metrics_page(metrics),
    )


def health_check(db: Database) -> HealthCheck:
    def check() -> dict[str, str]:
        try:
            db.ping()
        except StorageUnavailable as error:
            return {"database": f"unreachable: {error}"[:300]}
        return {"database": "ok"}

    return check


def metrics_page(metrics: PrometheusMetrics | None) -> Scrape | None:
    return metrics.page if metrics is not None else None
