"""The CPU of the delivery tick (and of `/learn schedule` and `/learn report`) on a small bot.

    .venv/bin/python bench/tick.py                   # SQLite and PostgreSQL, ~1 minute
    .venv/bin/python bench/tick.py --db sqlite --ticks 400
    .venv/bin/python bench/tick.py --profile out.prof   # cProfile of the idle ticks

The bot is the one the flow tests run (`tests.support.harness.running_bot`: bot.app's services
over HTTP against the in-process Slack stand-in, on a fake clock) with a few learners in several
time zones and three drips (one to a channel). Measured, as CPU seconds of the ticking thread
(`thread_time`; the stand-in and the HTTP server run on other threads) and of the whole process
(`process_time`, the stand-in's answers included):

- idle: `--ticks` ticks a minute apart while nothing is due (the common case: a serving process
  ticks every few seconds);
- days: a tick every `--step` minutes over `--days` days while the drips run, split into the ticks
  that sent something and those that had nothing to do;
- commands: `/learn schedule` (a drip to one person) and `/learn report <course>`, `--commands`
  times each (served on the bot's HTTP thread: only the process figure counts; the report's
  chart is drawn each time).

Prints figures only; not a test. Exits 1 if the days did not send what they should.
"""

from __future__ import annotations

import argparse
import cProfile
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.storage import migrate  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from tests.standin import SlackStandIn  # noqa: E402
from tests.support.databases import (  # noqa: E402
    reachable_databases,
    scratch_database,
)
from tests.support.harness import START, Bot, running_bot  # noqa: E402

ZONES = {
    "ann": "Europe/Berlin",
    "bob": "America/New_York",
    "cid": "Asia/Kolkata",
    "dan": "Asia/Tokyo",
    "eve": "Europe/London",
    "fay": "America/Los_Angeles",
}


@dataclass
class _Cpu:
    thread: list[float] = field(default_factory=list)
    process: list[float] = field(default_factory=list)

    def line(self, label: str) -> str:
        if not self.thread:
            return f"  {label:<26} none"
        return (
            f"  {label:<26} {len(self.thread):4d} x  thread {_ms(self.thread)}"
            f"  process {_ms(self.process)}"
        )


def _ms(values: Sequence[float]) -> str:
    mean = statistics.fmean(values) * 1000
    median = statistics.median(values) * 1000
    return f"{mean:7.2f} ms mean {median:7.2f} ms median"


def _timed(cpu: _Cpu, call: Callable[[], object]) -> object:
    thread, process = time.thread_time(), time.process_time()
    result = call()
    cpu.thread.append(time.thread_time() - thread)
    cpu.process.append(time.process_time() - process)
    return result


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--ticks", type=int, default=300, help="idle ticks")
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--step", type=int, default=15, help="minutes between ticks of the days")
    parser.add_argument("--commands", type=int, default=20)
    parser.add_argument("--profile", help="write a cProfile of the idle ticks to this file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    dialects = reachable_databases(args.db)
    ok = True
    for dialect in dialects:
        with _bot(dialect) as bot:
            ok &= _bench(dialect, bot, args)
    return 0 if ok else 1


@contextmanager
def _bot(dialect: str) -> Iterator[Bot]:
    with scratch_database(dialect, prefix="microlearn_bench_tick") as url:
        db = Database(url)
        migrate.upgrade(db)
        db.dispose()
        with SlackStandIn() as standin, running_bot(standin, url) as bot:
            yield bot


def _bench(dialect: str, bot: Bot, args: argparse.Namespace) -> bool:
    standin = bot.standin
    people = {name: standin.add_user(name, tz=tz) for name, tz in ZONES.items()}
    general = standin.add_channel("general", members=[people["ann"], bot.lead])
    team = standin.add_usergroup("team", [people["bob"], people["cid"], people["dan"]])
    mentions = " ".join(f"<@{user}|{name}>" for name, user in people.items())
    for text in (
        f"schedule security-basics to <#{general}|general> {mentions} every weekdays at 09:30",
        f"schedule leading-people to <!subteam^{team}|@team> every day at 14:00",
        f"schedule career-microlearning to <@{people['eve']}|eve> <@{people['fay']}|fay> "
        "every mon,wed,fri at 11:00",
    ):
        reply = bot.command(bot.lead, text)
        assert reply.startswith(":white_check_mark:"), reply
    bot.tick(START)  # welcomes and time zones: the first tick's work, not measured
    print(
        f"{dialect}: {len(people)} learners, 3 drips, a tick at {START:%a %H:%M} UTC sent "
        f"{bot.reports[-1].drain.sent} deliveries"
    )

    idle = _Cpu()
    profile = cProfile.Profile() if args.profile else None
    now = START + timedelta(minutes=1)  # 06:01 UTC: nobody's 09:30 yet in Europe
    bot.tick(now)
    busy_ticks = 0
    for _ in range(args.ticks):
        now += timedelta(seconds=10)
        if profile is not None:
            profile.enable()
        _timed(idle, lambda at=now: bot.tick(at))  # type: ignore[misc]
        if profile is not None:
            profile.disable()
        busy_ticks += bool(bot.reports[-1].drain.sent or bot.reports[-1].planned)
    print(idle.line("idle ticks (10 s apart)"))
    if busy_ticks:
        print(f"  WARNING: {busy_ticks} of the idle ticks sent something")
    if profile is not None:
        profile.dump_stats(args.profile + f".{dialect}")
        print(f"  profile: {args.profile}.{dialect}")

    sending, quiet = _Cpu(), _Cpu()
    sent = 0
    end = now + timedelta(days=args.days)
    while now < end:
        now += timedelta(minutes=args.step)
        thread, process = time.thread_time(), time.process_time()
        report = bot.tick(now)
        cpu = sending if report.drain.sent or report.planned else quiet
        cpu.thread.append(time.thread_time() - thread)
        cpu.process.append(time.process_time() - process)
        sent += report.drain.sent
    print(quiet.line("days: nothing to send"))
    print(sending.line("days: sending"))
    print(f"  {sent} deliveries sent over {args.days} days")

    commands = {"schedule": _Cpu(), "report": _Cpu()}
    for n in range(args.commands):
        learner = standin.add_user(f"new{n}", tz="Europe/Paris")
        _timed(
            commands["schedule"],
            lambda u=learner: bot.command(  # type: ignore[misc]
                bot.lead, f"schedule security-basics to <@{u}> every weekdays at 10:00"
            ),
        )
        _timed(commands["report"], lambda: bot.command(bot.lead, "report security-basics"))
    for name, cpu in commands.items():
        print(cpu.line(f"/learn {name}"))
    return sent > 0


if __name__ == "__main__":
    sys.exit(main())
