"""deploy/healthcheck.py, the image's HEALTHCHECK, against the real server and a failing one."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.deploy.manifests import DEPLOY
from tests.standin import SlackStandIn
from tests.support.databases import copy_sqlite
from tests.support.process import (
    SIGNING_SECRET,
    bot_environment,
    start_http_bot,
    wait_until_healthy,
)

HEALTHCHECK = DEPLOY / "healthcheck.py"


def run_healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    """As Docker runs it: a fresh process, the container's environment (its port), no proxy."""
    env = {"PATH": "/usr/bin:/bin", "MICROLEARN_HTTP_PORT": str(port)}
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK)], env=env, capture_output=True, text=True, timeout=30
    )


@pytest.mark.e2e
def test_healthy_while_microlearn_serves_and_unhealthy_once_it_stopped(
    tmp_path: Path, _sqlite_template: Path
) -> None:
    with SlackStandIn() as standin:
        env = bot_environment(
            api_url=standin.api_url,
            database_url=copy_sqlite(_sqlite_template, tmp_path / "microlearn.db"),
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
        )
        bot = start_http_bot(env, cwd=tmp_path)
        port = urlsplit(str(bot.url)).port
        assert port is not None
        try:
            wait_until_healthy(bot)
            serving = run_healthcheck(port)
        finally:
            assert bot.stop() == 0
    assert serving.returncode == 0, serving.stderr
    stopped = run_healthcheck(port)
    assert stopped.returncode == 1
    assert stopped.stderr.startswith(f"unhealthy: http://127.0.0.1:{port}/healthz: ")


class _Answer(BaseHTTPRequestHandler):
    status = 503
    body = b'{"status": "error", "database": "unreachable"}'

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - fixed signature
        pass


@pytest.fixture
def answering() -> Iterator[tuple[HTTPServer, type[_Answer]]]:
    handler = type("Answer", (_Answer,), {})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server, handler
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (503, b'{"status": "error", "database": "unreachable"}', "answered 503"),
        (200, b'{"status": "starting"}', "said {'status': 'starting'}"),
        (200, b"<html>a proxy page</html>", "Expecting value"),
    ],
    ids=["database-down", "not-ok", "not-json"],
)
def test_unhealthy_when_healthz_is_not_ok(
    answering: tuple[HTTPServer, type[_Answer]], status: int, body: bytes, says: str
) -> None:
    server, handler = answering
    handler.status, handler.body = status, body
    result = run_healthcheck(server.server_address[1])
    assert result.returncode == 1
    assert says in result.stderr
