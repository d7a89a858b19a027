"""`microlearn serve`: check, migrate, verify the token, then serve HTTP or Socket Mode.

Each process (a gunicorn worker, or the one Socket Mode process) is built by bot.app.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TextIO

from slack_bolt import App

from bot.app import (
    build,
    build_services,
    open_database,
    prometheus_metrics,
    upgrade_database,
)
from bot.bolt_app import health_check, http_app, metrics_page
from bot.config import Settings
from bot.domain.lesson import Catalog
from bot.metrics import mark_process_dead
from bot.preflight import (
    OAUTH_NEEDS_HTTP,
    ContentProblems,
    StartupError,
    check_content,
    check_slack,
    redact,
    tls_context,
    warnings_note,
)
from bot.scheduler import utc_now
from bot.server import (
    ProbesUnavailable,
    SocketModeFailed,
    run_socket_mode,
    serve_probes,
)
from bot.slack.installations import INSTALL_PATH
from bot.slack.probes import Probes
from bot.slack.render import warm_templates
from bot.socket_processes import run_socket_mode_processes


def serve(
    settings: Settings,
    *,
    http: bool,
    host: str,
    port: int,
    workers: int,
    out: TextIO,
    metrics_dir: Path | None = None,
    health_port: int | None = None,
) -> None:
    """Check the lessons, migrate, verify the token, then serve until SIGTERM/SIGINT.

    `metrics_dir`: where gunicorn's workers keep their samples (bot.metricsdir);
    `health_port`: in Socket Mode, serve `/healthz` and `/metrics` on this port.
    """
    if settings.oauth and not http:
        raise StartupError(OAUTH_NEEDS_HTTP)
    content = check_content(settings.lessons_dir)
    if content.problems:
        raise ContentProblems(content.problems, settings.lessons_dir)
    db = open_database(settings)
    try:
        before, after = upgrade_database(db)
        services = build_services(settings, db, content.catalog)
        services.catalog.sync(now=utc_now())
    finally:
        db.dispose()
    migrated = f"migrated {before or 'empty'} → {after}" if before != after else f"at {after}"
    identity = check_slack(settings)
    print(f"microlearn: database {redact(settings.database_url)} {migrated}", file=out)
    print(
        f"microlearn: lessons from {settings.lessons_dir}: {content.summary()}"
        f"{warnings_note(content, settings.lessons_dir)}",
        file=out,
    )
    if http:
        _serve_http(
            settings,
            content.catalog,
            host=host,
            port=port,
            workers=workers,
            identity=identity,
            out=out,
            metrics_dir=metrics_dir,
        )
    else:
        _serve_socket_mode(
            settings,
            content.catalog,
            identity=identity,
            out=out,
            probes=(host, health_port) if health_port else None,
            metrics_dir=metrics_dir,
        )


def _serve_http(
    settings: Settings,
    catalog: Catalog,
    *,
    host: str,
    port: int,
    workers: int,
    identity: str,
    out: TextIO,
    metrics_dir: Path | None,
) -> None:
    assert settings.slack_signing_secret is not None
    from bot.http_server import Worker, run_http  # gunicorn: only a server that serves HTTP

    def start_worker() -> Worker:
        container = build(
            settings,
            catalog=catalog,
            token_verification_enabled=False,
            metrics=True,
            metrics_dir=metrics_dir,
        )
        container.start_ticking()
        wsgi = http_app(settings, container.db, container.bolt, metrics=container.metrics)
        return Worker(wsgi=wsgi, stop=container.close, screen=wsgi.refuse_head)

    print(
        f"microlearn: serving HTTP as {identity} on http://{host}:{port}/slack/events "
        f"(health: /healthz, metrics: /metrics, {workers} worker(s) × "
        f"{settings.web_threads} threads)",
        file=out,
        flush=True,
    )
    if settings.oauth:
        print(
            f"microlearn: install it in a workspace at <your public URL>{INSTALL_PATH} "
            f"(here: http://{host}:{port}{INSTALL_PATH})",
            file=out,
            flush=True,
        )
    run_http(
        start_worker,
        host=host,
        port=port,
        workers=workers,
        threads=settings.web_threads,
        log_level=settings.log_level,
        on_worker_exit=_dead_process_marker(metrics_dir),
    )


def _serve_socket_mode(
    settings: Settings,
    catalog: Catalog,
    *,
    identity: str,
    out: TextIO,
    probes: tuple[str, int] | None,
    metrics_dir: Path | None,
) -> None:
    assert settings.slack_app_token is not None
    if settings.socket_processes > 1:
        _serve_socket_processes(
            settings,
            catalog,
            identity=identity,
            out=out,
            probes=probes,
            metrics_dir=metrics_dir,
        )
        return
    container = build(
        settings, catalog=catalog, metrics=probes is not None, metrics_dir=metrics_dir
    )
    stop_probes: Callable[[], None] | None = None
    if probes is not None:
        host, port = probes
        page = Probes(health=health_check(container.db), metrics=metrics_page(container.metrics))
        try:
            stop_probes = serve_probes(page, host=host, port=port)
        except ProbesUnavailable as error:
            container.close()
            raise _probes_unavailable(host, port, error) from None
        _say_probes(probes, out)

    def ready() -> None:
        # Only once Slack can reach us: nothing goes out from a bot that cannot hear answers.
        container.start_ticking()
        print(f"microlearn: connected to Slack in Socket Mode as {identity}", file=out, flush=True)

    _socket_mode_tls(container.bolt)
    try:
        run_socket_mode(
            container.bolt,
            app_token=settings.slack_app_token,
            concurrency=settings.listener_threads,
            stop=container.close,
            on_ready=ready,
        )
    except SocketModeFailed as error:
        raise _socket_mode_failed(error) from None
    finally:
        if stop_probes is not None:
            stop_probes()
    print("microlearn: stopped", file=out, flush=True)


def _socket_mode_tls(bolt: App) -> None:
    """Socket Mode's WebSocket URL comes from Slack (wss:// in production, whatever
    SLACK_API_URL is), and slack_sdk builds a TLS context for each connection unless the app's
    client has one: give it the process's one (bot.preflight.tls_context)."""
    if bolt.client.ssl is None:
        bolt.client.ssl = tls_context()


def _socket_mode_failed(error: SocketModeFailed) -> StartupError:
    if error.refused:
        return StartupError(
            f"Slack refused SLACK_APP_TOKEN ({error.reason}); generate an app-level token "
            'with the connections:write scope under "Basic Information" → "App-Level '
            'Tokens" and copy it again'
        )
    return StartupError(
        f"cannot open the Socket Mode connection for SLACK_APP_TOKEN ({error.reason}); "
        "check the network, or use `microlearn serve --http`"
    )


def _serve_socket_processes(
    settings: Settings,
    catalog: Catalog,
    *,
    identity: str,
    out: TextIO,
    probes: tuple[str, int] | None,
    metrics_dir: Path | None,
) -> None:
    """Socket Mode from MICROLEARN_SOCKET_PROCESSES processes, each with its own connection to
    Slack, app, database pool and scheduler, as HTTP mode has its workers: acknowledgements and
    the work after them (feedback, points, reviews, App Home) no longer share one interpreter
    lock. This process only watches them, and answers probes and scrapes."""
    counted = probes is not None and metrics_dir is not None
    serve_one = _socket_process(settings, catalog, counted=counted, metrics_dir=metrics_dir)
    # Probes first, as with one process: they answer while the processes connect. The
    # processes are forked with this server's thread running; they never touch its objects.
    closing: list[Callable[[], None]] = []
    if probes is not None:
        closing = _watcher_probes(settings, probes, counted=counted, metrics_dir=metrics_dir)
        _say_probes(probes, out)

    def ready() -> None:
        print(
            f"microlearn: connected to Slack in Socket Mode as {identity} "
            f"({settings.socket_processes} processes, one connection each)",
            file=out,
            flush=True,
        )

    warm_templates()  # before the processes fork: compiled once, for all of them
    tls_context()  # likewise: the CA certificates are loaded once, for all of them
    try:
        run_socket_mode_processes(
            serve_one,
            processes=settings.socket_processes,
            on_ready=ready,
            on_exit=_dead_process_marker(metrics_dir),
        )
    except SocketModeFailed as error:
        raise _socket_mode_failed(error) from None
    finally:
        for close in reversed(closing):
            close()
    print("microlearn: stopped", file=out, flush=True)


def _socket_process(
    settings: Settings, catalog: Catalog, *, counted: bool, metrics_dir: Path | None
) -> Callable[[Callable[[], bool]], None]:
    """What each forked Socket Mode process runs: its own app, pool and connection; its
    scheduler starts once `ready()` says every process has connected."""
    token = settings.slack_app_token
    assert token is not None

    def serve_one(ready: Callable[[], bool]) -> None:
        container = build(settings, catalog=catalog, metrics=counted, metrics_dir=metrics_dir)

        def connected() -> None:
            if ready():  # every process is connected: now the scheduler may send
                container.start_ticking()

        _socket_mode_tls(container.bolt)
        run_socket_mode(
            container.bolt,
            app_token=token,
            concurrency=settings.listener_threads,
            stop=container.close,
            on_ready=connected,
        )

    return serve_one


def _dead_process_marker(metrics_dir: Path | None) -> Callable[[int], None] | None:
    """With samples in files, what marks a serving process that exited (its live gauges end)."""
    return partial(mark_process_dead, directory=metrics_dir) if metrics_dir is not None else None


def _say_probes(probes: tuple[str, int], out: TextIO) -> None:
    host, port = probes
    print(
        f"microlearn: health and metrics on http://{host}:{port}/healthz and /metrics",
        file=out,
        flush=True,
    )


def _probes_unavailable(host: str, port: int, error: ProbesUnavailable) -> StartupError:
    return StartupError(
        f"cannot serve /healthz and /metrics on {host}:{port} ({error}); choose another "
        "port with MICROLEARN_HTTP_PORT or --health-port"
    )


def _watcher_probes(
    settings: Settings, probes: tuple[str, int], *, counted: bool, metrics_dir: Path | None
) -> list[Callable[[], None]]:
    """`/healthz` and `/metrics` (added up over the Socket Mode processes) from the watcher."""
    host, port = probes
    db = open_database(settings)
    scrape = prometheus_metrics(db, metrics_dir).page if counted else None
    try:
        stop = serve_probes(Probes(health=health_check(db), metrics=scrape), host=host, port=port)
    except ProbesUnavailable as error:
        db.dispose()
        raise _probes_unavailable(host, port, error) from None
    return [db.dispose, stop]
