"""Socket Mode connections (one per process, several processes by default) until
SIGTERM/SIGINT, a small HTTP server for probes and scrapes beside them, and what every serving
process does before it serves (freezing its start-up objects). gunicorn for HTTP is
bot.http_server's, imported only by a server that serves HTTP."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from socketserver import ThreadingMixIn
from types import FrameType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.slack.settling import after_reply

log = logging.getLogger(__name__)


class SocketModeFailed(Exception):
    """The Socket Mode connection could not be opened; `refused` is Slack's error, if it said."""

    def __init__(self, reason: str, *, refused: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.refused = refused


class _Muted(logging.Filter):
    """Drops the Socket Mode client's own records while connecting: a failure to connect
    becomes one line from the caller, not a log line and then that line."""

    def __init__(self) -> None:
        super().__init__()
        self.on = False

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.on


# Stopping must finish within 10 s: in-flight requests get this long, then workers are killed.
GRACEFUL_SECONDS = 8


def freeze_startup_objects() -> None:
    """Keep what start-up created (modules, the app, the catalog, engines) out of garbage
    collection from now on.

    A full collection walks every object the process holds while every thread waits for it: in
    a serving worker that is 130–170 ms, every few seconds under load, and each time the clicks
    in flight wait that long for their acknowledgement. Frozen, a full collection walks only what
    was created since: 5–10 ms.
    """
    gc.collect()
    gc.freeze()
    if log.isEnabledFor(logging.DEBUG):  # counting walks every frozen object: only when shown
        log.debug("process %d froze %d start-up objects", os.getpid(), gc.get_freeze_count())


def freeze_before_forking() -> None:
    """Freeze what this process holds before it forks its serving processes.

    Each forked process starts with it frozen already: its own freeze_startup_objects() then
    walks only what that process created, and its collections never touch (and so never copy)
    the pages it shares with this one. This process, which only watches them, also exits
    without a full collection of all of it.
    """
    freeze_startup_objects()


class ProbesUnavailable(Exception):
    """The probe port cannot be listened on (in use, not allowed)."""


class _ProbeServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietRequests(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - probes every few s
        pass


def serve_probes(app: Callable[..., Any], *, host: str, port: int) -> Callable[[], None]:
    """Serve the WSGI `app` (bot.slack.probes) on host:port in a thread; returns `stop`."""
    try:
        server = make_server(
            host, port, app, server_class=_ProbeServer, handler_class=_QuietRequests
        )
    except OSError as error:
        raise ProbesUnavailable(error.strerror or str(error)) from None
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.5}, name="probes", daemon=True
    )
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop


def run_socket_mode(
    app: App,
    *,
    app_token: str,
    concurrency: int,
    stop: Callable[[], None],
    on_ready: Callable[[], None],
) -> None:
    """Connect over Socket Mode, then call `on_ready` and hold the connection until
    SIGTERM/SIGINT; close it and call `stop`. Raise SocketModeFailed if it cannot connect."""
    # A byte down a pipe, not a threading.Event: a second signal (a Socket Mode process gets
    # one from its parent and one when the parent closes their pipe) can arrive while this
    # thread holds the Event's lock on its way out of wait(), and set() would then wait on
    # that lock forever, until the parent kills the process.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    requested: list[int] = []

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if requested:
            return
        requested.append(signum)
        log.info("received %s, stopping", signal.Signals(signum).name)
        with contextlib.suppress(OSError):
            os.write(wake_w, b"x")

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    logger = logging.getLogger("microlearn.socket_mode")
    muted = _Muted()
    logger.addFilter(muted)
    handler = _ReplyFirst(
        app, app_token, logger=logger, web_client=app.client, concurrency=concurrency
    )
    try:
        muted.on = True
        _connect(handler)
        muted.on = False
        freeze_startup_objects()
        on_ready()
        os.read(wake_r, 1)  # until a signal's handler writes
    finally:
        close_socket_mode(handler)
        stop()
        logger.removeFilter(muted)
        for sig, old in previous.items():
            signal.signal(sig, old)
        os.close(wake_r)
        os.close(wake_w)


class _ReplyFirst(SocketModeHandler):
    """Bolt's Socket Mode handler, which hands answers over to the settling threads only once
    their ack is written to the WebSocket (bot.slack.settling.after_reply)."""

    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        with after_reply():
            super().handle(client, req)  # the app's listeners, then the ack


def close_socket_mode(handler: SocketModeHandler) -> None:
    """Stop taking new envelopes, close the connection and wait for the client's worker pool to
    finish what it has started, without waiting out the client's own timeouts.

    slack_sdk's close() takes the socket's receive lock, which its reader holds for as long as a
    recv() may block (3 s with nothing arriving), then waits for its message processor, blocked
    up to 1 s on an empty queue. Shutting the socket down first ends the recv() at once, and an
    empty message wakes the processor once it is told to stop; what close() does is unchanged.
    """
    client = handler.client
    client.closed = True  # what close() sets first: the processor submits nothing more
    client.auto_reconnect_enabled = False  # a closed socket is not a reason to reconnect
    client.current_session_state.terminated = True  # the reader stops at its next recv()
    session = client.current_session
    sock = getattr(session, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            # The plain socket's shutdown, not SSLSocket's: the reader's SSL state stays as it
            # is, and its recv() returns end of file.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
    client.message_queue.put(None)  # not a message: wakes the processor, which sees `closed`
    handler.close()  # type: ignore[no-untyped-call]


def _connect(handler: SocketModeHandler) -> None:
    try:
        handler.connect()  # type: ignore[no-untyped-call]
    except SlackApiError as error:
        reason = str(error.response.get("error") or "unknown")
        raise SocketModeFailed(reason, refused=True) from None
    except OSError as error:
        raise SocketModeFailed(str(error) or type(error).__name__, refused=False) from None
    if not handler.client.is_connected():  # Slack gave a URL, but its WebSocket did not open
        raise SocketModeFailed("the WebSocket connection failed", refused=False)
