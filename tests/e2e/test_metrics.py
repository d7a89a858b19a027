"""`GET /metrics` with several processes: gunicorn's workers added up, and the probe port's flag
in Socket Mode. (The counters that move with deliveries and answers: test_serve.py, on its
server; the private directory made when the operator names none: test_logs.py, on its server;
the probe port's page in Socket Mode: test_socket_mode.py.)"""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from bot.cli import main
from tests.standin import SlackStandIn
from tests.support.process import LESSONS, SIGNING_SECRET, bot_environment, start_http_bot
from tests.support.waiting import until

from .scraping import scrape, total, value


@pytest.fixture
def database_url(migrated_sqlite_url: str) -> str:
    return migrated_sqlite_url


def _plant_stale_counter(directory: Path) -> None:
    """What a previous run left: a dead worker's count of 1000 answers."""
    directory.mkdir(parents=True, exist_ok=True)
    stale = MmapedDict(str(directory / "counter_1.db"))  # type: ignore[no-untyped-call]
    key = mmap_key(
        "microlearn_answers_stored", "microlearn_answers_stored_total", ["kind"], ["lesson"], "old"
    )
    stale.write_value(key, 1000.0, 0.0)  # type: ignore[no-untyped-call]
    stale.close()  # type: ignore[no-untyped-call]


def test_two_workers_are_added_up_in_every_scrape(
    standin: SlackStandIn, database_url: str, tmp_path: Path
) -> None:
    directory = tmp_path / "prometheus"
    _plant_stale_counter(directory)
    env = bot_environment(
        api_url=standin.api_url,
        database_url=database_url,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        # Each worker ticks once, a second after it starts, and not again within the test.
        MICROLEARN_TICK_SECONDS="3600",
        PROMETHEUS_MULTIPROC_DIR=str(directory),
    )
    bot = start_http_bot(env, cwd=tmp_path, workers=2)
    try:
        url = f"{bot.url}/metrics"

        def ticks() -> float | None:
            return value(scrape(url)[1], "microlearn_tick_duration_seconds_count")

        assert until(lambda: ticks() == 2, timeout=45, every=0.05), scrape(url)[1]
        # Whichever worker answers, it reports both workers' one tick each.
        seen = {ticks() for _ in range(12)}
        _, samples = scrape(url)
        workers = {p.stem.rsplit("_", 1)[1] for p in directory.glob("histogram_*.db")}
        live = directory / f"gauge_livemax_{min(workers)}.db"
        assert live.exists()  # its tick lag
        # A worker that exits stops counting in the live gauges; its counters still count.
        os.kill(int(min(workers)), signal.SIGTERM)
        assert until(lambda: not live.exists(), timeout=30)
        assert until(lambda: ticks() == 3, timeout=45, every=0.05)  # gunicorn's new worker
    finally:
        assert bot.stop() == 0
    assert seen == {2}
    assert len(workers) == 2  # two processes wrote samples
    assert total(samples, "microlearn_answers_stored_total") == 0  # the stale file went at start
    assert directory.is_dir()  # the operator's directory stays


def test_the_health_port_flag_wins_and_a_busy_port_is_one_line(
    standin: SlackStandIn,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`microlearn serve` in this process (bot.cli.main, which `python -m bot` runs): it stops
    before it serves anything or forks, and a process of its own would only import the app
    again."""
    env = {
        "SLACK_BOT_TOKEN": "xoxb-standin",
        "SLACK_API_URL": standin.api_url,
        "DATABASE_URL": database_url,
        "LESSONS_DIR": str(LESSONS),
        "SLACK_APP_TOKEN": "xapp-standin",
        "MICROLEARN_HTTP_PORT": "1",
    }
    for name in list(os.environ):
        if name.startswith(("SLACK_", "MICROLEARN_", "PROMETHEUS_")) or name in env:
            monkeypatch.delenv(name)
    for name, setting in env.items():
        monkeypatch.setenv(name, setting)
    monkeypatch.chdir(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["serve", "--host", "127.0.0.1", "--health-port", str(port)])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert err.strip().splitlines()[-1] == (
        f"microlearn: cannot serve /healthz and /metrics on 127.0.0.1:{port} (Address already in "
        "use); choose another port with MICROLEARN_HTTP_PORT or --health-port"
    )
    assert "microlearn: connected" not in out  # it stopped before Slack
