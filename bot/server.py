"""Process runners: gunicorn for HTTP, or Socket Mode connections (one per process, several
processes by default); both stop on SIGTERM/SIGINT. In Socket Mode a small HTTP server can
answer probes and scrapes beside the connections."""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import multiprocessing.process
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from socketserver import ThreadingMixIn
from types import FrameType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger as GunicornLogger
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError

from bot.buffering import REQUEST_SECONDS, BufferingWorker, HeadScreen, Refusal

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


@dataclass(frozen=True)
class Worker:
    """What one serving process runs: the WSGI app, what to do when the process stops, and
    what refuses a request from its headers before its body arrives."""

    wsgi: Callable[..., Any]
    stop: Callable[[], None]
    screen: HeadScreen | None = None


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(
        self, start_worker: Callable[[], Worker], options: dict[str, Any], request_seconds: float
    ) -> None:
        self._start_worker = start_worker
        self._options = options
        self._worker: Worker | None = None
        self.request_seconds = request_seconds  # read by BufferingWorker
        super().__init__()

    def refuse_head(self, method: str, path: str, headers: Mapping[str, str]) -> Refusal | None:
        """BufferingWorker asks this once a request's headers are in."""
        if self._worker is None or self._worker.screen is None:
            return None
        return self._worker.screen(method, path, headers)

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Callable[..., Any]:
        # Called in each worker after the fork: engines and threads are created per process.
        self._worker = self._start_worker()
        freeze_startup_objects()
        return self._worker.wsgi

    def stop_worker(self) -> None:
        if self._worker is not None:
            self._worker.stop()


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


def run_http(
    start_worker: Callable[[], Worker],
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    log_level: str,
    request_seconds: float = REQUEST_SECONDS,
    on_worker_exit: Callable[[int], None] | None = None,
) -> None:
    """Serve under gunicorn's threaded workers until SIGTERM/SIGINT.

    Threads only ever get requests that have arrived whole (`BufferingWorker`): a client that
    sends slowly, or not at all, waits in the event loop until `request_seconds` runs out.
    """
    holder: dict[str, _Gunicorn] = {}

    def worker_exit(_server: Any, _worker: Any) -> None:
        holder["app"].stop_worker()

    def child_exit(_server: Any, worker: Any) -> None:  # in the master, once a worker is gone
        if on_worker_exit is not None:
            on_worker_exit(int(worker.pid))

    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": BufferingWorker,
        "threads": threads,
        "graceful_timeout": GRACEFUL_SECONDS,
        "timeout": 30,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": log_level.lower(),
        "proc_name": "microlearn",
        "worker_exit": worker_exit,
        "child_exit": child_exit,
        "logger_class": _RootLogging,
    }
    holder["app"] = _Gunicorn(start_worker, options, request_seconds)
    holder["app"].run()


class _RootLogging(GunicornLogger):  # type: ignore[misc]
    """gunicorn's own lines go through the process's logging set-up (bot.logs), so they are
    formatted (JSON lines too) and masked like every other line."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in list(self.error_log.handlers):
            self.error_log.removeHandler(handler)
        self.error_log.propagate = True


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
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stopping.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    logger = logging.getLogger("microlearn.socket_mode")
    muted = _Muted()
    logger.addFilter(muted)
    handler = SocketModeHandler(
        app, app_token, logger=logger, web_client=app.client, concurrency=concurrency
    )
    try:
        muted.on = True
        _connect(handler)
        muted.on = False
        freeze_startup_objects()
        on_ready()
        stopping.wait()
    finally:
        # Stop taking new envelopes; the client's worker pool finishes what it has started.
        handler.close()  # type: ignore[no-untyped-call]
        stop()
        logger.removeFilter(muted)
        for sig, old in previous.items():
            signal.signal(sig, old)


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


# -- Socket Mode over several processes ----------------------------------------------------------

# A process that died is replaced, but not sooner than this after it was started: a fault that
# kills every new process at once (the database gone) does not become a busy loop of forks.
RESTART_SECONDS = 1.0


@dataclass
class _Child:
    """One Socket Mode process as the parent sees it: the process, its end of their pipe, and
    whether it has connected."""

    slot: int
    process: multiprocessing.process.BaseProcess
    conn: Connection
    connected: bool = False
    started: float = 0.0


def run_socket_mode_processes(
    serve_one: Callable[[Callable[[], bool]], None],
    *,
    processes: int,
    on_ready: Callable[[], None],
    on_exit: Callable[[int], None] | None = None,
) -> None:
    """Serve Socket Mode from `processes` forked processes until SIGTERM/SIGINT.

    Each process runs `serve_one(ready)`: it builds its own app and database pool, opens its own
    connection (Slack spreads envelopes over an app's connections, up to 10), calls `ready()`
    once connected, and starts its scheduler only if that returns True, which it does once
    every process has connected. So one interpreter lock no longer carries every
    acknowledgement and everything that follows it, and nothing is sent before Slack can reach
    the bot. If a process cannot connect at start, the others are stopped and its
    SocketModeFailed is raised here; one that dies later is replaced. Stopping closes every
    connection within GRACEFUL_SECONDS.

    Call it before this process starts any thread: the processes are forked.
    """
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    parent = os.getpid()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if os.getpid() != parent:  # a child between its fork and its own handlers
            raise SystemExit(0)
        log.info("received %s, stopping", signal.Signals(signum).name)
        with contextlib.suppress(OSError):
            os.write(wake_w, b"x")

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    supervisor = _Supervisor(serve_one, on_ready=on_ready, on_exit=on_exit, wake=(wake_r, wake_w))
    try:
        for slot in range(processes):
            supervisor.start(slot)
        supervisor.watch()
    finally:
        supervisor.stop()
        for sig, old in previous.items():
            signal.signal(sig, old)
        os.close(wake_r)
        os.close(wake_w)


class _Supervisor:
    """The parent of the Socket Mode processes: starts them, hears each connect (and lets them
    all tick once every one has), and replaces one that dies."""

    def __init__(
        self,
        serve_one: Callable[[Callable[[], bool]], None],
        *,
        on_ready: Callable[[], None],
        on_exit: Callable[[int], None] | None,
        wake: tuple[int, int],
    ) -> None:
        self._context = multiprocessing.get_context("fork")
        self._serve_one = serve_one
        self._on_ready = on_ready
        self._on_exit = on_exit
        self._wake = wake
        self._children: dict[int, _Child] = {}
        self._restart_at: dict[int, float] = {}
        self._running = False

    def start(self, slot: int) -> None:
        mine, theirs = self._context.Pipe()
        others = [child.conn for child in self._children.values()] + [mine]
        process = self._context.Process(
            target=_socket_child,
            args=(self._serve_one, theirs, others, self._wake),
            name=f"microlearn-socket-{slot}",
        )
        sys.stdout.flush()
        sys.stderr.flush()
        process.start()
        theirs.close()
        self._children[slot] = _Child(slot, process, mine, started=time.monotonic())

    def watch(self) -> None:
        """Until the wake pipe says stop: hear the children, reap and replace the dead."""
        while True:
            ready = wait(self._watched(), self._timeout())
            if self._wake[0] in ready:
                return
            for child in list(self._children.values()):
                exited = child.process.sentinel in ready
                self._hear(child, pending=child.conn in ready, exited=exited)
                if exited:
                    self._reap(child)
            self._restart_due()

    def stop(self) -> None:
        _stop_children(list(self._children.values()), self._on_exit)

    def _watched(self) -> list[Any]:
        watched: list[Any] = [self._wake[0]]
        for child in self._children.values():
            watched.append(child.process.sentinel)
            if not child.conn.closed:
                watched.append(child.conn)
        return watched

    def _timeout(self) -> float | None:
        if not self._restart_at:
            return None
        return max(0.0, min(self._restart_at.values()) - time.monotonic())

    def _hear(self, child: _Child, *, pending: bool, exited: bool) -> None:
        """Read what a child said; all of it if it exited (why it could not connect, say)."""
        while not child.conn.closed and (pending or exited):
            try:
                if exited and not child.conn.poll():
                    break
                message = child.conn.recv()
            except (EOFError, OSError):
                child.conn.close()
                break
            pending = False
            self._heard(child, message)

    def _heard(self, child: _Child, message: tuple[Any, ...]) -> None:
        if message[0] == "failed" and not self._running:
            raise SocketModeFailed(message[1], refused=message[2])
        if message[0] == "failed":
            log.error("a Socket Mode process could not connect: %s", message[1])
        elif message[0] == "connected":
            child.connected = True
            if self._running:
                child.conn.send("go")
            elif all(c.connected for c in self._children.values()):
                self._on_ready()  # before any process ticks: it may still refuse to run
                self._running = True
                for each in self._children.values():
                    each.conn.send("go")

    def _reap(self, child: _Child) -> None:
        child.process.join()
        child.conn.close()
        del self._children[child.slot]
        if self._on_exit is not None and child.process.pid is not None:
            self._on_exit(child.process.pid)
        if not self._running:
            raise SocketModeFailed(
                f"a Socket Mode process exited with code {child.process.exitcode}",
                refused=False,
            )
        log.error(
            "Socket Mode process %s exited with code %s; starting another",
            child.process.pid,
            child.process.exitcode,
        )
        self._restart_at[child.slot] = child.started + RESTART_SECONDS

    def _restart_due(self) -> None:
        for slot, when in list(self._restart_at.items()):
            if when <= time.monotonic():
                del self._restart_at[slot]
                self.start(slot)


def _socket_child(
    serve_one: Callable[[Callable[[], bool]], None],
    conn: Connection,
    inherited: list[Connection],
    fds: tuple[int, int],
) -> None:
    """A forked Socket Mode process: serve, telling the parent when connected (or why not)."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)  # until run_socket_mode sets its own
    for other in inherited:  # the parent's ends: the parent alone must hold them (EOF = gone)
        other.close()
    for fd in fds:
        os.close(fd)

    def ready() -> bool:
        try:
            conn.send(("connected",))
            go = bool(conn.recv() == "go")
        except (EOFError, OSError):
            return False  # the parent is stopping (or gone): serve nothing
        threading.Thread(target=_stop_when_parent_goes, args=(conn,), daemon=True).start()
        return go

    try:
        serve_one(ready)
    except SocketModeFailed as error:
        with contextlib.suppress(OSError):
            conn.send(("failed", error.reason, error.refused))
        raise SystemExit(3) from None


def _stop_when_parent_goes(conn: Connection) -> None:
    """The parent closes its end to stop us, or died: either way, stop as SIGTERM would."""
    with contextlib.suppress(EOFError, OSError):
        while True:
            conn.recv()
    os.kill(os.getpid(), signal.SIGTERM)


def _stop_children(children: list[_Child], on_exit: Callable[[int], None] | None) -> None:
    """SIGTERM every child (each closes its connection and finishes what it started), wait up
    to GRACEFUL_SECONDS, then kill what is left."""
    for child in children:
        child.conn.close()
        if child.process.is_alive():
            with contextlib.suppress(ProcessLookupError):
                child.process.terminate()
    deadline = time.monotonic() + GRACEFUL_SECONDS
    for child in children:
        child.process.join(max(0.0, deadline - time.monotonic()))
        if child.process.is_alive():
            log.warning("Socket Mode process %s did not stop in time; killed", child.process.pid)
            child.process.kill()
            child.process.join()
        if on_exit is not None and child.process.pid is not None:
            on_exit(child.process.pid)
