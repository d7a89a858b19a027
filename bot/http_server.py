"""gunicorn for HTTP: threaded workers that only get requests that have arrived whole
(bot.buffering), each building its app after the fork; stops on SIGTERM/SIGINT. Imported only
by a server that serves HTTP: Socket Mode (bot.server) never loads gunicorn."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger as GunicornLogger

from bot.buffering import REQUEST_SECONDS, BufferingWorker, HeadScreen, Refusal
from bot.server import GRACEFUL_SECONDS, freeze_before_forking, freeze_startup_objects


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
        # gunicorn's control socket (for its gunicornc tool) sits at one path in $HOME for every
        # server on the machine, and only warns where the root filesystem is read-only; workers
        # here are the operator's setting, not changed at run time.
        "control_socket_disable": True,
    }
    holder["app"] = _Gunicorn(start_worker, options, request_seconds)
    freeze_before_forking()
    holder["app"].run()


class _RootLogging(GunicornLogger):  # type: ignore[misc]
    """gunicorn's own lines go through the process's logging set-up (bot.logs), so they are
    formatted (JSON lines too) and masked like every other line."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in list(self.error_log.handlers):
            self.error_log.removeHandler(handler)
        self.error_log.propagate = True
