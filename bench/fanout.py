"""Fan-out and planning benchmark: one lesson to many learners, and one big plan step.

Run on purpose, never by the suite:

    .venv/bin/python bench/fanout.py [--learners N] [--cap MSGS_PER_S] [--db sqlite|postgresql|both]
                                     [--plan-enrolments N] [--zones N] [--skip-fanout] [--skip-plan]
                                     [--slack-burst N] [--send-burst N] [--latency MS]
                                     [--jitter MS] [--threads N] [--replicas N]
                                     [--probe-learners N] [--due same|staggered]
                                     [--skip-single]

The default run (SQLite, 10,000 learners at 100 msg/s, then the plan step) takes about five
minutes on two cores; `--db both` runs everything on PostgreSQL too.

1. Fan-out: the real bot (`bot.app.build_services`) sends one lesson (a lesson message and one quiz
   question: two messages) to N learners of a user group with `send_now`, then drains the outbox
   with the real clock and real sleeps over HTTP to the Slack stand-in (bot/sandbox/slack), which
   runs in a child process so that it competes for cores, not for this process's GIL, and so that
   the peak RSS printed is the bot's. It answers each post 150 ± 50 ms after carrying it out, as
   Slack does from afar, so the drain keeps many posts in flight. The stand-in emulates Slack's two
   chat.postMessage rules at once: a workspace-wide token bucket (the cap) and about one message a
   second per channel. Our own pacing (MICROLEARN_SEND_RATE) is set to the emulated cap so the bot
   tries to use all of it. Before that, the same fan-out runs with no cap at all, to show how fast
   the drain can go (which bounds the cap it can saturate). With `--replicas N` (PostgreSQL), the
   same fan-out is then sent by N `microlearn serve --http` processes of two workers each, sharing
   the database and its one rate per workspace.
2. Plan: 100,000 enrolments in 400 IANA zones, all due, bulk-inserted. The plan step a tick runs
   before it starts sending is timed: `PlanRepository.plan` (one slot row per due group) and the
   first chunk of `PlanRepository.apply_planned` (PLAN_CHUNK learners' deliveries and next slots).
   Then the rest of the backlog is applied chunk by chunk, as the drain would between sends, and
   its total and slowest chunk are printed too, so no per-learner write is left out of the figures.
   Twice:
   the second run after resetting the rows, to show warm-up; the result is checked each time.

Exits 1 when a fan-out posts a duplicate or loses a delivery, or the plan result is wrong; missed
speed goals are printed, not failed.
"""

from __future__ import annotations

import argparse
import bisect
import math
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tests` is not installed

from sqlalchemy import case, delete, func, insert, select, text, update
from sqlalchemy.exc import OperationalError
from sqlmodel import col

from bot import app
from bot.config import settings_from
from bot.content.loader import load_catalog
from bot.domain.lesson import Catalog
from bot.domain.schedule import Days, Target, TargetKind, next_slot, parse_time, zone
from bot.services import Services
from bot.services.planner import PLAN_CHUNK, group_next_slot
from bot.storage import migrate
from bot.storage.content import ContentRepository
from bot.storage.db import Database
from bot.storage.models import Course, Delivery, Drip, Enrolment, Lesson
from bot.storage.plan import PlanRepository
from tests.standin import SlackStandIn
from tests.support.databases import (
    create_postgres_database,
    drop_postgres_database,
    postgres_test_url,
    reachable_databases,
)
from tests.support.process import BotProcess, bot_environment, free_port, wait_until_healthy

TEAM = "T0001"
FANOUT_COURSE = "bench-fanout"
PLAN_COURSE = "bench-plan"
PARTS = 2  # the fan-out lesson is one message plus one quiz question
LEARNER_ZONES = (
    "America/Los_Angeles",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Africa/Nairobi",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)
SLACK_CHANNEL_RATE = 1.0  # Slack: about one message a second per channel, short bursts allowed
SLACK_CHANNEL_BURST = 3
SHIPPED_SEND_RATE = 4.0  # .env.example's MICROLEARN_SEND_RATE
PLAN_GOAL_SECONDS = 1.0
RATE_GOAL = 0.95
STEADY = (0.05, 0.95)  # the steady part: between these fractions of the messages posted

LESSONS = {
    f"{FANOUT_COURSE}/course.yaml": """\
        title: Bench fan-out
        description: One short lesson with one question, sent to everyone at once.
        """,
    f"{FANOUT_COURSE}/01-hello.md": """\
        ---
        title: Hello from the benchmark
        objective: Receive one lesson and one question
        minutes: 2
        quiz:
          - question: Did this arrive once?
            options:
              - text: "Yes"
                correct: true
                feedback: Good.
              - text: "No"
                feedback: That would be a bug.
        ---
        Hi {{ learner.first_name }}, this is lesson {{ lesson.number }} of {{ lesson.total }}.

        It is short on purpose: the benchmark measures sending, not rendering.
        """,
    f"{PLAN_COURSE}/course.yaml": """\
        title: Bench plan
        description: Three lessons, so a planned enrolment moves on to the second one.
        """,
    **{
        f"{PLAN_COURSE}/0{n}-step-{n}.md": f"""\
        ---
        title: Step {n}
        objective: Be planned
        minutes: 2
        ---
        Step {n}.
        """
        for n in (1, 2, 3)
    },
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    with tempfile.TemporaryDirectory(prefix="microlearn-bench-lessons-") as folder:
        return _run(args, Path(folder))


def _run(args: argparse.Namespace, lessons: Path) -> int:
    catalog = _write_lessons(lessons)
    databases = reachable_databases(args.db)
    ok = True
    if not args.skip_fanout:
        print(
            f"fan-out: emulating Slack's chat.postMessage limits in the stand-in: "
            f"{args.cap:g} msg/s per workspace (burst {args.slack_burst}) and "
            f"{SLACK_CHANNEL_RATE:g} msg/s per channel (burst {SLACK_CHANNEL_BURST}); "
            f"our pacing MICROLEARN_SEND_RATE={args.cap:g}, MICROLEARN_SEND_BURST={args.send_burst}"
            + (
                f"; Slack answers each post in {args.latency:g} ± {args.jitter:g} ms"
                if args.latency
                else "; Slack answers each post at once"
            )
        )
        print(
            f"  (a real deployment paces well under Slack's cap of 'several hundred per minute': "
            f"the shipped default is {SHIPPED_SEND_RATE:g} msg/s; this is a stress test)"
        )
        for dialect in databases:
            if args.probe_learners > 0:
                with _database(dialect) as url:
                    ok &= _fanout(
                        url, lessons, catalog, learners=args.probe_learners, cap=None, args=args
                    )
            if args.skip_single:
                continue
            with _database(dialect) as url:
                ok &= _fanout(
                    url, lessons, catalog, learners=args.learners, cap=args.cap, args=args
                )
        if args.replicas:
            if "postgresql" in databases:
                with _database("postgresql") as url:
                    ok &= _replicas(url, lessons, catalog, args=args)
            else:
                print("replicas: skipped, they share a PostgreSQL database (--db postgresql)")
    if not args.skip_plan:
        zones = _zones(args.zones)
        for dialect in databases:
            with _database(dialect) as url:
                ok &= _plan(url, catalog, enrolments=args.plan_enrolments, zones=zones, args=args)
    print(f"bench: {'ok' if ok else 'FAILED (duplicates, losses or a wrong plan above)'}")
    return 0 if ok else 1


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--learners", type=int, default=10_000, help="fan-out size (10000)")
    parser.add_argument(
        "--cap", type=float, default=100.0, help="emulated workspace cap, msgs/s (100)"
    )
    parser.add_argument(
        "--slack-burst",
        type=int,
        default=None,
        help="burst of the emulated workspace cap (default: a fifth of a second of the cap)",
    )
    parser.add_argument(
        "--send-burst", type=int, default=8, help="MICROLEARN_SEND_BURST (8, the shipped default)"
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=150.0,
        help="milliseconds the stand-in takes to answer each chat.postMessage, as Slack does from "
        "afar (150; 0: at once)",
    )
    parser.add_argument(
        "--jitter",
        type=float,
        default=50.0,
        help="milliseconds the latency varies by, either way, uniformly (50)",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=0,
        help="also fan out from N `microlearn serve --http` processes of 2 workers each on one "
        "PostgreSQL database, all paced by the one rate (0: skip)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="MICROLEARN_SEND_THREADS: posts in flight per process (default: as the rate needs)",
    )
    parser.add_argument(
        "--probe-learners",
        type=int,
        default=2_000,
        help="learners of the uncapped fan-out that measures the drain's own speed (2000; 0: skip)",
    )
    parser.add_argument(
        "--db",
        choices=["sqlite", "postgresql", "both"],
        default="sqlite",
        help="database(s) for both steps (sqlite; both takes twice as long)",
    )
    parser.add_argument("--plan-enrolments", type=int, default=100_000)
    parser.add_argument("--zones", type=int, default=400)
    parser.add_argument(
        "--due",
        choices=["same", "staggered"],
        default="same",
        help="plan: every enrolment due at one instant (same), or each zone a minute apart",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=1800.0,
        help="give up draining after this many seconds; what is left counts as lost (1800)",
    )
    parser.add_argument("--skip-fanout", action="store_true")
    parser.add_argument(
        "--skip-single",
        action="store_true",
        help="skip the capped fan-out from this one process (the --replicas run still happens)",
    )
    parser.add_argument("--skip-plan", action="store_true")
    args = parser.parse_args(argv)
    if args.slack_burst is None:
        args.slack_burst = max(5, round(args.cap / 5))
    args.jitter = min(args.jitter, args.latency)
    return args


def _write_lessons(folder: Path) -> Catalog:
    for name, content in LESSONS.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content), encoding="utf-8")
    loaded = load_catalog(folder)
    if loaded.problems:
        raise SystemExit("bench lessons have problems:\n" + "\n".join(map(str, loaded.problems)))
    return loaded.catalog


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


def _dialect(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# -- the stand-in, in a child process --------------------------------------------------------


@dataclass
class _Bucket:
    per_second: float
    burst: float
    tokens: float
    updated: float


class CappedStandIn(SlackStandIn):
    """The stand-in with a workspace cap on top of its own (per-channel) rule for one method.

    `SlackStandIn.rate_limit` keeps one rule per method (a second call replaces the first), so
    the workspace-wide cap lives here and the per-channel rule stays the stand-in's. A call is
    refused when either bucket is empty and then takes no token from the other. Accepted calls
    are time-stamped for the achieved-rate figures.
    """

    def __init__(self) -> None:
        super().__init__()
        self._caps: dict[str, _Bucket] = {}
        self.accepted: dict[str, list[float]] = {}
        self.refused = Counter[tuple[str, str]]()
        self.refused_at: list[float] = []  # when each 429 of the workspace cap was answered

    def cap_workspace(self, method: str, *, per_second: float, burst: int) -> None:
        with self._lock:
            self._caps[method] = _Bucket(per_second, float(burst), float(burst), self._clock())

    def _take_token(self, method: str, params: dict[str, Any]) -> int | None:
        now = self._clock()
        cap = self._caps.get(method)
        if cap is not None:
            cap.tokens = min(cap.burst, cap.tokens + (now - cap.updated) * cap.per_second)
            cap.updated = now
            if cap.tokens < 1.0:
                self.refused[(method, "workspace")] += 1
                self.refused_at.append(now)
                return max(1, math.ceil((1.0 - cap.tokens) / cap.per_second))
        retry_after = super()._take_token(method, params)
        if retry_after is not None:
            self.refused[(method, "channel")] += 1
            return retry_after
        if cap is not None:
            cap.tokens -= 1.0
        self.accepted.setdefault(method, []).append(now)
        return None


@dataclass(frozen=True)
class _StandInPlan:
    learners: int
    cap: float | None
    slack_burst: int
    latency: float  # seconds added to every chat.postMessage
    jitter: float  # seconds it varies by, either way


@dataclass(frozen=True)
class _StandInReady:
    api_url: str
    bot_token: str
    lead: str
    learners: tuple[str, ...]
    group: str
    seed_seconds: float


@dataclass(frozen=True)
class _StandInReport:
    stats: dict[str, dict[str, int]]
    accepted: list[float]  # time.monotonic() of each chat.postMessage let through
    refused: dict[str, int]  # 429s by rule: workspace, channel
    refused_at: list[float]  # time.monotonic() of each 429 of the workspace cap
    posted: dict[str, list[tuple[int, int]]]  # learner → (delivery id, part) of each message
    unmarked: int  # messages to learners without the bot's delivery metadata
    peak_rss_mib: float


def _stand_in_process(connection: Connection, plan: _StandInPlan) -> None:
    standin = CappedStandIn().start()
    try:
        started = time.perf_counter()
        lead = standin.add_user("lena", real_name="Lena Lead", tz="Europe/Berlin", is_admin=True)
        learners = tuple(
            standin.add_user(f"learner{n}", tz=LEARNER_ZONES[n % len(LEARNER_ZONES)])
            for n in range(plan.learners)
        )
        for user_id in learners:
            # The app's DM exists already in Slack; opening it here also spares the stand-in's
            # rate limiter a scan of every conversation for a user id it has not seen.
            standin.dm_channel(user_id)
        group = standin.add_usergroup("everyone", learners)
        standin.delay("chat.postMessage", plan.latency, jitter=plan.jitter)
        if plan.cap is not None:
            standin.rate_limit(
                "chat.postMessage",
                per_second=SLACK_CHANNEL_RATE,
                burst=SLACK_CHANNEL_BURST,
                scope="channel",
            )
            standin.cap_workspace("chat.postMessage", per_second=plan.cap, burst=plan.slack_burst)
        connection.send(
            _StandInReady(
                standin.api_url,
                standin.bot_token,
                lead,
                learners,
                group,
                time.perf_counter() - started,
            )
        )
        while (command := connection.recv()) != "stop":
            assert command == "report", command
            connection.send(_stand_in_report(standin, learners))
    finally:
        standin.stop()
        connection.close()


def _stand_in_report(standin: CappedStandIn, learners: Sequence[str]) -> _StandInReport:
    posted: dict[str, list[tuple[int, int]]] = {}
    unmarked = 0
    for user_id in learners:
        parts = posted[user_id] = []
        for message in standin.messages(user_id):
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if "delivery_id" in payload and "part" in payload:
                parts.append((int(payload["delivery_id"]), int(payload["part"])))
            else:
                unmarked += 1
    with standin._lock:  # the HTTP threads append under this lock
        accepted = list(standin.accepted.get("chat.postMessage", []))
        refused = {rule: n for (method, rule), n in standin.refused.items()}
        refused_at = list(standin.refused_at)
    return _StandInReport(
        stats=standin.stats(),
        accepted=accepted,
        refused=refused,
        refused_at=refused_at,
        posted=posted,
        unmarked=unmarked,
        peak_rss_mib=_peak_rss_mib(),
    )


class _StandIn:
    """The parent's handle on the stand-in process."""

    def __init__(self, plan: _StandInPlan) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(
            target=_stand_in_process, args=(child, plan), name="slack-standin", daemon=True
        )
        self._process.start()
        child.close()
        ready = self._connection.recv()
        assert isinstance(ready, _StandInReady)
        self.ready = ready

    def report(self) -> _StandInReport:
        self._connection.send("report")
        report = self._connection.recv()
        assert isinstance(report, _StandInReport)
        return report

    def stop(self) -> None:
        with suppress(BrokenPipeError, OSError):
            self._connection.send("stop")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()


# -- fan-out ----------------------------------------------------------------------------------


@dataclass
class _Drained:
    seconds: float
    sent: int = 0
    retried: int = 0
    failed: int = 0
    passes: int = 0
    left: int = 0
    started: float = 0.0  # time.monotonic(), comparable with the stand-in's time stamps
    enqueue_seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process's user + system time while draining
    preempted: int = 0  # involuntary context switches while draining: other work wanted the CPU
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after


def _fanout(
    url: str,
    lessons: Path,
    catalog: Catalog,
    *,
    learners: int,
    cap: float | None,
    args: argparse.Namespace,
) -> bool:
    dialect = _dialect(url)
    label = f"fan-out {dialect}" + ("" if cap is not None else " uncapped")
    standin = _StandIn(
        _StandInPlan(learners, cap, args.slack_burst, args.latency / 1000, args.jitter / 1000)
    )
    try:
        ready = standin.ready
        rate = cap if cap is not None else 1_000_000.0
        burst = args.send_burst if cap is not None else 1_000_000
        settings = settings_from(
            {
                "SLACK_BOT_TOKEN": ready.bot_token,
                "SLACK_API_URL": ready.api_url,
                "DATABASE_URL": url,
                "LESSONS_DIR": str(lessons),
                "MICROLEARN_SEND_RATE": f"{rate:g}",
                "MICROLEARN_SEND_BURST": str(burst),
                "MICROLEARN_LOG_LEVEL": "WARNING",
                **({"MICROLEARN_SEND_THREADS": str(args.threads)} if args.threads else {}),
            }
        )
        db = app.open_database(settings)  # as `serve` opens it
        try:
            migrate.upgrade(db)
            services = app.build_services(
                settings, db, catalog, clock=lambda: datetime.now(UTC), sleep=time.sleep
            )
            services.catalog.sync(now=datetime.now(UTC))
            started = time.perf_counter()
            result = services.scheduling.send_now(
                team_id=TEAM,
                lead_id=ready.lead,
                address=FANOUT_COURSE,
                targets=(Target(TargetKind.USERGROUP, id=ready.group, name="everyone"),),
                now=datetime.now(UTC),
            )
            enqueue_seconds = time.perf_counter() - started
            print(
                f"{label}: {learners} learners seeded in {ready.seed_seconds:.1f} s; send_now "
                f"enqueued {result.users} deliveries in {enqueue_seconds:.1f} s "
                f"({result.users / enqueue_seconds:.0f}/s)"
            )
            drained = _drain(services, db, timeout=args.drain_timeout)
            report = standin.report()
            drained.enqueue_seconds = enqueue_seconds
            return _judge(label, db, ready, report, drained, learners=learners, cap=cap)
        finally:
            db.dispose()
    finally:
        standin.stop()


REPLICA_WORKERS = 2
# The replicas take no requests here (health checks aside), so their request and listener threads
# are few: with the shipped 16 + 16, each worker's pool may open 28 connections (18 and a burst
# of 10), and four of them took all 100 of a PostgreSQL server shared with other work ("too many
# clients", which failed sends and the bench itself). With 4 + 4, at most 16 a worker (6 and the
# burst): the sending threads hold one only for a statement at a time.
REPLICA_REQUEST_THREADS = 4
SIGNING_SECRET = "bench-signing-secret"


def _replicas(url: str, lessons: Path, catalog: Catalog, *, args: argparse.Namespace) -> bool:
    """The same fan-out, sent by `--replicas` servers (each `serve --http --workers 2`) that
    share one PostgreSQL database and one MICROLEARN_SEND_RATE: together, no faster than it."""
    label = f"fan-out {args.replicas} replicas x {REPLICA_WORKERS} workers postgresql"
    cap = args.cap
    standin = _StandIn(
        _StandInPlan(args.learners, cap, args.slack_burst, args.latency / 1000, args.jitter / 1000)
    )
    replicas: list[BotProcess] = []
    try:
        ready = standin.ready
        env = bot_environment(
            api_url=ready.api_url,
            database_url=url,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            LESSONS_DIR=str(lessons),
            MICROLEARN_SEND_RATE=f"{cap:g}",
            MICROLEARN_SEND_BURST=str(args.send_burst),
            MICROLEARN_TICK_SECONDS="1",
            MICROLEARN_WEB_THREADS=str(REPLICA_REQUEST_THREADS),
            MICROLEARN_LISTENER_THREADS=str(REPLICA_REQUEST_THREADS),
            **({"MICROLEARN_SEND_THREADS": str(args.threads)} if args.threads else {}),
        )
        settings = settings_from(env | {"SLACK_BOT_TOKEN": ready.bot_token})
        db = app.open_database(settings)
        try:
            migrate.upgrade(db)
            services = app.build_services(
                settings, db, catalog, clock=lambda: datetime.now(UTC), sleep=time.sleep
            )
            services.catalog.sync(now=datetime.now(UTC))
            logs = Path(tempfile.mkdtemp(prefix="microlearn-bench-replicas-"))
            for n in range(args.replicas):
                replicas.append(_start_replica(env, logs / f"replica-{n + 1}.log"))
            cpu_before = [_process_cpu(replica.process.pid) for replica in replicas]
            started = time.perf_counter()
            result = services.scheduling.send_now(
                team_id=TEAM,
                lead_id=ready.lead,
                address=FANOUT_COURSE,
                targets=(Target(TargetKind.USERGROUP, id=ready.group, name="everyone"),),
                now=datetime.now(UTC),
            )
            enqueue_seconds = time.perf_counter() - started
            print(
                f"{label}: {args.learners} learners; send_now enqueued {result.users} deliveries "
                f"in {enqueue_seconds:.1f} s; the replicas' ticks (every second) send them"
            )
            drained = _wait_until_sent(db, timeout=args.drain_timeout)
            drained.enqueue_seconds = enqueue_seconds
            peaks = [_process_peaks(replica.process.pid) for replica in replicas]
            cpu = [
                _process_cpu(replica.process.pid, since=before)
                for replica, before in zip(replicas, cpu_before, strict=True)
            ]
            report = standin.report()
            rss = "; ".join(
                f"replica {n + 1} peak RSS "
                + ", ".join(f"{name} {mib:.0f} MiB" for name, mib in peak.items())
                for n, peak in enumerate(peaks)
            )
            ok = _judge(label, db, ready, report, drained, learners=args.learners, cap=cap, rss=rss)
            _print_replicas_work(cpu, report, messages=2 * args.learners)
            text = [log.read_text().splitlines() for log in logs.glob("*.log")]
            errors = sum(" ERROR " in line for lines in text for line in lines)
            refused = sum(
                line.startswith("psycopg.OperationalError") and "too many clients" in line
                for lines in text
                for line in lines
            )
            print(
                f"  the replicas' logs (level WARNING): {sum(map(len, text))} lines in {logs}; "
                f"{errors} errors; {refused} database connections refused (the server's "
                "max_connections, shared with other work, were all taken)"
            )
            return ok
        finally:
            for replica in replicas:
                with suppress(Exception):
                    replica.stop(timeout=30)
            db.dispose()
    finally:
        standin.stop()


def _start_replica(env: dict[str, str], log: Path) -> BotProcess:
    """`microlearn serve --http --workers 2` on a free port, its output in `log` (a pipe nobody
    reads would fill up and stop it)."""
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--http", "--host", "127.0.0.1"]
            + ["--port", str(port), "--workers", str(REPLICA_WORKERS)],
            env=env,
            cwd=Path(__file__).resolve().parents[1],
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    replica = BotProcess(process, url=f"http://127.0.0.1:{port}")
    wait_until_healthy(replica, timeout=60)
    return replica


def _wait_until_sent(db: Database, *, timeout: float) -> _Drained:
    """Watch the outbox until nothing is pending or being sent (other processes send)."""
    start = time.monotonic()
    drained = _Drained(seconds=0.0, started=start)
    load = os.getloadavg()[0]
    while True:
        try:
            drained.left = _unfinished(db)
        except OperationalError:  # no connection to be had now ("too many clients"): next poll
            drained.left = -1
        if drained.left == 0 or time.monotonic() - start > timeout:
            break
        time.sleep(0.25)  # polling other processes' progress
    drained.seconds = time.monotonic() - start
    if drained.left < 0:  # timed out while no connection could be had: count once more
        drained.left = _unfinished(db)
    drained.load = (load, os.getloadavg()[0])
    return drained


def _process_peaks(pid: int) -> dict[str, float]:
    """Peak RSS (VmHWM) of a server's master process and of each of its workers, in MiB."""
    peaks = {"master": _vm_hwm(pid)}
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for n, child in enumerate(children, start=1):
        peaks[f"worker {n}"] = _vm_hwm(int(child))
    return peaks


def _process_cpu(pid: int, *, since: dict[str, float] | None = None) -> dict[str, float]:
    """User + system CPU seconds of a server's master and of each of its workers, less what
    they had used at `since`."""
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for name, process in (("master", pid), *((f"worker {c}", int(c)) for c in children)):
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime and stime: the 14th and 15th fields, the 12th and 13th after the command's name
        used[name] = (int(fields[11]) + int(fields[12])) / tick - (since or {}).get(name, 0.0)
    return used


def _print_replicas_work(
    cpu: list[dict[str, float]], report: _StandInReport, *, messages: int
) -> None:
    """The replicas' CPU during the fan-out (send_now to the last post), and their lookups."""
    total = sum(sum(used.values()) for used in cpu)
    each = "; ".join(
        f"replica {n}: " + ", ".join(f"{name.split()[0]} {s:.1f} s" for name, s in used.items())
        for n, used in enumerate(cpu, start=1)
    )
    lookups = ", ".join(
        f"{method} {report.stats.get(method, {}).get('calls', 0)}"
        for method in ("users.list", "users.info")
    )
    print(
        f"  the replicas' CPU (user + system) from send_now to the last post: {total:.1f} s, "
        f"{1000 * total / messages:.1f} ms a message ({each}); Slack calls to look people up: "
        f"{lookups}"
    )


def _vm_hwm(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _drain(services: Services, db: Database, *, timeout: float) -> _Drained:
    """Drain with the real clock until no delivery is pending or being sent."""
    start = time.monotonic()
    drained = _Drained(seconds=0.0, started=start)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    load = os.getloadavg()[0]
    while True:
        budget = timedelta(seconds=max(0.0, timeout - (time.monotonic() - start)))
        report = services.delivery.drain(now=datetime.now(UTC), budget=budget)
        drained.passes += 1
        drained.sent += report.sent
        drained.retried += report.retried
        drained.failed += report.failed
        drained.left = _unfinished(db)
        if drained.left == 0 or time.monotonic() - start > timeout:
            break
        if report.sent == report.retried == report.failed == 0:
            time.sleep(0.2)  # what is left waits for its retry time
    drained.seconds = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    drained.cpu_seconds = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    drained.preempted = after.ru_nivcsw - usage.ru_nivcsw
    drained.load = (load, os.getloadavg()[0])
    return drained


def _unfinished(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count())
                .select_from(Delivery)
                .where(col(Delivery.status).in_(("pending", "sending")))
            ).scalar_one()
        )


def _judge(
    label: str,
    db: Database,
    ready: _StandInReady,
    report: _StandInReport,
    drained: _Drained,
    *,
    learners: int,
    cap: float | None,
    rss: str | None = None,
) -> bool:
    """Print what the fan-out achieved; False if a message was doubled or a delivery lost."""
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(col(Delivery.id), col(Delivery.recipient), col(Delivery.status)).where(
                col(Delivery.kind) == "lesson"
            )
        ).all()
        notices = int(
            connection.execute(
                select(func.count()).select_from(Delivery).where(col(Delivery.kind) == "notice")
            ).scalar_one()
        )
    delivery_of: dict[str, list[int]] = {}
    statuses = Counter[str]()
    for delivery_id, recipient, status in rows:
        delivery_of.setdefault(recipient, []).append(int(delivery_id or 0))
        statuses[status] += 1
    status_of = {int(i or 0): status for i, _, status in rows}
    duplicates = stray = missing = unsent = 0
    lost = 0  # learners who did not get every part of exactly one sent delivery
    for user_id in ready.learners:
        counts = Counter(report.posted.get(user_id, []))
        duplicates += sum(n - 1 for n in counts.values() if n > 1)
        own = delivery_of.pop(user_id, [])
        stray += sum(n for (delivery_id, _), n in counts.items() if delivery_id not in own)
        incomplete = len(own) != 1 or any((own[0], part) not in counts for part in range(PARTS))
        not_sent = any(status_of[delivery_id] != "sent" for delivery_id in own)
        missing += incomplete
        unsent += not_sent
        lost += incomplete or not_sent
    lost += sum(
        status_of[i] != "sent" for others in delivery_of.values() for i in others
    )  # lesson deliveries to anyone else (there should be none)
    messages = sum(len(parts) for parts in report.posted.values())
    post = report.stats.get("chat.postMessage", {})
    limited = post.get("rate_limited", 0)
    accepted = sorted(report.accepted)
    overall = messages / drained.seconds if drained.seconds else 0.0
    steady = _steady_rate(accepted)
    ok = duplicates == 0 and lost == 0 and stray == 0
    head = (
        f"{label}: {learners} learners, {messages} messages in {drained.seconds:.1f} s = "
        f"{overall:.1f} msg/s"
    )
    tail = f"duplicates: {duplicates}; lost: {lost}; " + (
        rss or f"peak RSS {_peak_rss_mib():.0f} MiB"
    )
    if cap is None:
        print(
            f"{head} (steady {steady:.1f} msg/s) with no cap at all: the drain's own speed "
            f"here, so the highest cap it could saturate; {tail}"
        )
    else:
        verdict = "met" if steady / cap >= RATE_GOAL else "MISSED"
        print(
            f"{head} = {overall / cap:.3f} of the {cap:g}/s cap (steady {steady:.1f} msg/s = "
            f"{steady / cap:.3f}; goal >= {RATE_GOAL}: {verdict}); 429s: {limited}; {tail}"
        )
    low, high = STEADY
    offered = _window_rates(sorted(accepted + report.refused_at), seconds=1.0)
    if offered:
        print(
            f"  offered (accepted + refused) per 1-s window: median "
            f"{sorted(offered)[len(offered) // 2]:.1f}, max {max(offered):.1f} msg/s"
        )
    windows = _window_rates(accepted, seconds=10.0)
    slowest = 10 * (windows.index(min(windows)) + 1) if windows else 0
    print(
        f"  wall: send_now {drained.enqueue_seconds:.1f} s + drain {drained.seconds:.1f} s = "
        f"{drained.enqueue_seconds + drained.seconds:.1f} s; first message "
        f"{(accepted[0] - drained.started) if accepted else 0.0:.2f} s into the drain; the "
        f"drain used {drained.cpu_seconds:.1f} s of CPU here, was preempted "
        f"{drained.preempted} times; load average {drained.load[0]:.2f} before, "
        f"{drained.load[1]:.2f} after (2 cores busy with other work slow everything down)"
    )
    print(
        f"  steady rate = messages between the {low:.0%} and {high:.0%} marks of the posting "
        f"times, over the time between them (leaves out the start-up burst and the tail)"
        + (
            f"; 10-s windows: min {min(windows):.1f} (the one from {slowest} s), median "
            f"{sorted(windows)[len(windows) // 2]:.1f}, max {max(windows):.1f} msg/s"
            if windows
            else ""
        )
    )
    print(f"  {_silences(accepted, sorted(report.refused_at))}")
    print(
        f"  deliveries {dict(statuses)} in {drained.passes} drain pass(es) (sent {drained.sent}, "
        f"retried {drained.retried}, failed {drained.failed}); notices {notices}; 429s by "
        f"rule: {_refusals(report.refused)}; stand-in process peak RSS "
        f"{report.peak_rss_mib:.0f} MiB"
    )
    if not ok or report.unmarked:
        print(
            f"  PROBLEM: {duplicates} duplicate messages; {unsent} learners whose delivery is "
            f"not sent, {missing} learners missing a part; {stray} messages of another delivery; "
            f"{report.unmarked} messages without delivery metadata"
        )
    return ok


def _steady_rate(instants: Sequence[float]) -> float:
    if len(instants) < 20:
        return 0.0
    low = int(len(instants) * STEADY[0])
    high = int(len(instants) * STEADY[1]) - 1
    span = instants[high] - instants[low]
    return (high - low) / span if span > 0 else 0.0


def _window_rates(instants: Sequence[float], *, seconds: float) -> list[float]:
    """Messages per second in each whole window of `seconds` (the first window left out)."""
    if not instants:
        return []
    counts = Counter(int((t - instants[0]) // seconds) for t in instants)
    whole = int((instants[-1] - instants[0]) // seconds)
    return [counts[w] / seconds for w in range(1, whole)]


def _silences(accepted: Sequence[float], refused: Sequence[float]) -> str:
    """What the 429s cost: how many incidents (429s less than a second apart are one), and the
    longest silence (no post accepted) starting from just before each incident's first 429 to
    half a second after its last (the posts already in flight land first); and every silence
    over a quarter of a second, whatever its cause."""
    incidents: list[tuple[float, float]] = []
    for at in refused:
        if incidents and at - incidents[-1][1] < 1.0:
            incidents[-1] = (incidents[-1][0], at)
        else:
            incidents.append((at, at))
    gaps = list(zip(accepted, accepted[1:], strict=False))
    cost = []
    for first, last in incidents:
        start = max(0, bisect.bisect_left(accepted, first - 0.2) - 1)
        stop = bisect.bisect_right(accepted, last + 0.5)
        cost.append(max((b - a for a, b in gaps[start:stop]), default=0.0))
    long = [b - a for a, b in gaps if b - a > 0.25]
    return (
        f"429 incidents: {len(incidents)}, the silence after each {sum(cost):.1f} s in all "
        f"(longest {max(cost, default=0.0):.2f} s); silences over 0.25 s: {len(long)}, "
        f"{sum(long):.1f} s in all (longest {max(long, default=0.0):.2f} s)"
    )


def _refusals(refused: dict[str, int]) -> str:
    return ", ".join(f"{rule} {n}" for rule, n in sorted(refused.items())) or "none"


# -- plan -------------------------------------------------------------------------------------


def _zones(count: int) -> list[str]:
    """`count` IANA zones spread evenly over the sorted list of every zone known here."""
    names = sorted(name for name in available_timezones() if zone(name).key == name)
    if count >= len(names):
        return names
    return [names[index * len(names) // count] for index in range(count)]


def _plan(
    url: str,
    catalog: Catalog,
    *,
    enrolments: int,
    zones: Sequence[str],
    args: argparse.Namespace,
) -> bool:
    dialect = _dialect(url)
    db = Database(url)
    try:
        migrate.upgrade(db)
        ContentRepository(db).sync(catalog, now=datetime.now(UTC))
        seeded = datetime.now(UTC).replace(microsecond=0)
        # Every enrolment is due: at one instant, or (staggered) each zone a minute after the last.
        due = {
            tz: seeded - timedelta(minutes=1 if args.due == "same" else index + 1)
            for index, tz in enumerate(zones)
        }
        started = time.perf_counter()
        _seed_enrolments(db, enrolments=enrolments, due=due, now=seeded)
        print(
            f"plan {dialect}: {enrolments} enrolments in {len(zones)} zones, one drip, all due "
            f"({'at one instant' if args.due == 'same' else 'each zone a minute apart'}), "
            f"inserted in {time.perf_counter() - started:.1f} s"
        )
        ok = True
        for run in (1, 2):
            if run == 2:
                started = time.perf_counter()
                _reset_enrolments(db, due)
                reset = time.perf_counter() - started
                print(
                    f"  reset for run 2 (no deliveries, every enrolment due again): {reset:.1f} s"
                )
            now = datetime.now(UTC)
            plans = PlanRepository(db)
            started = time.perf_counter()
            recorded = plans.plan(now=now, grace=timedelta(hours=12), next_slot=group_next_slot)
            decided = time.perf_counter() - started
            first = plans.apply_planned(now=now, limit=PLAN_CHUNK)
            seconds = time.perf_counter() - started
            chunks = [first]
            slowest = seconds - decided
            rest_started = time.perf_counter()
            while chunks[-1].enrolments:
                chunk_started = time.perf_counter()
                chunks.append(plans.apply_planned(now=now, limit=PLAN_CHUNK))
                slowest = max(slowest, time.perf_counter() - chunk_started)
            rest = time.perf_counter() - rest_started
            problems = _check_plan(db, enrolments=enrolments, now=now)
            counted = _count_deliveries(db)
            planned = sum(chunk.planned for chunk in chunks)
            verdict = "met" if seconds <= PLAN_GOAL_SECONDS else "MISSED"
            print(
                f"plan {dialect} run {run}: plan step {seconds:.3f} s "
                f"(goal <= {PLAN_GOAL_SECONDS:g} s: {verdict}): {recorded.groups} groups of "
                f"{recorded.due} due enrolments decided and recorded in {decided:.3f} s, the first "
                f"{first.planned} deliveries written in {seconds - decided:.3f} s"
            )
            print(
                f"  the other {planned - first.planned} deliveries, applied in "
                f"{len(chunks) - 2} more chunks of <= {PLAN_CHUNK}: {rest:.3f} s in all, slowest "
                f"chunk {slowest * 1000:.0f} ms; {counted} deliveries in the table; "
                f"{'correct' if not problems else 'WRONG: ' + '; '.join(problems)}; "
                f"peak RSS {_peak_rss_mib():.0f} MiB"
            )
            moved = sum(chunk.moved + chunk.finished_enrolments for chunk in chunks)
            if planned != counted or moved or recorded.due != enrolments:
                print(
                    f"  NOTE: planned={planned}, moved or finished={moved}, due={recorded.due}; "
                    f"the delivery table holds {counted}"
                )
                problems.append("the counts disagree")
            ok &= not problems
        return ok
    finally:
        db.dispose()


def _seed_enrolments(
    db: Database, *, enrolments: int, due: dict[str, datetime], now: datetime
) -> None:
    """Bulk-insert one drip with `enrolments` active DM enrolments, spread over the zones."""
    zones = list(due)
    with db.write_connection() as connection:
        course_id = connection.execute(
            select(col(Course.id)).where(col(Course.slug) == PLAN_COURSE)
        ).scalar_one()
        drip_id = connection.execute(
            insert(Drip)
            .values(
                team_id=TEAM,
                course_id=course_id,
                created_by="ULEAD0001",
                status="active",
                days="mon,tue,wed,thu,fri",
                at_time="09:30",
                channel_tz="UTC",
                created_at=now,
                updated_at=now,
            )
            .returning(col(Drip.id))
        ).scalar_one()
        chunk = 10_000
        for first in range(0, enrolments, chunk):
            connection.execute(
                insert(Enrolment),
                [
                    {
                        "team_id": TEAM,
                        "drip_id": drip_id,
                        "recipient": f"U{n:09d}",
                        "recipient_kind": "dm",
                        "next_position": 1,
                        "next_due_at": due[zones[n % len(zones)]],
                        "status": "active",
                        "enrolled_by": "ULEAD0001",
                        "created_at": now,
                        "tz": zones[n % len(zones)],
                        "days": "mon,tue,wed,thu,fri",
                        "at_time": "09:30",
                    }
                    for n in range(first, min(first + chunk, enrolments))
                ],
            )
    if not db.is_sqlite:
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE"))  # as autovacuum soon would on a live database


def _reset_enrolments(db: Database, due: dict[str, datetime]) -> None:
    """Undo a plan: no deliveries, every enrolment back at lesson 1 and due as seeded."""
    with db.write_connection() as connection:
        connection.execute(delete(Delivery))
        connection.execute(
            update(Enrolment).values(
                next_position=1,
                next_due_at=case(due, value=col(Enrolment.tz)),
                status="active",
                finished_at=None,
            )
        )
    if not db.is_sqlite:
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE"))


def _count_deliveries(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Delivery)).scalar_one())


def _check_plan(db: Database, *, enrolments: int, now: datetime) -> list[str]:
    """Exactly one delivery per enrolment; each at lesson 2 and due at its zone's next slot."""
    problems: list[str] = []
    with db.engine.connect() as connection:
        total, distinct = connection.execute(
            select(func.count(), func.count(func.distinct(col(Delivery.enrolment_id)))).where(
                col(Delivery.kind) == "lesson"
            )
        ).one()
        lesson_ids = {
            lesson_id
            for (lesson_id,) in connection.execute(
                select(col(Delivery.lesson_id)).group_by(col(Delivery.lesson_id))
            )
        }
        first_lesson = connection.execute(
            select(col(Lesson.id))
            .join(Course, col(Course.id) == col(Lesson.course_id))
            .where(col(Course.slug) == PLAN_COURSE, col(Lesson.position) == 1)
        ).scalar_one()
        not_advanced = connection.execute(
            select(func.count())
            .select_from(Enrolment)
            .where(
                (col(Enrolment.next_position) != 2)
                | (col(Enrolment.status) != "active")
                | col(Enrolment.next_due_at).is_(None)
                | (col(Enrolment.next_due_at) <= now)
            )
        ).scalar_one()
        slots = connection.execute(
            select(col(Enrolment.tz), col(Enrolment.next_due_at), func.count()).group_by(
                col(Enrolment.tz), col(Enrolment.next_due_at)
            )
        ).all()
    if total != enrolments or distinct != enrolments:
        problems.append(f"{total} deliveries for {distinct} of {enrolments} enrolments")
    if lesson_ids != {first_lesson}:
        problems.append(f"deliveries of lessons {lesson_ids}, not only lesson {first_lesson}")
    if not_advanced:
        problems.append(f"{not_advanced} enrolments not at lesson 2 with a future due time")
    wrong = 0
    weekdays = Days.decode("mon,tue,wed,thu,fri")
    for tz, due_at, count in slots:
        expected = next_slot(weekdays, parse_time("09:30"), zone(tz), after=now)
        if due_at is None or due_at.replace(tzinfo=UTC) != expected:
            wrong += count
    if wrong:
        problems.append(f"{wrong} enrolments not due at their zone's next 09:30 weekday")
    return problems


if __name__ == "__main__":
    sys.exit(main())
