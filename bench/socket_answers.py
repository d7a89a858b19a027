"""The answers bench over Socket Mode, the default deployment: clicks as `interactive` envelopes.

`bench/answers.py --transport socket` (or `both`, the default) runs this after the HTTP phases,
on clicks of its own (answers the HTTP phases never sent):

1. `microlearn serve` runs in Socket Mode against the stand-in (`SLACK_APP_TOKEN` set, no
   `--http`), with the shipped settings (`--socket-processes N` sets MICROLEARN_SOCKET_PROCESSES;
   the stand-in spreads envelopes over its processes' connections in turn, as Slack spreads
   them); it is ready when it says that every process is connected.
2. The clicks go out open loop at `--rate` answers/s as Socket Mode envelopes through the
   stand-in's WebSocket server (`SlackStandIn.socket_send`), each from a thread of a pool of
   `--concurrency` senders; latency is from handing the envelope to the WebSocket to reading the
   app's ack on it: Slack's view of the ack.
3. The same, against a bare Bolt app in Socket Mode that only acks (`bare_socket_app` below,
   run as `python bench/socket_answers.py --bare URL`), with slack_sdk's built-in Socket Mode
   client and the same listener concurrency: Bolt's defaults, the goal's baseline.

Every answer sent must be stored once (as in the HTTP phases) and get its feedback once, through
its own response URL, whichever process took it; the bench fails otherwise.

Unlike the HTTP phases, the sender shares this process (and its GIL) with the stand-in, because
Socket Mode's server side is the stand-in's own WebSocket server. Both apps are measured the
same way, so the ratio between them is what the goal uses (p99 within 1.5× bare Bolt's).
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `bot`, `tests`

from answers import (
    BARE,
    LoadResult,
    Phase,
    Sample,
    _cpu_report,
    _cpu_snapshot,
    _print_phase,
    _wait_for_quiet,
    _write_samples,
)

from bot.sandbox.slack import SlackStandIn, SocketAckTimeoutError, SocketNotConnectedError
from bot.sandbox.slack.server import JSON
from tests.support.process import CONNECTED, BotProcess, bot_environment

ROOT = Path(__file__).resolve().parents[1]
APP_TOKEN = "xapp-standin"  # the stand-in's app-level token
ACK_TIMEOUT = 10.0  # seconds; far past Slack's 3 s, so a slow ack is measured, not dropped
CONNECT_TIMEOUT = 60.0
BARE_SOCKET = f"{BARE} (Socket Mode)"


def payloads_of(bodies: Sequence[bytes]) -> list[JSON]:
    """The `block_actions` payloads inside signed-at-send HTTP bodies (`payload=<json>`)."""
    return [json.loads(parse_qs(body.decode())["payload"][0]) for body in bodies]


def socket_phases(
    standin: SlackStandIn,
    url: str,
    work: Path,
    args: argparse.Namespace,
    payloads: Sequence[JSON],
    *,
    dialect: str,
) -> tuple[Phase | None, Phase | None, bool]:
    """microlearn in Socket Mode, then bare Bolt in Socket Mode, each given the same clicks;
    and whether every answer got its feedback exactly once."""
    mine: Phase | None = None
    bare: Phase | None = None
    feedback_ok = True
    if args.apps in ("both", "microlearn"):
        env = bot_environment(
            api_url=standin.api_url,
            database_url=url,
            SLACK_APP_TOKEN=APP_TOKEN,
            MICROLEARN_LISTENER_THREADS=str(args.listener_threads),
            MICROLEARN_LOG_LEVEL="WARNING",
        )
        if args.socket_processes:
            env["MICROLEARN_SOCKET_PROCESSES"] = str(args.socket_processes)
        server = _spawn([sys.executable, "-m", "bot", "serve"], env, work, "socket-serve", standin)
        responded = len(standin._responses)
        try:
            mine = _socket_phase(
                "microlearn (Socket Mode)", server, standin, payloads, args, dialect
            )
            sent = [payloads[sample.click] for sample in mine.result.samples]
            feedback_ok = _check_feedback(standin, sent, start=responded)
        finally:
            server.stop(timeout=30)
    if args.apps in ("both", "bare"):
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--bare",
            standin.api_url,
            "--concurrency",
            str(args.listener_threads),
        ]
        env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONUNBUFFERED": "1"}
        server = _spawn(command, env, work, "socket-bare", standin)
        try:
            bare = _socket_phase(BARE_SOCKET, server, standin, payloads, args, dialect)
        finally:
            server.stop(timeout=30)
    return mine, bare, feedback_ok


def _spawn(
    command: list[str], env: dict[str, str], work: Path, name: str, standin: SlackStandIn
) -> BotProcess:
    connects = standin.socket.connects() + 1
    path = work / f"{name}.log"
    log = path.open("w")
    process = subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    log.close()
    server = BotProcess(process)
    deadline = time.monotonic() + CONNECT_TIMEOUT

    def connected() -> bool:
        # microlearn says so once every one of its processes is connected; bare Bolt has one.
        if command[1:3] == ["-m", "bot"]:
            return CONNECTED in path.read_text(errors="replace")
        return standin.wait_for_socket_client(0.5, connects=connects)

    while not connected():
        time.sleep(0.1)  # polling a starting process, not timing the load
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop(timeout=5)
            tail = (work / f"{name}.log").read_text(errors="replace")[-4000:]
            raise SystemExit(f"{name} did not connect over Socket Mode:\n{tail}")
    return server


def _check_feedback(standin: SlackStandIn, payloads: Sequence[JSON], *, start: int) -> bool:
    """Every answer's feedback is posted to its click's response URL, and only once, whichever
    of microlearn's processes took the click."""
    urls = {str(payload["response_url"]) for payload in payloads}
    standin.wait_for(lambda: len(standin._responses) - start >= len(urls), timeout=60)
    posted = Counter(str(r["url"]) for r in standin._responses[start:] if r["url"] in urls)
    twice = sum(1 for count in posted.values() if count > 1)
    print(
        f"    feedback: {len(posted)} of {len(urls)} answers got theirs, {twice} more than once"
        + ("" if len(posted) == len(urls) and not twice else " (MISMATCH)"),
        flush=True,
    )
    return len(posted) == len(urls) and not twice


def _socket_phase(
    name: str,
    server: BotProcess,
    standin: SlackStandIn,
    payloads: Sequence[JSON],
    args: argparse.Namespace,
    dialect: str,
) -> Phase:
    gc.collect()
    gc.freeze()  # as the HTTP phases do: the stand-in's prepared state stays out of collection
    _wait_for_quiet(args.wait_idle)
    postgres = dialect == "postgresql" and not name.startswith(BARE)
    before = _cpu_snapshot(server, None, postgres=postgres)
    # The stand-in is Slack here, and shares this process with the senders: a collection in it
    # stalls every envelope and ack in flight. On a busy machine its collections during a phase
    # took 30-285 ms each (1.3 s in all), and 33 of the 61 slowest acks of microlearn's phase
    # were in flight during one, against 6 % of all acks; microlearn's phase, whose feedback
    # posts the stand-in keeps, paid more of it than bare Bolt's. Slack does not pause for us:
    # nothing is collected here while the clicks go out.
    gc.disable()
    try:
        result = _send_open_loop(standin, payloads, args)
    finally:
        gc.enable()
    after = _cpu_snapshot(server, None, postgres=postgres)
    if args.samples is not None:
        _write_samples(args.samples / f"{dialect}-{name.replace(' ', '-')}.csv", result)
    measured = float(args.seconds)
    if result.ran_out and result.samples:
        last = max(s.started + s.latency for s in result.samples)
        measured = max(1e-9, min(measured, last - args.warmup))
    phase = Phase(name, result, args.warmup, measured, _cpu_report(before, after))
    _print_phase(phase, args)
    return phase


def _send_open_loop(
    standin: SlackStandIn, payloads: Sequence[JSON], args: argparse.Namespace
) -> LoadResult:
    rate = args.rate if args.rate > 0 else 1e9
    total = args.warmup + args.seconds
    count = min(len(payloads), int(total * rate)) if args.rate > 0 else len(payloads)
    samples: list[Sample] = []
    errors: list[str] = []
    lock = threading.Lock()
    cpu_before = time.process_time()
    start = time.perf_counter()

    def send(index: int, scheduled: float) -> None:
        written = time.perf_counter()
        status = 200
        try:
            standin.socket_send("interactive", payloads[index], timeout=ACK_TIMEOUT)
        except (SocketAckTimeoutError, SocketNotConnectedError) as error:
            status = 0
            with lock:
                errors.append(str(error))
        done = time.perf_counter()
        sample = Sample(index, written - start, written - scheduled, done - written, status)
        with lock:
            samples.append(sample)

    with ThreadPoolExecutor(max_workers=args.concurrency, thread_name_prefix="sender") as pool:
        for index in range(count):
            scheduled = start + index / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)  # the open-loop schedule of a load generator, not a test
            pool.submit(send, index, scheduled)
    elapsed = time.perf_counter() - start
    return LoadResult(
        samples=sorted(samples, key=lambda s: s.started),
        elapsed=elapsed,
        cpu_seconds=time.process_time() - cpu_before,
        ran_out=count < int(total * rate),
        errors=errors[:20],
    )


# -- the bare Bolt Socket Mode app ---------------------------------------------------------------


def bare_socket_app(api_url: str, concurrency: int) -> None:
    """Bolt with its defaults, connected over Socket Mode, acking every answer click and nothing
    more; runs until SIGTERM."""
    from slack_bolt import Ack, App
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk import WebClient

    client = WebClient(token="xoxb-standin", base_url=api_url.rstrip("/") + "/")
    app = App(client=client, token_verification_enabled=False, signing_secret="unused")

    @app.action(re.compile(r"answer_\d+"))
    def answer(ack: Ack) -> None:
        ack()

    handler = SocketModeHandler(app, APP_TOKEN, web_client=client, concurrency=concurrency)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    handler.connect()  # type: ignore[no-untyped-call]
    stopping.wait()
    handler.close()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="bare Bolt in Socket Mode, for bench/answers.py")
    parser.add_argument("--bare", required=True, metavar="SLACK_API_URL")
    parser.add_argument("--concurrency", type=int, default=16)
    options = parser.parse_args()
    bare_socket_app(options.bare, options.concurrency)
