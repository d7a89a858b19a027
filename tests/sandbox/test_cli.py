"""`microlearn sandbox` and `make run`'s `serve --sandbox-without-credentials`, as processes."""

from __future__ import annotations

import queue
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from bot import cli
from tests.support.process import LESSONS, free_port

READY_SECONDS = 60.0  # a bound on start-up under load, not a pause


class Running:
    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            env={"PATH": "/usr/bin:/bin", "MICROLEARN_LOG_LEVEL": "WARNING", **env},
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for_line(self, start: str) -> str:
        while True:
            line = self.lines.get(timeout=READY_SECONDS)
            if line is None:
                raise AssertionError("the process ended:\n" + "\n".join(self.seen))
            self.seen.append(line)
            if line.startswith(start):
                return line

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def rest(self) -> str:
        lines = list(self.seen)
        while (line := self.lines.get(timeout=READY_SECONDS)) is not None:
            lines.append(line)
        return "\n".join(lines)


def _get(url: str) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=30) as response:
        return int(response.status)


def test_sandbox_prints_its_address_serves_the_page_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    running = Running(
        ["sandbox", "--port", str(port), "--lessons", str(LESSONS)], env={}, cwd=tmp_path
    )
    try:
        line = running.wait_for_line("microlearn sandbox: open")
        assert line == f"microlearn sandbox: open http://127.0.0.1:{port} in your browser"
        assert _get(f"http://127.0.0.1:{port}/api/state?as=UPRIYA") == 200
        assert (tmp_path / "sandbox.db").exists()
        assert not (tmp_path / "microlearn.db").exists()
    finally:
        code = running.stop()
    output = running.rest()
    assert code == 0, output
    assert "deploy/slack-manifest.yaml" in output
    assert "SLACK_BOT_TOKEN" in output and "SLACK_APP_TOKEN" in output
    assert output.splitlines()[-1] == "microlearn sandbox: stopped"
    assert "Traceback" not in output


def test_make_run_without_credentials_opens_the_sandbox_on_its_configured_port(
    tmp_path: Path,
) -> None:
    port = free_port()
    running = Running(
        ["serve", "--sandbox-without-credentials"],
        env={"MICROLEARN_SANDBOX_PORT": str(port), "LESSONS_DIR": str(LESSONS)},
        cwd=tmp_path,
    )
    try:
        line = running.wait_for_line("microlearn sandbox: open")
        assert f"http://127.0.0.1:{port}" in line
    finally:
        assert running.stop() == 0
    assert "microlearn sandbox: stopped" in running.rest()


def test_make_run_with_credentials_serves_slack_not_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": "xapp-1",
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",  # nothing listens there
        "LESSONS_DIR": str(LESSONS),
    }.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["serve", "--sandbox-without-credentials"]) == cli.EXIT_FAILED
    output = capsys.readouterr()
    assert "cannot reach Slack at SLACK_API_URL" in output.err
    assert "sandbox" not in output.out + output.err


def test_a_taken_port_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["sandbox", "--port", str(port)]) == cli.EXIT_FAILED
    error = capsys.readouterr().err
    assert error.splitlines() == [
        f"microlearn: cannot listen on 127.0.0.1:{port} (Address already in use); "
        "choose another port with --port or MICROLEARN_SANDBOX_PORT"
    ]
    assert not (tmp_path / "sandbox.db").exists()
