"""`microlearn serve` (Slack over Socket Mode or HTTP) and `microlearn sandbox`."""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from bot import metricsdir
from bot.config import Settings

from .exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE


def add_parsers(commands: Any) -> None:
    serve = commands.add_parser("serve", help="connect to Slack and serve (Socket Mode or --http)")
    serve.add_argument("--http", action="store_true", help="serve Slack's requests over HTTP")
    serve.add_argument("--host", default="0.0.0.0", help="HTTP bind address (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    serve.add_argument("--workers", type=int, default=2, help="HTTP worker processes (default 2)")
    serve.add_argument(
        "--health-port",
        type=int,
        metavar="N",
        help="Socket Mode: serve /healthz and /metrics on port N (default MICROLEARN_HTTP_PORT)",
    )
    serve.add_argument(
        "--sandbox-without-credentials",
        action="store_true",
        help="with no Slack credentials at all, start the sandbox instead (what `make run` does)",
    )

    sandbox = commands.add_parser(
        "sandbox", help="try it without Slack: the bot and a local Slack in your browser"
    )
    sandbox.add_argument(
        "--port", type=int, help="the page's port on 127.0.0.1 (default MICROLEARN_SANDBOX_PORT)"
    )
    sandbox.add_argument(
        "--lessons", type=Path, help="a lessons folder to serve and reload as you edit it"
    )
    serve.set_defaults(handler=serve_command)
    sandbox.set_defaults(handler=sandbox_command)


def serve_command(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    if args.sandbox_without_credentials and not args.http and _no_credentials(settings):
        return _sandbox(settings, port=None, lessons=None, out=out)
    return _serve(settings, args, out)


def sandbox_command(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    return _sandbox(settings, port=args.port, lessons=args.lessons, out=out)


def _serve(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    health_port = args.health_port or settings.http_port
    if health_port is not None and not 1 <= health_port <= 65535:
        print(
            f"microlearn: --health-port must be a TCP port, 1–65535, got {health_port}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.http or settings.socket_processes > 1 or os.environ.get(metricsdir.VARIABLE):
        # Before bot.app imports prometheus_client: it picks file-backed samples at import.
        try:
            with metricsdir.multiprocess_dir(os.environ) as directory:
                return _serve_app(settings, args, out, health_port, directory)
        except metricsdir.MetricsDirError as error:
            print(f"microlearn: {error}", file=sys.stderr)
            return EXIT_USAGE
    return _serve_app(settings, args, out, health_port, None)


def _serve_app(
    settings: Settings,
    args: argparse.Namespace,
    out: TextIO,
    health_port: int | None,
    metrics_dir: Path | None,
) -> int:
    with _collector_paused():
        from bot import preflight

    if settings.oauth and not args.http:
        print(f"microlearn: {preflight.OAUTH_NEEDS_HTTP}", file=sys.stderr)
        return EXIT_USAGE
    missing = preflight.missing_credentials(settings, http=args.http)
    if missing:
        print(preflight.credentials_guide(missing, http=args.http), file=sys.stderr)
        return EXIT_FAILED
    with _collector_paused():
        from bot import serving  # the whole app: only once there is something to serve

    try:
        serving.serve(
            settings,
            http=args.http,
            host=args.host,
            port=args.port,
            workers=args.workers,
            out=out,
            metrics_dir=metrics_dir,
            health_port=health_port,
        )
    except preflight.StartupError as error:
        for problem in getattr(error, "problems", ()):
            print(problem, file=sys.stderr)
        print(f"microlearn: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _no_credentials(settings: Settings) -> bool:
    return not (
        settings.slack_bot_token
        or settings.slack_app_token
        or settings.slack_signing_secret
        or settings.oauth
    )


def _sandbox(settings: Settings, *, port: int | None, lessons: Path | None, out: TextIO) -> int:
    with _collector_paused():
        from bot.sandbox.run import SandboxError, run_sandbox

    try:
        run_sandbox(
            settings,
            port=port or settings.sandbox_port,
            lessons=lessons or settings.lessons_dir,
            folder=Path.cwd(),
            out=out,
        )
    except SandboxError as error:
        print(f"microlearn: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Import the app without the cyclic garbage collector's passes: importing it creates some
    130,000 objects and hardly any garbage, and each full pass on the way walks all of them
    (about 0.1 s of CPU at every start, measured). What little garbage there is goes at the next
    full collection, at the latest when serving freezes its start-up objects (bot.server).

    What was imported then goes straight to the oldest generation (a freeze and an unfreeze move
    it there), where it is walked only by full collections: left in the youngest, the next
    collections of each younger generation walk all of it on its way up (another 0.08 s of CPU
    at every start, measured). Not in a process that has frozen objects of its own already:
    they stay frozen."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if was_enabled:
            gc.enable()
