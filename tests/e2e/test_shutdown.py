"""SIGTERM stops `microlearn serve --http` within 10 s and finishes the request in flight."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlencode

from tests.conftest import count_database_run
from tests.standin import SlackDriver, SlackStandIn
from tests.support.process import SIGNING_SECRET, bot_environment, start_http_bot, wait_until_read


def _refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def test_sigterm_finishes_the_request_in_flight_then_exits_cleanly(
    standin: SlackStandIn, e2e_database_url: str, tmp_path: Path
) -> None:
    count_database_run(e2e_database_url)
    env = bot_environment(
        api_url=standin.api_url, database_url=e2e_database_url, SLACK_SIGNING_SECRET=SIGNING_SECRET
    )
    bot = start_http_bot(env, cwd=tmp_path)
    port = bot.port
    try:
        user = standin.add_user("lee")
        driver = SlackDriver(
            standin, request_url=f"{bot.url}/slack/events", signing_secret=SIGNING_SECRET
        )
        body = urlencode(
            {
                "command": "/learn",
                "text": "help",
                "user_id": user,
                "team_id": standin.team_id,
                "channel_id": standin.dm_channel(user),
                "response_url": standin.new_response_url(
                    user_id=user, channel_id=standin.dm_channel(user)
                ),
                "trigger_id": "t",
            }
        ).encode()
        head = (
            f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in driver.sign(body).items())
            + "\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(head + body[:20])
            # the request is in flight: a worker has accepted it and read half its body
            wait_until_read(port, client)

            stopped_at = time.monotonic()
            bot.process.terminate()
            deadline = stopped_at + 8
            while not _refuses_connections(port):  # observe the shutdown, don't guess its timing
                assert time.monotonic() < deadline, (
                    "the server kept accepting connections after SIGTERM"
                )
            client.sendall(body[20:])
            response = b""
            while chunk := client.recv(65536):
                response += chunk

        assert response.startswith(b"HTTP/1.1 200"), response[:200]
        assert b"microlearn commands" in response
        assert bot.stop(timeout=10) == 0
        assert time.monotonic() - stopped_at < 10
    finally:
        if bot.process.poll() is None:
            bot.kill_hard()
