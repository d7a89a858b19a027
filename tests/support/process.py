"""`microlearn serve` as a subprocess, the way an operator runs it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "lessons"
SIGNING_SECRET = "e2e-signing-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bot_environment(*, api_url: str, database_url: str, **extra: str) -> dict[str, str]:
    """A clean environment: nothing from the developer's shell or proxies leaks in."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONUNBUFFERED": "1",
        "SLACK_BOT_TOKEN": "xoxb-standin",
        "SLACK_API_URL": api_url,
        "DATABASE_URL": database_url,
        "LESSONS_DIR": str(LESSONS),
        "MICROLEARN_LOG_LEVEL": "WARNING",
    }
    env.update(extra)
    return env


@dataclass
class BotProcess:
    """A running `microlearn serve`; stop() sends SIGTERM and returns the exit code."""

    process: subprocess.Popen[str]
    url: str | None = None
    output: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None  # reads the output into `output` as it comes

    @property
    def port(self) -> int:
        assert self.url is not None
        return int(self.url.rsplit(":", 1)[1])

    def stop(self, *, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_hard()  # all of it: a worker left behind would keep serving, and hold stdout
            raise
        if self.reader is not None:
            self.reader.join(timeout)  # it reads to the end of the output, which has come
        elif self.process.stdout and not self.process.stdout.closed:
            self.output.append(self.process.stdout.read())
            self.process.stdout.close()
        return code

    def kill_hard(self) -> None:
        """kill -9 the server and its workers: no shutdown code runs."""
        _kill_group(self)
        if self.reader is not None:
            self.reader.join(10)  # the output ends with the last of them
        elif self.process.stdout and not self.process.stdout.closed:
            self.process.stdout.close()

    def healthz(self) -> tuple[int, str]:
        assert self.url is not None
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"{self.url}/healthz", timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def _kill_group(bot: BotProcess) -> None:
    """kill -9 `microlearn serve` and every process it started (they share its process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(bot.process.pid, signal.SIGKILL)
    bot.process.wait(timeout=10)


def start_bot(
    args: list[str], env: Mapping[str, str], *, cwd: Path, port: int | None = None
) -> BotProcess:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", *args],
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so a test can kill -9 all of it
    )
    return BotProcess(process, url=f"http://127.0.0.1:{port}" if port else None)


def start_http_bot(
    env: Mapping[str, str], *, cwd: Path, workers: int = 1, timeout: float = 30.0
) -> BotProcess:
    """`microlearn serve --http` on a free loopback port (`bot.url`) with `workers` workers,
    once it answers /healthz."""
    port = free_port()
    args = ["--http", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    bot = start_bot(args, env, cwd=cwd, port=port)
    try:
        wait_until_healthy(bot, timeout=timeout)
    except BaseException:
        bot.stop()
        raise
    return bot


CONNECTED = "connected to Slack in Socket Mode"


def wait_until_connected(bot: BotProcess, *, timeout: float = 30.0) -> None:
    """Wait until `microlearn serve` says that it is connected over Socket Mode: every one of
    its processes is, and its scheduler runs. Its output goes on being read into `bot.output`
    (a server that several tests share never blocks on a full pipe); stop() waits for the rest."""
    said = threading.Event()

    def read() -> None:
        assert bot.process.stdout is not None
        for line in bot.process.stdout:
            bot.output.append(line)
            if CONNECTED in line:
                said.set()
        bot.process.stdout.close()

    reader = threading.Thread(target=read, daemon=True)
    bot.reader = reader
    reader.start()
    if not said.wait(timeout):
        _kill_group(bot)  # its Socket Mode processes too: they hold its stdout open
        reader.join(timeout)
        raise AssertionError(f"the bot never connected over Socket Mode:\n{''.join(bot.output)}")


def wait_until_healthy(bot: BotProcess, *, timeout: float = 30.0) -> None:
    """Poll /healthz until it answers 200 (the process is starting, not a timing assumption)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bot.process.poll() is not None:
            output = bot.process.communicate()[0]
            raise RuntimeError(f"microlearn serve exited with {bot.process.returncode}:\n{output}")
        try:
            status, _ = bot.healthz()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)  # polling a starting process, not waiting for a scheduled event
    _kill_group(bot)  # gunicorn's workers too
    output = bot.process.communicate()[0]
    raise RuntimeError(f"microlearn serve did not become healthy in time:\n{output}")


def _unread_bytes(local_port: int, remote_port: int) -> int | None:
    """Bytes waiting in the receive queue of the IPv4 socket local_port<->remote_port, per the kernel."""
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            local, remote, queues = fields[1], fields[2], fields[4]
            if (
                int(local.split(":")[1], 16) == local_port
                and int(remote.split(":")[1], 16) == remote_port
            ):
                return int(queues.split(":")[1], 16)
    return None


def wait_until_read(server_port: int, client: socket.socket, *, timeout: float = 10.0) -> None:
    """Wait until the server has accepted `client`'s connection and read what it was sent.

    A connection still in the listening socket's backlog is not in flight yet: it belongs to no
    worker, and closing the listener resets it. Reading the kernel's own queue tells the two apart.
    """
    client_port = client.getsockname()[1]
    deadline = time.monotonic() + timeout
    while _unread_bytes(server_port, client_port) != 0:
        assert time.monotonic() < deadline, "the server never read the request it was sent"
        time.sleep(0.01)  # polling the kernel's socket table, not waiting for a scheduled event
