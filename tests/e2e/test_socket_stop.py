"""Stopping Socket Mode (bot.server.close_socket_mode), in this process against the stand-in:
the envelope being handled is finished first, and nothing waits out the client's timeouts."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient

from bot.server import close_socket_mode
from tests.standin import SlackStandIn, SocketAckTimeoutError, SocketNotConnectedError
from tests.support.waiting import until


def _connected(standin: SlackStandIn, app: App) -> SocketModeHandler:
    handler = SocketModeHandler(app, standin.app_token, web_client=app.client)
    handler.connect()  # type: ignore[no-untyped-call]
    assert standin.wait_for(lambda: standin.socket.open_connections() == 1, timeout=5)
    return handler


def _app(standin: SlackStandIn) -> App:
    # Acknowledged once the listener has returned: its whole run is the client's in-flight work.
    return App(
        client=WebClient(token=standin.bot_token, base_url=standin.api_url),
        signing_secret="unused",
        process_before_response=True,
    )


def test_an_idle_connection_closes_at_once(standin: SlackStandIn) -> None:
    handler = _connected(standin, _app(standin))
    started = time.monotonic()
    close_socket_mode(handler)
    took = time.monotonic() - started
    # slack_sdk's own close() waits up to 3 s on its reader and 1 s on its message queue.
    assert took < 1.0, f"closing took {took:.2f} s"
    assert standin.wait_for(lambda: standin.socket.open_connections() == 0, timeout=5)


def test_the_envelope_being_handled_is_finished_before_close_returns(
    standin: SlackStandIn,
) -> None:
    user = standin.add_user("stella")
    app = _app(standin)
    running, release, closed = threading.Event(), threading.Event(), threading.Event()
    finished: list[tuple[str, bool]] = []

    @app.command("/learn")
    def learn(ack: Ack, command: dict[str, Any]) -> None:
        running.set()
        release.wait(timeout=10)
        finished.append((command["text"], closed.is_set()))
        ack()

    handler = _connected(standin, app)

    def send() -> None:
        payload = {"command": "/learn", "text": "slow", "user_id": user}
        # The connection closes before the ack can go out: the stand-in says so, or times out.
        with contextlib.suppress(SocketNotConnectedError, SocketAckTimeoutError):
            standin.socket_send(
                "slash_commands", {**payload, "team_id": standin.team_id}, timeout=30
            )

    def close() -> None:
        close_socket_mode(handler)
        closed.set()

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    assert running.wait(timeout=10)
    closer = threading.Thread(target=close, daemon=True)
    closer.start()
    # The client has stopped its message processor and waits on its worker pool: on us.
    assert until(lambda: handler.client.message_processor.thread is None, timeout=10)
    assert not closed.is_set()
    release.set()
    closer.join(timeout=10)
    assert closed.is_set()
    assert finished == [("slow", False)]  # finished while close() was still waiting for it
