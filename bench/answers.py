"""Answer load benchmark: signed quiz clicks against `microlearn serve --http`, and bare Bolt.

Run on purpose, never by the suite:

    .venv/bin/python bench/answers.py [--seconds 60] [--rate 200] [--concurrency N]
                                      [--db sqlite|postgresql|both] [--workers W]
                                      [--web-threads T] [--listener-threads L] [--apps ...]

For each database (a temporary SQLite file; a scratch PostgreSQL database on DATABASE_URL_TEST's
server, created and dropped):

1. Prepare, through Slack's front door: the Slack stand-in (bot/sandbox/slack) runs in this process
   with an admin and enough learners in one user group; `microlearn serve --http` runs as a
   subprocess against it (its production server: gunicorn, gthread workers). The admin runs
   `/learn send <lesson> to <user group>` for three shipped lessons of three one-tap questions
   each (one lesson at a time, so no DM hits the per-channel pacing), and the running bot
   delivers them; we wait on `standin.wait_for` until every question message was posted. The
   server is then restarted with the shipped settings (only threads and workers set).
2. Build one signed-later `block_actions` body per (learner, question) from the posted question
   messages (`SlackDriver.click`, captured instead of sent): every click is a new answer. They
   are ordered round-robin over learners, so one learner's clicks are seconds apart.
3. Timed phase: a load generator in its own process (one asyncio loop, raw HTTP/1.1 keep-alive
   connections, so that it shares neither a GIL with the stand-in nor threads with anything)
   sends the clicks open-loop at `--rate` answers/s (0: closed loop, as fast as `--concurrency`
   connections go), signing each with a fresh timestamp just before it is written. Latency is
   from writing the request to reading the whole HTTP response: Slack's view of the ack. The
   first `--warmup` seconds are sent and stored but kept out of the latency figures.
4. The same clicks, the same way, against a bare Bolt app that only acks (`bare_app` below),
   under gunicorn with the same worker class, workers and threads: once with Bolt's defaults
   (the listener on Bolt's executor, the request's thread polling for the ack every 10 ms), the
   baseline the goal names, and once acking in the request's thread (process_before_response),
   the fastest ack Bolt gives and the way microlearn takes answer clicks.
5. Answers stored (AnswerReports.answer_rows, per course) are compared with answers sent:
   the same count and the same (learner, lesson, question) set. Exit 1 if they differ.

The machine has two cores shared by the server, PostgreSQL, the stand-in (which the bot calls
after every ack) and the load generator: a CPU breakdown per phase is printed (server CPU per
answer included), and before each phase the bench waits (`--wait-idle`) for other people's work
on the machine to quiet down, and says when it did not. `--feedback-latency MS` makes the
stand-in answer response_url posts as slowly as Slack does from afar. `--samples DIR` writes
every request's timing as CSV. Server logs stay in /tmp/microlearn-bench-answers-*/.

Goal: p99 <= 100 ms at >= 200 answers/s, within 1.5x bare Bolt's p99 (and, stricter, of bare
Bolt acking in the request thread); each is printed as met or MISSED (missed goals do not change
the exit code; a stored/sent mismatch does).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import hmac
import json
import logging
import math
import multiprocessing
import os
import pickle
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tests` is not installed

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult
from sqlalchemy import func, select, text
from sqlmodel import col

from bot.content.loader import load_catalog
from bot.domain.lesson import Catalog, QuestionKind
from bot.sandbox.slack import DriverResponse, SlackDriver, SlackStandIn
from bot.sandbox.slack import server as standin_server
from bot.sandbox.slack.server import JSON, _Reply
from bot.storage.answer_reports import AnswerReports
from bot.storage.db import Database
from bot.storage.models import Course, Delivery, Lesson
from tests.support.databases import (
    create_postgres_database,
    drop_postgres_database,
    postgres_test_url,
    reachable_databases,
)
from tests.support.process import (
    LESSONS,
    SIGNING_SECRET,
    BotProcess,
    bot_environment,
    free_port,
    wait_until_healthy,
)

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

ROOT = Path(__file__).resolve().parents[1]

# Three shipped lessons whose three questions are all one-tap buttons (single / true_false).
BENCH_LESSONS = (
    "security-basics/use-mfa-safely",
    "security-basics/passwords-and-passkeys",
    "leading-people/sbi-feedback",
)
QUESTIONS_PER_LESSON = 3
ONE_TAP = frozenset({QuestionKind.SINGLE, QuestionKind.TRUE_FALSE})
EVENTS_PATH = "/slack/events"
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
IDLE_RECONNECT = 3.0  # seconds; gunicorn (as bot/server.py sets it) keeps idle connections 5 s
REQUEST_TIMEOUT = 10.0  # seconds; far past Slack's 3 s, so a slow ack is measured, not dropped
GOAL_RATE = 200.0
GOAL_P99_MS = 100.0
GOAL_RATIO = 1.5
BARE = "bare Bolt"  # Bolt's defaults: listeners on its executor, the request thread polls for ack
BARE_INLINE = "bare Bolt acking in the request thread"  # process_before_response=True
SHIPPED_THREADS = 16  # MICROLEARN_WEB_THREADS and MICROLEARN_LISTENER_THREADS defaults
PREP_SEND_RATE = "100000"  # preparation only: deliver as fast as the bot and stand-in go
PREP_SEND_BURST = "1000"
STALL_SECONDS = 120.0  # preparation gives up when no message was posted for this long
CLK_TCK = os.sysconf("SC_CLK_TCK")
# socketserver listens with a backlog of 5: bursts of feedback posts (one per answer) would be
# reset by the kernel, which Slack never does. Only this process's stand-in is affected.
STANDIN_BACKLOG = 1024
QUIET_BUSY = 0.15  # the machine counts as quiet below this share of all cores busy


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        os.environ.pop(name, None)
    logging.basicConfig(level=logging.WARNING)
    standin_server._HTTPServer.request_queue_size = STANDIN_BACKLOG
    catalog = _check_lessons()
    databases = reachable_databases(args.db)
    answers = args.answers or _answers_needed(args)
    learners = math.ceil(answers / (len(BENCH_LESSONS) * QUESTIONS_PER_LESSON))
    mode = (
        f"open loop at {args.rate:g} answers/s"
        if args.rate > 0
        else "closed loop (each connection sends its next click when the last is acked)"
    )
    print(
        f"answers bench: {mode}, {args.concurrency} keep-alive connections, "
        f"{args.warmup:g} s warm-up + {args.seconds:g} s measured; "
        f"server: {args.workers} worker(s) × {args.web_threads} gthread threads, "
        f"{args.listener_threads} listener threads; {learners} learners × "
        f"{len(BENCH_LESSONS)} lessons × {QUESTIONS_PER_LESSON} questions = "
        f"{learners * len(BENCH_LESSONS) * QUESTIONS_PER_LESSON} unique answers prepared per DB"
        + (
            f"; the stand-in answers response_url posts after {args.feedback_latency:g} ms"
            if args.feedback_latency > 0
            else ""
        ),
        flush=True,
    )
    ok = True
    lines: list[str] = []
    for dialect in databases:
        with _database(dialect) as url:
            outcome = _bench_database(dialect, url, catalog, learners=learners, args=args)
        ok &= outcome.stored_ok
        lines.extend(outcome.summary)
    print()
    for line in lines:
        print(line)
    failed = "FAILED: answers stored (or their feedback) differ from answers sent"
    print(f"answers bench: {'ok' if ok else failed}")
    return 0 if ok else 1


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured seconds (60)")
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="seconds sent before measuring (5)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=GOAL_RATE,
        help=f"offered answers/s, open loop ({GOAL_RATE:g}); 0: closed loop, as fast as it goes",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=32,
        help="keep-alive connections = most answers in flight at once (32)",
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--transport",
        choices=["http", "socket", "both"],
        default="both",
        help="signed HTTP requests to `serve --http`, Socket Mode envelopes to `serve` "
        "(the default deployment; see bench/socket_answers.py), or both, each with its own "
        "clicks (both)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument(
        "--socket-processes",
        type=int,
        default=0,
        help="Socket Mode: MICROLEARN_SOCKET_PROCESSES (0: the shipped default)",
    )
    parser.add_argument(
        "--web-threads",
        type=int,
        default=SHIPPED_THREADS,
        help=f"MICROLEARN_WEB_THREADS, also bare Bolt's gthread threads ({SHIPPED_THREADS})",
    )
    parser.add_argument(
        "--listener-threads",
        type=int,
        default=SHIPPED_THREADS,
        help=f"MICROLEARN_LISTENER_THREADS, also bare Bolt's listener pool ({SHIPPED_THREADS})",
    )
    parser.add_argument(
        "--apps", choices=["both", "microlearn", "bare"], default="both", help="what to load"
    )
    parser.add_argument(
        "--answers",
        type=int,
        default=0,
        help="unique answers to prepare (default: enough for the rate and duration)",
    )
    parser.add_argument(
        "--closed-loop-guess",
        type=float,
        default=600.0,
        help="answers/s to prepare for when --rate 0 (600)",
    )
    parser.add_argument("--seed", type=int, default=7, help="which options the learners pick")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=120.0,
        help="before each timed phase, wait up to this many seconds for the machine to be "
        f"under {QUIET_BUSY:.0%}% busy (other people's work skews a 2-core box) (120)",
    )
    parser.add_argument(
        "--feedback-latency",
        type=float,
        default=0.0,
        help="ms the stand-in takes to answer each response_url post, as Slack over the "
        "internet would (0)",
    )
    parser.add_argument(
        "--samples",
        type=Path,
        default=None,
        help="folder to write every request's timing to, one CSV per database and app",
    )
    return parser.parse_args(argv)


def _answers_needed(args: argparse.Namespace) -> int:
    rate = float(args.rate if args.rate > 0 else args.closed_loop_guess)
    transports = 2 if args.transport == "both" else 1  # each transport answers its own clicks
    return (math.ceil(rate * float(args.seconds + args.warmup) * 1.01) + 20) * transports


def _check_lessons() -> Catalog:
    catalog = load_catalog(LESSONS).catalog
    for address in BENCH_LESSONS:
        course_id, _, lesson_id = address.partition("/")
        course = next((c for c in catalog.courses if c.id == course_id), None)
        lesson = course.lesson(lesson_id) if course is not None else None
        if lesson is None or len(lesson.quiz) != QUESTIONS_PER_LESSON:
            raise SystemExit(f"bench needs {address} with {QUESTIONS_PER_LESSON} questions")
        if any(question.kind not in ONE_TAP for question in lesson.quiz):
            raise SystemExit(f"bench needs {address}'s questions to be one-tap buttons")
    return catalog


@contextmanager
def _database(dialect: str) -> Iterator[str]:
    """A scratch database URL: a temporary SQLite file, or a PostgreSQL database dropped after."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix="microlearn-bench-") as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    url = create_postgres_database(postgres_test_url(), prefix="microlearn_bench")
    try:
        yield url
    finally:
        drop_postgres_database(url)


# -- one database ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Click:
    """One prepared answer: who clicks which option of which question, and the request body."""

    user_id: str
    delivery_id: int
    position: int
    body: bytes


@dataclass
class Outcome:
    stored_ok: bool
    summary: list[str] = field(default_factory=list)


def _bench_database(
    dialect: str, url: str, catalog: Catalog, *, learners: int, args: argparse.Namespace
) -> Outcome:
    print(f"\n== {dialect} ==", flush=True)
    work = Path(tempfile.mkdtemp(prefix="microlearn-bench-answers-"))
    with BenchStandIn(feedback_latency=args.feedback_latency / 1000) as standin:
        lead = standin.add_user("lena", real_name="Lena Lead", is_admin=True)
        people = [standin.add_user(f"learner{n:05d}") for n in range(learners)]
        group = standin.add_usergroup("bench-learners", people)
        started = time.monotonic()
        bot = _start_microlearn(
            standin,
            url,
            work,
            args,
            log_name="prepare",
            extra={
                "MICROLEARN_ADMINS": lead,
                "MICROLEARN_SEND_RATE": PREP_SEND_RATE,
                "MICROLEARN_SEND_BURST": PREP_SEND_BURST,
            },
        )
        try:
            _deliver(standin, bot, lead=lead, group=group, learners=len(people))
        finally:
            bot.stop(timeout=30)
        print(f"  prepared in {time.monotonic() - started:.0f} s", flush=True)
        clicks = _build_clicks(standin, url, people, seed=args.seed)
        socket_clicks: list[Click] = []
        if args.transport != "http":
            # Each transport answers questions of its own learners (every second one when both).
            step = 2 if args.transport == "both" else 1
            socket_users = set(people[step - 1 :: step])
            socket_clicks = [c for c in clicks if c.user_id in socket_users]
            clicks = [c for c in clicks if c.user_id not in socket_users]
        bodies_file = work / "bodies.pickle"
        with bodies_file.open("wb") as out:
            pickle.dump([click.body for click in clicks], out, protocol=pickle.HIGHEST_PROTOCOL)
        prepared = clicks + socket_clicks
        print(
            f"  {len(clicks)} signed-at-send block_actions bodies over HTTP, "
            f"{len(socket_clicks)} over Socket Mode, "
            f"{sum(len(c.body) for c in prepared) / len(prepared) / 1024:.1f} KiB each on average",
            flush=True,
        )
        outcome = Outcome(stored_ok=True)
        mine: Phase | None = None
        bare: Phase | None = None
        inline: Phase | None = None
        stored: Stored | None = None
        socket_mine: Phase | None = None
        socket_bare: Phase | None = None
        socket_stored: Stored | None = None
        if args.apps in ("both", "microlearn") and clicks:
            bot = _start_microlearn(standin, url, work, args, log_name="serve", extra={})
            feedback_before = _responses(standin)
            try:
                mine = _phase(
                    "microlearn",
                    bot,
                    standin,
                    bodies_file,
                    args,
                    count=len(clicks),
                    dialect=dialect,
                    database_cpu=True,
                )
                _wait_for_feedback(standin, start=feedback_before, acked=mine.result.acked)
            finally:
                code = bot.stop(timeout=30)
            _report_log(work / "serve.log", code)
            stored = _check_stored(dialect, url, clicks, mine.result)
            outcome.stored_ok = stored.ok
        if args.apps in ("both", "bare") and clicks:
            bare, inline = (
                _bare_phase(
                    work,
                    standin,
                    bodies_file,
                    args,
                    count=len(clicks),
                    dialect=dialect,
                    inline=flag,
                )
                for flag in (False, True)
            )
        bodies_file.unlink()
        if socket_clicks:
            from socket_answers import payloads_of, socket_phases

            payloads = payloads_of([click.body for click in socket_clicks])
            socket_mine, socket_bare, feedback_ok = socket_phases(
                standin, url, work, args, payloads, dialect=dialect
            )
            outcome.stored_ok &= feedback_ok
            if socket_mine is not None:
                socket_stored = _check_stored(
                    dialect, url, socket_clicks, socket_mine.result, before=stored
                )
                outcome.stored_ok &= socket_stored.ok
    if clicks:
        outcome.summary.append(_summary_line(dialect, mine, bare, inline, stored, args))
        outcome.summary.extend(_goal_lines(dialect, mine, bare, inline, args))
    if socket_clicks:
        socket_dialect = f"{dialect} Socket Mode"
        outcome.summary.append(
            _summary_line(socket_dialect, socket_mine, socket_bare, None, socket_stored, args)
        )
        outcome.summary.extend(_goal_lines(socket_dialect, socket_mine, socket_bare, None, args))
    return outcome


def _bare_phase(
    work: Path,
    standin: SlackStandIn,
    bodies_file: Path,
    args: argparse.Namespace,
    *,
    count: int,
    dialect: str,
    inline: bool,
) -> Phase:
    name = BARE_INLINE if inline else BARE
    server = _start_bare(work, args, inline=inline)
    try:
        return _phase(
            name,
            server,
            standin,
            bodies_file,
            args,
            count=count,
            dialect=dialect,
            database_cpu=False,
        )
    finally:
        code = server.stop(timeout=30)
        _report_log(work / f"{'bare-inline' if inline else 'bare'}.log", code)


def _microlearn_env(
    standin: SlackStandIn, url: str, args: argparse.Namespace, extra: dict[str, str]
) -> dict[str, str]:
    return bot_environment(
        api_url=standin.api_url,
        database_url=url,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        MICROLEARN_WEB_THREADS=str(args.web_threads),
        MICROLEARN_LISTENER_THREADS=str(args.listener_threads),
        MICROLEARN_LOG_LEVEL="WARNING",
        **extra,
    )


def _start_microlearn(
    standin: SlackStandIn,
    url: str,
    work: Path,
    args: argparse.Namespace,
    *,
    log_name: str,
    extra: dict[str, str],
) -> BotProcess:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "bot",
        "serve",
        "--http",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
    ]
    return _spawn(command, _microlearn_env(standin, url, args, extra), work, log_name, port)


def _start_bare(work: Path, args: argparse.Namespace, *, inline: bool) -> BotProcess:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--worker-class",
        "gthread",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.web_threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--keep-alive",
        "5",  # as bot/server.py sets them
        "--timeout",
        "30",
        "--graceful-timeout",
        "8",
        "--log-level",
        "warning",
        "--chdir",
        str(ROOT),
        f"bench.answers:bare_app(inline={inline})",
    ]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",  # gunicorn imports this file: leave no bench/__pycache__
        "MICROLEARN_LISTENER_THREADS": str(args.listener_threads),
    }
    return _spawn(command, env, work, "bare-inline" if inline else "bare", port)


def _spawn(command: list[str], env: dict[str, str], work: Path, name: str, port: int) -> BotProcess:
    log = (work / f"{name}.log").open("w")  # a file, not a pipe nobody reads: never blocks
    process = subprocess.Popen(
        command,
        env=env,
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    log.close()
    server = BotProcess(process, url=f"http://127.0.0.1:{port}")
    try:
        wait_until_healthy(server, timeout=60)
    except RuntimeError as error:
        tail = (work / f"{name}.log").read_text(errors="replace")[-4000:]
        raise SystemExit(f"{' '.join(command[:4])}…: {error}\n{tail}") from None
    return server


def _report_log(path: Path, code: int) -> None:
    lines = path.read_text(errors="replace").splitlines()
    late = sum(1 for line in lines if "didn't call ack()" in line)
    if late:
        print(
            f"    {late} answer(s) not acknowledged within Bolt's 3 s: Bolt then answers 404 "
            "'unhandled request' (Slack shows the learner an error) while the listener, "
            "still queued or running, stores the answer later",
            flush=True,
        )
    noise = [
        line
        for line in lines
        if line.strip() and _noteworthy(line) and not line.startswith((" ", "-", "[", "@"))
    ]
    if code != 0 or noise:
        print(f"  server exited {code}; {len(noise)} log line(s) of note in {path}:")
        for line in noise[:6]:
            print(f"    {line[:200]}")


def _noteworthy(line: str) -> bool:
    quiet = (
        "microlearn: ",
        "[INFO]",
        "Booting worker",
        "Listening at",
        "Using worker",
        "didn't call ack()",
        "Unhandled request",
        "def handle_some_action",
        "ack()",
        "logger.info(body)",
    )
    return not any(word in line for word in quiet)


# -- preparation: deliver lessons through the running bot ----------------------------------------


def _posted(standin: SlackStandIn) -> int:
    return standin.stats().get("chat.postMessage", {}).get("accepted", 0)


def _reached(standin: SlackStandIn, target: int) -> Callable[[], bool]:
    return lambda: _posted(standin) >= target


def _deliver(
    standin: SlackStandIn, bot: BotProcess, *, lead: str, group: str, learners: int
) -> None:
    assert bot.url is not None
    driver = SlackDriver(
        standin, request_url=f"{bot.url}{EVENTS_PATH}", signing_secret=SIGNING_SECRET
    )
    for address in BENCH_LESSONS:
        started = time.monotonic()
        before = _posted(standin)
        target = before + learners * (1 + QUESTIONS_PER_LESSON)  # a lesson message + 3 questions
        response = driver.command(lead, f"send {address} to <!subteam^{group}|@bench-learners>")
        if response.status != 200:
            raise SystemExit(f"/learn send answered {response.status}: {response.body}")
        last, last_change = before, time.monotonic()
        while not standin.wait_for(_reached(standin, target), timeout=10):
            now_posted = _posted(standin)
            if now_posted != last:
                last, last_change = now_posted, time.monotonic()
            elif time.monotonic() - last_change > STALL_SECONDS:
                raise SystemExit(
                    f"delivery of {address} stalled at {now_posted - before} of "
                    f"{target - before} messages"
                )
            print(f"    {address}: {now_posted - before} of {target - before} posted", flush=True)
        seconds = time.monotonic() - started
        print(
            f"  sent {address} to {learners} learners: {target - before} messages in "
            f"{seconds:.1f} s ({(target - before) / seconds:.0f}/s)",
            flush=True,
        )


def _build_clicks(
    standin: SlackStandIn, url: str, people: Sequence[str], *, seed: int
) -> list[Click]:
    """Every question message posted to every learner, answered once, ordered round-robin."""
    capture = _CapturingDriver(standin)
    pick = random.Random(seed)
    per_learner: list[list[Click]] = []
    for user_id in people:
        dm = standin.dm_channel(user_id)
        mine: list[Click] = []
        for message in standin.messages(dm):
            buttons = _answer_buttons(message)
            if not buttons:
                continue
            action_id, value = pick.choice(buttons)
            ref, _, _option = value.rpartition(":")
            delivery, _, position = ref.partition(".")
            response = capture.click(user_id, message, channel_id=dm, action_id=action_id)
            body = urlencode_payload(response.request)
            mine.append(Click(user_id, int(delivery), int(position), body))
        per_learner.append(sorted(mine, key=lambda c: (c.delivery_id, c.position)))
    expected = len(BENCH_LESSONS) * QUESTIONS_PER_LESSON
    short = [u for u, clicks in zip(people, per_learner, strict=True) if len(clicks) != expected]
    if short:
        raise SystemExit(f"{len(short)} learners did not get {expected} questions, e.g. {short[0]}")
    _check_deliveries(url, len(people))
    return [clicks[k] for k in range(expected) for clicks in per_learner]


def _answer_buttons(message: JSON) -> list[tuple[str, str]]:
    buttons: list[tuple[str, str]] = []
    for block in message.get("blocks") or []:
        if block.get("type") != "actions":
            continue
        for element in block.get("elements") or []:
            action_id = str(element.get("action_id", ""))
            if element.get("type") == "button" and re.fullmatch(r"answer_\d+", action_id):
                buttons.append((action_id, str(element.get("value", ""))))
    return buttons


def urlencode_payload(payload: JSON) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


class BenchStandIn(SlackStandIn):
    """The stand-in, optionally as slow to answer response_url posts as Slack is from afar."""

    def __init__(self, *, feedback_latency: float) -> None:
        super().__init__()
        self.feedback_latency = feedback_latency

    def _handle_http(self, raw_path: str, headers: dict[str, str], body: bytes) -> _Reply:
        if self.feedback_latency > 0 and raw_path.startswith("/response/"):
            time.sleep(self.feedback_latency)  # emulated network latency, per request thread
        return super()._handle_http(raw_path, headers, body)


class _CapturingDriver(SlackDriver):
    """`SlackDriver.click` builds exactly what Slack sends; keep the payload instead of sending."""

    def __init__(self, standin: SlackStandIn) -> None:
        super().__init__(standin, request_url="http://unused.invalid/", signing_secret="unused")

    def _interactive(self, payload: JSON) -> DriverResponse:
        return DriverResponse(status=0, headers={}, body="", request=payload)


def _check_deliveries(url: str, learners: int) -> None:
    db = Database(url)
    try:
        with db.read() as session:
            rows = session.execute(
                select(col(Delivery.status), func.count()).group_by(col(Delivery.status))
            ).all()
    finally:
        db.dispose()
    statuses = {str(status): int(count) for status, count in rows}
    if statuses != {"sent": learners * len(BENCH_LESSONS)}:
        raise SystemExit(f"deliveries are not all sent: {statuses}")
    _analyze(url)


def _analyze(url: str) -> None:
    """Bring the planner's statistics up to date after the bulk preparation, as they are in a
    database in use: otherwise the database's own background analysis lands at a random moment
    of the timed phase, and the clicks before it run on plans made for empty tables."""
    db = Database(url)
    try:
        with db.engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
    finally:
        db.dispose()


# -- the timed phase -----------------------------------------------------------------------------


class Sample(NamedTuple):
    click: int  # index into the prepared clicks
    started: float  # seconds since the phase began
    late: float  # seconds behind the open-loop schedule when written
    latency: float  # seconds from writing the request to reading the whole response
    status: int  # HTTP status; 0 for a timeout or a broken connection


@dataclass(frozen=True)
class LoadPlan:
    host: str
    port: int
    bodies_file: str
    rate: float
    concurrency: int
    warmup: float
    seconds: float
    limit: int


@dataclass
class LoadResult:
    samples: list[Sample]
    elapsed: float
    cpu_seconds: float
    ran_out: bool
    errors: list[str]

    @property
    def sent(self) -> int:
        return len(self.samples)

    @property
    def acked(self) -> int:
        return sum(1 for s in self.samples if s.status == 200)


@dataclass
class Phase:
    name: str
    result: LoadResult
    warmup: float
    measured: float
    cpu: CpuReport

    def window(self) -> list[Sample]:
        """Clicks written after the warm-up and before the end (in flight then: counted)."""
        return [s for s in self.result.samples if s.started >= self.warmup]

    def rate(self) -> float:
        acked = sum(1 for s in self.window() if s.status == 200)
        return acked / self.measured if self.measured > 0 else 0.0

    def latencies_ms(self) -> list[float]:
        return sorted(s.latency * 1000 for s in self.window() if s.status == 200)

    def p(self, q: float) -> float:
        return _percentile(self.latencies_ms(), q)

    def errors(self) -> Counter[int]:
        return Counter(s.status for s in self.result.samples if s.status != 200)


def _phase(
    name: str,
    server: BotProcess,
    standin: SlackStandIn,
    bodies_file: Path,
    args: argparse.Namespace,
    *,
    count: int,
    dialect: str,
    database_cpu: bool,
) -> Phase:
    assert server.url is not None
    plan = LoadPlan(
        host="127.0.0.1",
        port=int(server.url.rsplit(":", 1)[1]),
        bodies_file=str(bodies_file),
        rate=args.rate,
        concurrency=args.concurrency,
        warmup=args.warmup,
        seconds=args.seconds,
        limit=count,
    )
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    generator = context.Process(target=_generator_process, args=(child, plan), name="loadgen")
    generator.start()
    child.close()
    if parent.recv() != "ready":
        raise SystemExit("the load generator did not start")
    # The stand-in (Slack) lives in this process with every message the preparation posted: a
    # full garbage collection here then stalls it for 300 ms and more, and the bot's feedback
    # posts with it. Slack does not do that; keep what exists now out of collection.
    gc.collect()
    gc.freeze()
    _wait_for_quiet(args.wait_idle)
    postgres = database_cpu and dialect == "postgresql"
    before = _cpu_snapshot(server, generator.pid, postgres=postgres)
    parent.send("go")
    result: LoadResult = parent.recv()
    after = _cpu_snapshot(server, generator.pid, postgres=postgres)
    generator.join(timeout=30)
    cpu = _cpu_report(before, after)
    measured = float(args.seconds)
    if result.ran_out and result.samples:  # the window ended when the prepared clicks did
        last = max(s.started + s.latency for s in result.samples)
        measured = max(1e-9, min(measured, last - args.warmup))
    phase = Phase(name, result, args.warmup, measured, cpu)
    _print_phase(phase, args)
    if args.samples is not None:
        _write_samples(args.samples / f"{dialect}-{name.replace(' ', '-')}.csv", result)
    return phase


def _write_samples(path: Path, result: LoadResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        out.write("click,started_s,late_ms,latency_ms,status\n")
        for s in result.samples:
            out.write(
                f"{s.click},{s.started:.6f},{s.late * 1000:.3f},{s.latency * 1000:.3f},{s.status}\n"
            )
    print(f"    samples written to {path}", flush=True)


def _print_phase(phase: Phase, args: argparse.Namespace) -> None:
    result = phase.result
    window = phase.window()
    warm = [
        s.latency * 1000 for s in result.samples if s.started < phase.warmup and s.status == 200
    ]
    late = sorted(s.late * 1000 for s in window)
    scheduled = sorted((s.late + s.latency) * 1000 for s in window)
    print(
        f"  {phase.name}: {sum(1 for s in window if s.status == 200)} answers acked in "
        f"{phase.measured:.1f} s = {phase.rate():.1f}/s; ack p50 {phase.p(50):.1f} ms, "
        f"p90 {phase.p(90):.1f} ms, p99 {phase.p(99):.1f} ms, max {phase.p(100):.0f} ms; "
        f"errors {sum(phase.errors().values())}"
        + (f" {dict(phase.errors())}" if phase.errors() else ""),
        flush=True,
    )
    warm_p99 = _percentile(sorted(warm), 99)
    print(
        f"    warm-up {phase.warmup:g} s: {len(warm)} acked, p99 {warm_p99:.1f} ms, "
        f"max {max(warm, default=0.0):.0f} ms; total sent {result.sent}, acked {result.acked}",
        flush=True,
    )
    share = result.cpu_seconds / max(result.elapsed, 1e-9) * 100
    if args.rate > 0:
        print(
            f"    generator: sends behind the open-loop schedule p99 {_percentile(late, 99):.1f} ms"
            f", max {max(late, default=0.0):.0f} ms (high = all {args.concurrency} connections "
            f"busy); ack p99 counted from the schedule {_percentile(scheduled, 99):.1f} ms; "
            f"its own CPU {result.cpu_seconds:.1f} s "
            f"({share:.0f}% of a core)",
            flush=True,
        )
    else:
        print(
            f"    generator (closed loop, {args.concurrency} connections): its own CPU "
            f"{result.cpu_seconds:.1f} s ({share:.0f}% of a core)",
            flush=True,
        )
    if result.ran_out:
        print("    NOTE: the prepared answers ran out before the time was up", flush=True)
    for error in result.errors[:5]:
        print(f"    error: {error}", flush=True)
    other = phase.cpu.other()
    if other > QUIET_BUSY * phase.cpu.wall * phase.cpu.cores:
        print(
            f"    WARNING: other processes on this machine used {other:.0f} cpu-s during the "
            "phase: these figures are skewed by them",
            flush=True,
        )
    server_cpu = phase.cpu.groups.get("server", 0.0)
    print(
        f"    {phase.cpu.describe()}; server CPU per answer "
        f"{server_cpu / max(result.sent, 1) * 1000:.2f} ms",
        flush=True,
    )


def _wait_for_feedback(standin: SlackStandIn, *, start: int, acked: int) -> None:
    """The bot's work after each ack (feedback through the response URL) must catch up too."""
    started = time.monotonic()
    at_end = _responses(standin)
    standin.wait_for(lambda: _responses(standin) >= start + acked, timeout=60)
    done = _responses(standin)
    print(
        f"    feedback after the ack: {done - start} response_url posts for {acked} answers "
        f"({done - at_end} of them after the last ack, within "
        f"{time.monotonic() - started:.1f} s)",
        flush=True,
    )


def _responses(standin: SlackStandIn) -> int:
    # `responses()` deep-copies every body; this runs under the stand-in's lock after each call.
    return len(standin._responses)


def _percentile(ordered: Sequence[float], q: float) -> float:
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


# -- stored vs sent ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    stored: int
    sent: int
    same: bool
    keys: frozenset[tuple[str, str, str, int]] = frozenset()  # (learner, course, lesson, question)

    @property
    def ok(self) -> bool:
        return self.same and self.stored == self.sent


def _check_stored(
    dialect: str,
    url: str,
    clicks: Sequence[Click],
    result: LoadResult,
    *,
    before: Stored | None = None,
) -> Stored:
    """Answers stored against answers sent, with those an earlier phase (`before`) sent."""
    lessons = _delivery_lessons(url)
    earlier = before.keys if before is not None else frozenset()
    sent = set(earlier) | {
        (clicks[s.click].user_id, *lessons[clicks[s.click].delivery_id], clicks[s.click].position)
        for s in result.samples
    }
    db = Database(url)
    try:
        repository = AnswerReports(db)
        team = repository.teams()
        rows = [
            row
            for team_id in team
            for course in sorted({course for course, _ in lessons.values()})
            for row in repository.answer_rows(team_id, course)
        ]
    finally:
        db.dispose()
    stored = {(row.user_id, row.course, row.lesson, row.position) for row in rows}
    total = result.sent + (before.sent if before is not None else 0)
    same = len(rows) == len(stored) and stored == sent and len(sent) == total
    print(
        f"  {dialect}: stored {len(rows)} answers of {total} sent "
        f"({result.acked} acked with 200); "
        + (
            "the same (learner, lesson, question) set"
            if stored == sent
            else f"MISMATCH: {len(sent - stored)} sent but not stored, "
            f"{len(stored - sent)} stored but not sent"
        ),
        flush=True,
    )
    return Stored(stored=len(rows), sent=total, same=same, keys=frozenset(sent))


def _delivery_lessons(url: str) -> dict[int, tuple[str, str]]:
    db = Database(url)
    try:
        with db.read() as session:
            rows = session.execute(
                select(col(Delivery.id), col(Course.slug), col(Lesson.slug))
                .join(Lesson, col(Lesson.id) == col(Delivery.lesson_id))
                .join(Course, col(Course.id) == col(Lesson.course_id))
            ).all()
    finally:
        db.dispose()
    return {int(delivery): (str(course), str(lesson)) for delivery, course, lesson in rows}


# -- summary -------------------------------------------------------------------------------------


def _summary_line(
    dialect: str,
    mine: Phase | None,
    bare: Phase | None,
    inline: Phase | None,
    stored: Stored | None,
    args: argparse.Namespace,
) -> str:
    config = f"[{args.workers}w×{args.web_threads}t, {args.listener_threads} listener threads]"
    baselines = "".join(
        f"; {phase.name} {phase.rate():.1f}/s, p50 {phase.p(50):.1f} ms, "
        f"p99 {phase.p(99):.1f} ms, max {phase.p(100):.0f} ms"
        + (f" (ratio {mine.p(99) / phase.p(99):.2f})" if mine is not None else "")
        for phase in (bare, inline)
        if phase is not None
    )
    if mine is None:
        return f"{dialect} {config}" + baselines
    errors = sum(mine.errors().values())
    line = (
        f"{dialect} {config}: {len(mine.latencies_ms())} answers in {mine.measured:.1f} s = "
        f"{mine.rate():.1f}/s; ack p50 {mine.p(50):.1f} ms, p99 {mine.p(99):.1f} ms, "
        f"max {mine.p(100):.0f} ms; errors {errors}"
    )
    if stored is not None:
        line += f"; stored {stored.stored} of {stored.sent} sent" + (
            "" if stored.ok else " (MISMATCH)"
        )
    return line + baselines


def _goal_lines(
    dialect: str,
    mine: Phase | None,
    bare: Phase | None,
    inline: Phase | None,
    args: argparse.Namespace,
) -> list[str]:
    if mine is None:
        return []

    def met(ok: bool) -> str:
        return "met" if ok else "MISSED"

    rate, p99 = mine.rate(), mine.p(99)
    goals = [
        f"≥ {GOAL_RATE:g} answers/s: {met(rate >= GOAL_RATE * 0.99)} ({rate:.1f}/s)",
        f"p99 ≤ {GOAL_P99_MS:g} ms: {met(p99 <= GOAL_P99_MS)} ({p99:.1f} ms)",
    ]
    for phase in (bare, inline):
        if phase is not None:
            ratio = p99 / phase.p(99)
            goals.append(
                f"p99 within {GOAL_RATIO:g}× {phase.name}: {met(ratio <= GOAL_RATIO)} "
                f"({ratio:.2f}×)"
            )
    note = "" if args.rate >= GOAL_RATE or args.rate == 0 else " (offered rate below the goal)"
    return [f"  {dialect} goals{note}: " + "; ".join(goals)]


# -- CPU accounting (from /proc: Linux) ----------------------------------------------------------


@dataclass(frozen=True)
class CpuSnapshot:
    at: float
    machine_busy: float  # CPU seconds, all cores, since boot
    machine_total: float
    groups: dict[str, dict[int, float]]  # group -> pid -> CPU seconds


@dataclass(frozen=True)
class CpuReport:
    wall: float
    cores: int
    busy: float
    groups: dict[str, float]

    def other(self) -> float:
        """CPU seconds used by processes outside the bench (other people's work)."""
        return max(0.0, self.busy - sum(self.groups.values()))

    def describe(self) -> str:
        capacity = self.wall * self.cores
        parts = [f"{name} {seconds:.1f}" for name, seconds in self.groups.items()]
        other = self.other()
        return (
            f"CPU over {self.wall:.0f} s ({self.cores} cores = {capacity:.0f} cpu-s): "
            + ", ".join(parts)
            + f", everything else on the machine {other:.1f}; idle {capacity - self.busy:.1f} "
            f"(busy {self.busy / capacity * 100:.0f}%)"
        )


def _machine() -> tuple[float, float]:
    """(busy, total) CPU seconds of all cores since boot."""
    with Path("/proc/stat").open() as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


def _wait_for_quiet(limit: float) -> None:
    """Wait (up to `limit` s) until the machine is nearly idle; say how busy it was."""
    started = time.monotonic()
    while True:
        busy_before, total_before = _machine()
        time.sleep(1.0)
        busy_after, total_after = _machine()
        share = (busy_after - busy_before) / max(total_after - total_before, 1e-9)
        waited = time.monotonic() - started
        if share <= QUIET_BUSY or waited >= limit:
            break
        time.sleep(2.0)
    verdict = "quiet" if share <= QUIET_BUSY else "STILL BUSY (other processes)"
    print(
        f"  machine before the phase: {share:.0%} of all cores busy, {verdict} "
        f"(waited {waited:.0f} s)",
        flush=True,
    )


def _proc_cpu(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def _processes() -> Iterator[tuple[int, int, str]]:
    """(pid, parent pid, command name) of every process."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        yield int(entry.name), int(fields[1]), name


def _tree(root: int, table: Sequence[tuple[int, int, str]]) -> list[int]:
    found = [root]
    for pid in found:
        found.extend(child for child, parent, _ in table if parent == pid)
    return found


def _cpu_snapshot(server: BotProcess, generator: int | None, *, postgres: bool) -> CpuSnapshot:
    table = list(_processes())
    groups: dict[str, list[int]] = {
        "server": _tree(server.process.pid, table),
        "stand-in (this process)": [os.getpid()],
        "load generator": [generator] if generator else [],
    }
    if postgres:
        groups["postgres"] = [pid for pid, _, name in table if name.startswith("postgres")]
    busy, total = _machine()
    return CpuSnapshot(
        at=time.monotonic(),
        machine_busy=busy,
        machine_total=total,
        groups={
            name: {pid: cpu for pid in pids if (cpu := _proc_cpu(pid)) is not None}
            for name, pids in groups.items()
        },
    )


def _cpu_report(before: CpuSnapshot, after: CpuSnapshot) -> CpuReport:
    groups = {
        name: sum(cpu - before.groups.get(name, {}).get(pid, 0.0) for pid, cpu in pids.items())
        for name, pids in after.groups.items()
    }
    return CpuReport(
        wall=after.at - before.at,
        cores=os.cpu_count() or 1,
        busy=after.machine_busy - before.machine_busy,
        groups=groups,
    )


# -- the load generator (its own process) ---------------------------------------------------------


def _generator_process(connection: Connection, plan: LoadPlan) -> None:
    with Path(plan.bodies_file).open("rb") as source:
        bodies: list[bytes] = pickle.load(source)[: plan.limit]
    result = asyncio.run(_generate(connection, plan, bodies))
    connection.send(result)
    connection.close()


class _Client:
    """One keep-alive HTTP/1.1 connection, written and read by hand."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = time.monotonic()

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.used = time.monotonic()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def post(self, head: bytes, body: bytes) -> tuple[int, bool]:
        """Send one request; return (status, keep the connection)."""
        if time.monotonic() - self.used > IDLE_RECONNECT:
            self.close()  # the server may be closing it right now: don't race it
        if self.writer is None or self.reader is None:
            await self.connect()
        assert self.writer is not None and self.reader is not None
        self.writer.write(head + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        if "content-length" in headers:
            await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            await self.reader.read()
            return status, False
        self.used = time.monotonic()
        return status, headers.get("connection") != "close"


def _request_head(host: str, port: int, secret: bytes, body: bytes) -> bytes:
    stamp = str(int(time.time())).encode()
    signature = hmac.new(secret, b"v0:" + stamp + b":" + body, hashlib.sha256).hexdigest()
    return (
        f"POST {EVENTS_PATH} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        f"User-Agent: {USER_AGENT}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Slack-Request-Timestamp: {stamp.decode()}\r\n"
        f"X-Slack-Signature: v0={signature}\r\n"
        "\r\n"
    ).encode()


async def _generate(connection: Connection, plan: LoadPlan, bodies: list[bytes]) -> LoadResult:
    secret = SIGNING_SECRET.encode()
    idle: asyncio.Queue[_Client] = asyncio.Queue()
    samples: list[Sample] = []
    errors: list[str] = []
    duration = plan.warmup + plan.seconds
    connection.send("ready")
    await asyncio.get_running_loop().run_in_executor(None, connection.recv)
    # Connect only now: gunicorn closes keep-alive connections idle for 5 s.
    for _ in range(plan.concurrency):
        client = _Client(plan.host, plan.port)
        await client.connect()
        idle.put_nowait(client)
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    origin = time.perf_counter()

    async def one(index: int, due: float, client: _Client) -> None:
        started = time.perf_counter()
        status, keep = 0, False
        try:
            head = _request_head(plan.host, plan.port, secret, bodies[index])
            status, keep = await asyncio.wait_for(client.post(head, bodies[index]), REQUEST_TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as error:
            if len(errors) < 20:
                errors.append(f"click {index}: {type(error).__name__}: {error}")
        finished = time.perf_counter()
        samples.append(
            Sample(index, started - origin, max(0.0, started - due), finished - started, status)
        )
        if not keep:
            client.close()
        idle.put_nowait(client)

    ran_out = False
    tasks: set[asyncio.Task[None]] = set()
    index = 0
    end = origin + duration
    if plan.rate > 0:
        total = int(plan.rate * duration)
        while index < total:
            if index >= len(bodies):
                ran_out = True
                break
            due = origin + index / plan.rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            client = await idle.get()
            if time.perf_counter() >= end:  # behind schedule at the end: what was not sent, wasn't
                idle.put_nowait(client)
                break
            task = asyncio.create_task(one(index, due, client))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            index += 1
        if tasks:
            await asyncio.gather(*tasks)
    else:
        counter = iter(range(len(bodies)))

        async def worker() -> None:
            nonlocal ran_out
            while time.perf_counter() < end:
                taken = next(counter, None)
                if taken is None:
                    ran_out = True
                    return
                client = await idle.get()
                await one(taken, time.perf_counter(), client)

        await asyncio.gather(*(worker() for _ in range(plan.concurrency)))
    elapsed = time.perf_counter() - origin
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    while not idle.empty():
        idle.get_nowait().close()
    samples.sort(key=lambda s: s.click)
    return LoadResult(samples, elapsed, cpu, ran_out, errors)


# -- bare Bolt: the floor microlearn is compared with ----------------------------------------------


def _authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
    """No Slack call: every request is for the stand-in's workspace and bot."""
    return AuthorizeResult(
        enterprise_id=enterprise_id,
        team_id=team_id,
        bot_token="xoxb-standin",
        bot_id="B0001",
        bot_user_id="UBOT",
    )


WsgiApp = Callable[["WSGIEnvironment", "StartResponse"], Iterable[bytes]]


def bare_app(*, inline: bool = False) -> WsgiApp:
    """gunicorn factory: a Bolt app whose only listener acks every action, nothing else.

    `gunicorn --worker-class gthread ... 'bench.answers:bare_app(inline=False)'`; /healthz
    answers 200 so the bench can wait for it the way it waits for microlearn. By default Bolt runs
    the listener on its executor while the request's thread looks for the ack every 10 ms;
    `inline=True` (process_before_response) runs it in the request's thread: the fastest ack
    Bolt gives, and the one microlearn's answer clicks take.
    """
    threads = int(os.environ.get("MICROLEARN_LISTENER_THREADS", str(SHIPPED_THREADS)))
    logging.basicConfig(level=logging.WARNING)
    app = App(
        signing_secret=SIGNING_SECRET,
        token_verification_enabled=False,
        authorize=_authorize,
        process_before_response=inline,
        listener_executor=ThreadPoolExecutor(max_workers=threads, thread_name_prefix="listener"),
        name="bare",
    )

    @app.action(re.compile(".*"))
    def ack_only(ack: Ack) -> None:
        ack()

    handler = SlackRequestHandler(app, path=EVENTS_PATH)

    def wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            body = b'{"status": "ok"}'
            start_response(
                "200 OK",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return handler(environ, start_response)

    return wsgi


if __name__ == "__main__":
    sys.exit(main())
