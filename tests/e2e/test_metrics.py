"""`GET /metrics` on the running server: Prometheus text, counters that move with deliveries and
answers, gunicorn's workers added up, and the same page on the probe port in Socket Mode."""

from __future__ import annotations

import json
import os
import signal
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.parser import text_string_to_metric_families

from tests.standin import SlackDriver, SlackStandIn
from tests.support.process import (
    SIGNING_SECRET,
    BotProcess,
    bot_environment,
    free_port,
    start_bot,
    start_http_bot,
    wait_until_connected,
)
from tests.support.waiting import until

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> tuple[str, Samples]:
    """GET url on a new connection: its content type and every sample by (name, labels)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as response:
        content_type = response.headers["Content-Type"]
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return content_type, samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def total(samples: Samples, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'microlearn.db'}"


# The two tests that count on one `serve --http` (one worker, a fresh SQLite file) share it, and
# so run on one xdist worker, in this file's order: the first reads the counters of a server that
# has sent nothing yet; the second checks the 429 series, which nothing before it moves.
ONE_SERVER = pytest.mark.xdist_group("e2e-metrics")


@pytest.fixture(scope="module")
def http_bot_counting(
    standin: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    folder = tmp_path_factory.mktemp("metrics")
    env = bot_environment(
        api_url=standin.api_url,
        database_url=f"sqlite:///{folder / 'microlearn.db'}",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
    )
    bot = start_http_bot(env, cwd=folder)
    try:
        yield bot
    finally:
        assert bot.stop() == 0


@ONE_SERVER
def test_metrics_show_a_delivery_and_an_answer(
    standin: SlackStandIn, http_bot_counting: BotProcess
) -> None:
    bot = http_bot_counting
    url = f"{bot.url}/metrics"
    content_type, before = scrape(url)
    assert content_type.startswith("text/plain")
    for kind in ("lesson", "review", "reminder", "notice"):  # every kind has a series
        assert value(before, "microlearn_deliveries_sent_total", kind=kind) == 0
    assert value(before, "microlearn_outbox_due") == 0
    assert value(before, "microlearn_outbox_oldest_due_age_seconds") == 0

    driver = SlackDriver(
        standin, request_url=f"{bot.url}/slack/events", signing_secret=SIGNING_SECRET
    )
    lead = standin.add_user("mo", tz="Europe/Berlin", is_admin=True)
    learner = standin.add_user("mia", tz="Europe/Berlin")
    driver.command(lead, f"send security-basics/spot-phishing to <@{learner}>")
    assert standin.wait_for(lambda: len(standin.messages(learner)) >= 4, timeout=15)
    dm = standin.dm_channel(learner)
    question = next(m for m in standin.messages(learner) if str(m["text"]).startswith("Question 1"))
    assert driver.click(learner, question, channel_id=dm, action_id="answer_1").status == 200

    def answered() -> bool:
        return (
            value(scrape(url)[1], "microlearn_answers_stored_total", kind="lesson") == 1
            and value(scrape(url)[1], "microlearn_deliveries_sent_total", kind="lesson") == 1
        )

    assert until(answered, timeout=15, every=0.05), scrape(url)[1]
    _, after = scrape(url)
    assert value(after, "microlearn_answer_ack_seconds_count") == 1
    assert 0 < (value(after, "microlearn_answer_ack_seconds_sum") or 0) < 3
    assert value(after, "microlearn_deliveries_sent_total", kind="reminder") == 0
    posted = standin.calls("chat.postMessage")
    assert value(
        after, "microlearn_slack_api_calls_total", method="chat.postMessage", outcome="ok"
    ) == len(posted)
    assert (value(after, "microlearn_tick_duration_seconds_count") or 0) >= 1
    assert value(after, "microlearn_outbox_due") == 0
    assert total(after, "microlearn_deliveries_failed_total") == 0


@ONE_SERVER
def test_slack_errors_and_429s_are_counted_by_method_and_outcome(
    standin: SlackStandIn, http_bot_counting: BotProcess
) -> None:
    bot = http_bot_counting
    driver = SlackDriver(
        standin, request_url=f"{bot.url}/slack/events", signing_secret=SIGNING_SECRET
    )
    lead = standin.add_user("al", tz="Europe/Berlin", is_admin=True)
    learner = standin.add_user("bo", tz="Europe/Berlin")
    standin.fail("chat.postMessage", "ratelimited", retry_after=1, times=1)
    driver.command(lead, f"send security-basics/spot-phishing to <@{learner}>")
    assert standin.wait_for(lambda: len(standin.messages(learner)) >= 4, timeout=20)
    _, samples = scrape(f"{bot.url}/metrics")
    assert value(samples, "microlearn_slack_rate_limited_total", method="chat.postMessage") == 1
    assert (
        value(
            samples,
            "microlearn_slack_api_calls_total",
            method="chat.postMessage",
            outcome="http_429",
        )
        == 1
    )


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


def test_without_a_directory_each_run_gets_a_private_one_removed_at_exit(
    standin: SlackStandIn, database_url: str, tmp_path: Path
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = bot_environment(
        api_url=standin.api_url,
        database_url=database_url,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        TMPDIR=str(temp),
    )
    bot = start_http_bot(env, cwd=tmp_path, workers=2)
    try:
        made = list(temp.glob("microlearn-metrics-*"))
        files = [path.name for path in made[0].iterdir()] if made else []
        _, samples = scrape(f"{bot.url}/metrics")
    finally:
        assert bot.stop() == 0
    assert len(made) == 1 and any(name.endswith(".db") for name in files)
    assert value(samples, "microlearn_outbox_due") == 0
    assert list(temp.iterdir()) == []


@pytest.fixture
def socket_bot_with_probes(
    standin: SlackStandIn, database_url: str, tmp_path: Path
) -> Iterator[tuple[BotProcess, int]]:
    port = free_port()
    env = bot_environment(
        api_url=standin.api_url,
        database_url=database_url,
        SLACK_APP_TOKEN="xapp-standin",
        MICROLEARN_HTTP_PORT=str(port),
    )
    bot = start_bot([], env, cwd=tmp_path)
    wait_until_connected(bot)
    yield bot, port
    bot.stop()


def test_socket_mode_serves_healthz_and_metrics_on_its_http_port(
    standin: SlackStandIn, socket_bot_with_probes: tuple[BotProcess, int]
) -> None:
    bot, port = socket_bot_with_probes
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"status": "ok", "database": "ok"}
    ann = standin.add_user("sol", tz="Europe/Berlin")
    driver = SlackDriver(standin, mode="socket")
    assert driver.command(ann, "help").payload()["response_type"] == "ephemeral"
    content_type, samples = scrape(f"http://127.0.0.1:{port}/metrics")
    assert content_type.startswith("text/plain")
    assert value(samples, "microlearn_deliveries_sent_total", kind="lesson") == 0
    assert value(samples, "microlearn_outbox_due") == 0
    with pytest.raises(urllib.error.HTTPError) as missing:
        opener.open(f"http://127.0.0.1:{port}/slack/events", timeout=10)
    assert missing.value.code == 404
    missing.value.close()
    assert bot.stop() == 0
    assert f"health and metrics on http://0.0.0.0:{port}/healthz" in "".join(bot.output)


def test_the_health_port_flag_wins_and_a_busy_port_is_one_line(
    standin: SlackStandIn, database_url: str, tmp_path: Path
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = bot_environment(
            api_url=standin.api_url,
            database_url=database_url,
            SLACK_APP_TOKEN="xapp-standin",
            MICROLEARN_HTTP_PORT="1",
        )
        bot = start_bot(["--host", "127.0.0.1", "--health-port", str(port)], env, cwd=tmp_path)
        code = bot.process.wait(timeout=30)
        output = bot.process.communicate()[0]
    assert code == 1
    assert output.strip().splitlines()[-1] == (
        f"microlearn: cannot serve /healthz and /metrics on 127.0.0.1:{port} (Address already in "
        "use); choose another port with MICROLEARN_HTTP_PORT or --health-port"
    )
