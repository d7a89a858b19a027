"""Memory of `microlearn serve --http --workers 2` under a little load: what the Kubernetes
resource requests and limits in deploy/kubernetes/ are sized from.

Run on purpose, never by the suite:

    .venv/bin/python deploy/measure_memory.py [--db sqlite|postgresql|both] [--learners 300]

For each database (a temporary SQLite file; a scratch PostgreSQL database on DATABASE_URL_TEST's
server, created and dropped), the Slack stand-in (tests/standin) runs in this process with a lead
and `--learners` learners in one user group, and the real server runs as a subprocess against
it with the shipped lessons, as `microlearn serve --http --workers 2` with the shipped thread
counts. Then, through Slack's front door (signed HTTP requests):

1. idle: the server has started and answers /healthz;
2. load: every learner runs `/learn help`, `/learn courses` and `/learn progress`; the lead
   sends three lessons to the group and the bot delivers them (a lesson message and three
   questions each, to every learner); every learner answers every question; the lead runs
   `/learn report` on both courses (CSV built and uploaded).

After each phase it reads, from /proc, each process's resident set (VmRSS), its peak (VmHWM)
and its proportional share (Pss: pages shared between the gunicorn master and its forked workers
counted once, which is close to what a container's memory cgroup is charged), and the CPU time
the processes used during the load. Before serving, it runs `microlearn db upgrade` on the empty
database (what the Kubernetes Job does) and reports that process's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tests` is not installed

from tests.standin import SlackDriver, SlackStandIn
from tests.support.databases import scratch_database
from tests.support.process import (
    SIGNING_SECRET,
    BotProcess,
    bot_environment,
    start_http_bot,
)

LESSONS_SENT = (
    "security-basics/use-mfa-safely",
    "security-basics/passwords-and-passkeys",
    "leading-people/sbi-feedback",
)
MESSAGES_PER_LESSON = 4  # the lesson and its three questions
REPORTS = ("security-basics", "leading-people")
WORKERS = 2
MIB = 1024 * 1024


@dataclass(frozen=True)
class Memory:
    """One process's memory, in bytes."""

    pid: int
    role: str
    rss: int
    peak: int
    pss: int


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--learners", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight at once")
    args = parser.parse_args(argv)
    dialects = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    for dialect in dialects:
        database = scratch_database(dialect, prefix="microlearn_memory")
        with database as url, SlackStandIn() as standin:
            print(f"\n{dialect}: serve --http --workers {WORKERS}, {args.learners} learners")
            _measure(standin, url, learners=args.learners, concurrency=args.concurrency)
    return 0


def _measure(standin: SlackStandIn, url: str, *, learners: int, concurrency: int) -> None:
    lead = standin.add_user("lena", real_name="Lena Lead", is_admin=True)
    people = [standin.add_user(f"learner{n}") for n in range(learners)]
    group = standin.add_usergroup("memory-learners", people)
    env = bot_environment(
        api_url=standin.api_url,
        database_url=url,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        MICROLEARN_SEND_RATE="100",
        MICROLEARN_SEND_BURST="100",
    )
    with tempfile.TemporaryDirectory(prefix="microlearn-memory-cwd-") as cwd:
        print(f"  microlearn db upgrade: peak RSS {_mib(_upgrade_peak_rss(env, Path(cwd)))}")
        bot = start_http_bot(env, cwd=Path(cwd), workers=WORKERS, timeout=60)
        try:
            _print_phase("idle after start", _memory(bot.process.pid))
            started, cpu = time.monotonic(), _cpu_seconds(bot.process.pid)
            _load(standin, bot, lead=lead, group=group, people=people, concurrency=concurrency)
            seconds = time.monotonic() - started
            used = _cpu_seconds(bot.process.pid) - cpu
            _print_phase(f"after the load ({seconds:.0f} s)", _memory(bot.process.pid))
            print(
                f"  CPU during the load: {used:.1f} s in {seconds:.0f} s "
                f"({1000 * used / seconds:.0f} millicores on average)"
            )
        finally:
            bot.stop()


def _upgrade_peak_rss(env: dict[str, str], cwd: Path) -> int:
    command = [sys.executable, "-m", "bot", "db", "upgrade"]
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"microlearn db upgrade exited with {process.returncode}")
    return usage.ru_maxrss * 1024  # KiB on Linux


def _load(
    standin: SlackStandIn,
    bot: BotProcess,
    *,
    lead: str,
    group: str,
    people: Sequence[str],
    concurrency: int,
) -> None:
    driver = SlackDriver(
        standin, request_url=f"{bot.url}/slack/events", signing_secret=SIGNING_SECRET
    )

    def commands(user_id: str) -> None:
        for text in ("help", "courses", "progress"):
            _ok(driver.command(user_id, text).status, f"/learn {text}")

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(commands, people))
    posted = _posted(standin)
    for address in LESSONS_SENT:
        reply = driver.command(lead, f"send {address} to <!subteam^{group}|@memory-learners>")
        _ok(reply.status, "/learn send")
        posted += len(people) * MESSAGES_PER_LESSON
        if not standin.wait_for(_reached(standin, posted), timeout=300):
            raise SystemExit(f"delivery of {address} stalled at {_posted(standin)} messages")
    print(f"  delivered {len(LESSONS_SENT)} lessons to {len(people)} learners")

    def answer_everything(user_id: str) -> int:
        dm = standin.dm_channel(user_id)
        clicks = 0
        for message in standin.messages(dm):
            action = _first_answer(message)
            if action is not None:
                _ok(driver.click(user_id, message, channel_id=dm, action_id=action).status, "click")
                clicks += 1
        return clicks

    with ThreadPoolExecutor(concurrency) as pool:
        clicks = sum(pool.map(answer_everything, people))
    print(f"  {clicks} answers clicked")
    for course in REPORTS:
        _ok(driver.command(lead, f"report {course}").status, "/learn report")


def _first_answer(message: dict[str, object]) -> str | None:
    for block in message.get("blocks") or []:  # type: ignore[attr-defined]
        for element in block.get("elements") or [] if block.get("type") == "actions" else []:
            action_id = str(element.get("action_id", ""))
            if element.get("type") == "button" and action_id.startswith("answer_"):
                return action_id
    return None


def _reached(standin: SlackStandIn, target: int) -> Callable[[], bool]:
    return lambda: _posted(standin) >= target


def _posted(standin: SlackStandIn) -> int:
    return standin.stats().get("chat.postMessage", {}).get("accepted", 0)


def _ok(status: int, what: str) -> None:
    if status != 200:
        raise SystemExit(f"{what} answered {status}")


def _memory(master: int) -> list[Memory]:
    workers = list(_children(master))
    roles = [(master, "gunicorn master")] + [(pid, "worker") for pid in workers]
    return [_read(pid, role) for pid, role in roles]


def _children(parent: int) -> Iterator[int]:
    for entry in Path("/proc").iterdir():
        fields = _stat(entry) if entry.name.isdigit() else None
        if fields is not None and int(fields[1]) == parent:
            yield int(entry.name)


def _stat(process: Path) -> list[str] | None:
    """/proc/PID/stat from field 3 on (state, ppid, …), or None when the process is gone."""
    try:
        stat = (process / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    return stat[stat.rindex(")") + 2 :].split()


def _cpu_seconds(master: int) -> float:
    """User and system time of the master and its workers (utime, stime: fields 14 and 15)."""
    ticks = 0
    for pid in (master, *_children(master)):
        fields = _stat(Path(f"/proc/{pid}"))
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _read(pid: int, role: str) -> Memory:
    status = _kib_fields(Path(f"/proc/{pid}/status").read_text())
    rollup = _kib_fields(Path(f"/proc/{pid}/smaps_rollup").read_text())
    return Memory(pid, role, status["VmRSS"], status["VmHWM"], rollup["Pss"])


def _kib_fields(text: str) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB":
            values[name.strip()] = int(parts[0]) * 1024
    return values


def _print_phase(title: str, processes: list[Memory]) -> None:
    print(f"  {title}:")
    for item in processes:
        print(
            f"    {item.role:<16} pid {item.pid:<7} RSS {_mib(item.rss)}  peak RSS "
            f"{_mib(item.peak)}  PSS {_mib(item.pss)}"
        )

    def total(get: Callable[[Memory], int]) -> str:
        return _mib(sum(get(item) for item in processes))

    print(
        f"    {'all processes':<16} {'':<11} RSS {total(lambda m: m.rss)}  peak RSS "
        f"{total(lambda m: m.peak)}  PSS {total(lambda m: m.pss)}"
    )


def _mib(value: int) -> str:
    return f"{value / MIB:6.1f} MiB"


if __name__ == "__main__":
    raise SystemExit(main())
