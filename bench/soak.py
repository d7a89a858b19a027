"""Soak: fan-out and clicks for minutes on end; the server's memory must stay flat.

Run on purpose, never by the suite:

    .venv/bin/python bench/soak.py [--minutes 10] [--warmup-minutes 2] [--learners 500]
                                   [--send-every 45] [--click-rate 20] [--latency 150]
                                   [--db sqlite|postgresql]

`microlearn serve --http` (2 workers, shipped settings) runs against the Slack stand-in, which
answers every Web API call `--latency` ms late, as Slack does from afar. A lead sends the next
shipped lesson to a user group of `--learners` people every `--send-every` seconds (a fan-out
of one lesson message and its questions to each), and a clicker answers the questions posted
in their DMs at `--click-rate` answers/s, over signed HTTP. Every 5 s the resident memory (RSS)
of each server process (the gunicorn master and its workers) is read from /proc.

Goal: after the warm-up, RSS stays flat: each process's RSS in the last minute is less than 10 %
above its RSS in the first minute after the warm-up. Exit 1 if a process grew more, or if the
bot stopped answering (a click or a command that was not acked with 200).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `bot`, `tests`

from answers import _processes, _tree

from bot.sandbox.slack import SlackDriver, SlackStandIn
from bot.sandbox.slack.server import JSON
from tests.support.databases import (
    create_postgres_database,
    drop_postgres_database,
    postgres_test_url,
)
from tests.support.process import (
    SIGNING_SECRET,
    BotProcess,
    bot_environment,
    start_http_bot,
)

GOAL_GROWTH = 0.10
SAMPLE_EVERY = 5.0  # seconds between RSS readings
CLICKERS = 8  # threads answering, each for its share of the learners
LESSONS = (  # shipped lessons with questions, sent in turn
    "security-basics/use-mfa-safely",
    "security-basics/passwords-and-passkeys",
    "leading-people/sbi-feedback",
    "security-basics/spot-phishing",
    "career-microlearning/spaced-retrieval",
)
ANSWER = re.compile(r"answer_\d+")


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    print(
        f"soak: {args.minutes:g} min ({args.warmup_minutes:g} warm-up), {args.learners} learners, "
        f"a lesson sent to all every {args.send_every:g} s, clicks at {args.click_rate:g}/s, "
        f"Slack answering in {args.latency:g} ms, {args.db}",
        flush=True,
    )
    with _database(args.db) as url, SlackStandIn() as standin:
        if args.latency > 0:
            for method in ("chat.postMessage", "chat.update", "conversations.open", "users.info"):
                standin.delay(method, args.latency / 1000)
        lead = standin.add_user("lena", real_name="Lena Lead", is_admin=True)
        people = [standin.add_user(f"soak{n:05d}") for n in range(args.learners)]
        group = standin.add_usergroup("soak-learners", people)
        work = Path(tempfile.mkdtemp(prefix="microlearn-soak-"))
        env = bot_environment(
            api_url=standin.api_url,
            database_url=url,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            MICROLEARN_ADMINS=lead,
        )
        bot = start_http_bot(env, cwd=work, workers=2, timeout=60)
        try:
            outcome = _soak(standin, bot, lead=lead, group=group, people=people, args=args)
        finally:
            bot.stop(timeout=30)
    return _report(outcome, args)


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=10.0, help="whole run (10)")
    parser.add_argument("--warmup-minutes", type=float, default=2.0, help="not judged (2)")
    parser.add_argument("--learners", type=int, default=500, help="people in the group (500)")
    parser.add_argument("--send-every", type=float, default=45.0, help="seconds (45)")
    parser.add_argument("--click-rate", type=float, default=20.0, help="answers/s (20)")
    parser.add_argument("--latency", type=float, default=150.0, help="ms per Slack call (150)")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    return parser.parse_args(argv)


@contextmanager
def _database(dialect: str) -> Iterator[str]:
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix="microlearn-soak-db-") as folder:
            yield f"sqlite:///{folder}/soak.db"
        return
    url = create_postgres_database(postgres_test_url(), "microlearn_soak")
    try:
        yield url
    finally:
        drop_postgres_database(url)


@dataclass
class Outcome:
    samples: list[tuple[float, dict[int, int]]] = field(default_factory=list)  # (t, pid → kB)
    sends: int = 0
    clicks: int = 0
    refused: list[str] = field(default_factory=list)
    posted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _soak(
    standin: SlackStandIn,
    bot: BotProcess,
    *,
    lead: str,
    group: str,
    people: Sequence[str],
    args: argparse.Namespace,
) -> Outcome:
    driver = SlackDriver(
        standin, request_url=f"{bot.url}/slack/events", signing_secret=SIGNING_SECRET
    )
    outcome = Outcome()
    stop = threading.Event()
    # Each clicker answers its own share of the learners at its share of the click rate.
    clickers = [
        threading.Thread(
            target=_click,
            args=(driver, standin, people[k::CLICKERS], args.click_rate / CLICKERS, outcome, stop),
            name=f"clicker-{k}",
        )
        for k in range(CLICKERS)
    ]
    start = time.monotonic()
    end = start + args.minutes * 60
    next_send = start
    next_sample = start
    for clicker in clickers:
        clicker.start()
    try:
        while (now := time.monotonic()) < end:
            if now >= next_send:
                address = LESSONS[outcome.sends % len(LESSONS)]
                response = driver.command(lead, f"send {address} to <!subteam^{group}>")
                if response.status != 200:
                    outcome.refused.append(f"/learn send: {response.status}")
                outcome.sends += 1
                next_send += args.send_every
            if now >= next_sample:
                outcome.samples.append((now - start, _rss(bot)))
                minute = (now - start) / 60
                total = sum(outcome.samples[-1][1].values()) / 1024
                print(
                    f"  {minute:5.1f} min: RSS {total:6.1f} MiB over "
                    f"{len(outcome.samples[-1][1])} processes; {outcome.sends} sends, "
                    f"{outcome.clicks} clicks, {len(standin.calls('chat.postMessage'))} posts",
                    flush=True,
                )
                next_sample += SAMPLE_EVERY
            time.sleep(max(0.0, min(next_send, next_sample, end) - time.monotonic()))
    finally:
        stop.set()
        for clicker in clickers:
            clicker.join(timeout=30)
    outcome.posted = len(standin.calls("chat.postMessage"))
    return outcome


def _click(
    driver: SlackDriver,
    standin: SlackStandIn,
    people: Sequence[str],
    rate: float,
    outcome: Outcome,
    stop: threading.Event,
) -> None:
    """Answer posted questions round-robin over `people` at `rate` answers/s."""
    pick = random.Random(people[0] if people else "")
    answered: set[tuple[str, str]] = set()
    interval = 1 / rate
    turn = 0
    due = time.monotonic()
    while not stop.is_set():
        user = people[turn % len(people)]
        turn += 1
        dm = standin.dm_channel(user)
        for message in standin.messages(dm):
            key = (dm, str(message.get("ts")))
            buttons = _buttons(message)
            if key in answered or not buttons:
                continue
            answered.add(key)
            response = driver.click(user, message, channel_id=dm, action_id=pick.choice(buttons))
            if response.status != 200:
                with outcome.lock:
                    outcome.refused.append(f"click: {response.status}")
            with outcome.lock:
                outcome.clicks += 1
            due += interval
            stop.wait(max(0.0, due - time.monotonic()))  # the click rate, not a test's timing
            break
        else:
            if turn % len(people) == 0:
                stop.wait(0.5)  # nothing to answer yet: the next fan-out is on its way


def _buttons(message: JSON) -> list[str]:
    return [
        str(element.get("action_id"))
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block.get("elements") or []
        if element.get("type") == "button" and ANSWER.fullmatch(str(element.get("action_id", "")))
    ]


def _rss(bot: BotProcess) -> dict[int, int]:
    """kB resident, per process of the server's tree."""
    found: dict[int, int] = {}
    for pid in _tree(bot.process.pid, list(_processes())):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                found[pid] = int(line.split()[1])
    return found


def _report(outcome: Outcome, args: argparse.Namespace) -> int:
    warm = args.warmup_minutes * 60
    first = [rss for t, rss in outcome.samples if warm <= t < warm + 60]
    last_start = args.minutes * 60 - 60
    last = [rss for t, rss in outcome.samples if t >= last_start]
    print(
        f"\nsoak: {outcome.sends} fan-outs, {outcome.posted} messages posted, "
        f"{outcome.clicks} clicks; not acked: {len(outcome.refused)}"
    )
    ok = not outcome.refused
    if not first or not last or last_start <= warm:
        print("soak: too short to judge (needs a minute after the warm-up and a last minute)")
        return 1
    for pid in sorted(set(first[0]) | set(last[-1])):
        before = [rss[pid] for rss in first if pid in rss]
        after = [rss[pid] for rss in last if pid in rss]
        if not before or not after:
            print(f"  process {pid}: not present throughout (restarted?)")
            ok = False
            continue
        early, late = sum(before) / len(before), sum(after) / len(after)
        growth = late / early - 1
        verdict = "met" if growth < GOAL_GROWTH else "MISSED"
        ok &= growth < GOAL_GROWTH
        print(
            f"  process {pid}: RSS {early / 1024:.1f} MiB in minute {args.warmup_minutes:g}–"
            f"{args.warmup_minutes + 1:g}, {late / 1024:.1f} MiB in the last minute: "
            f"{growth:+.1%} (goal < {GOAL_GROWTH:.0%}: {verdict})"
        )
    if outcome.refused:
        print(f"  not acked, e.g. {outcome.refused[:5]}")
    print(f"soak: {'ok' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
