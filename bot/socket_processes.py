"""Socket Mode from several processes: a watching parent forks one process per connection,
starts their ticks once all are connected, and replaces one that dies."""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.process
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from types import FrameType
from typing import Any

from bot.server import GRACEFUL_SECONDS, SocketModeFailed, freeze_before_forking, log

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
    freeze_before_forking()
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
            # The parent is stopping, or gone (killed before it could stop us): serve nothing,
            # and stop as SIGTERM would, rather than hold a connection with nobody to stop it.
            os.kill(os.getpid(), signal.SIGTERM)
            return False
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
