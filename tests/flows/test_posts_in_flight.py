"""Posts in flight: several deliveries at once, each in order, paced, and never doubled.

Time here is virtual and per thread (`ThreadClock`): a sending thread's clock moves only when it
sleeps for a slot, as a real thread's wall time would while it waits, so the instant each post
was made is the slot the pacer gave it. Posts being in flight at the same time is shown by the
stand-in's `hold`, which keeps calls hanging until released: no test waits on real time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

from bot import app
from bot.config import Settings, settings_from
from bot.services import Services
from bot.services.pacing import CHANNEL_BURST, CHANNEL_RATE
from bot.storage.db import Database
from bot.storage.outbox import Outbox
from tests.standin import SlackStandIn
from tests.support.harness import Bot
from tests.support.process import LESSONS, ROOT, SIGNING_SECRET

POST = "chat.postMessage"


class ThreadClock:
    """Now, per thread: each thread starts at `start` and moves on only by sleeping."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._local = threading.local()

    def __call__(self) -> datetime:
        now: datetime = getattr(self._local, "now", self._start)
        return now

    def sleep(self, seconds: float) -> None:
        self._local.now = self() + timedelta(seconds=seconds)


class RecordingClient(WebClient):
    """The real client, noting each post's channel and its thread's virtual instant."""

    def __init__(self, clock: ThreadClock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock
        self.posts: list[tuple[str, float]] = []
        self._lock = threading.Lock()

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        if api_method == POST:
            channel = str((kwargs.get("json") or {}).get("channel"))
            with self._lock:
                self.posts.append((channel, self.clock().timestamp()))
        return super().api_call(api_method, **kwargs)


def settings_for(standin: SlackStandIn, database_url: str, **extra: str) -> Settings:
    return settings_from(
        {
            "SLACK_BOT_TOKEN": standin.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": standin.api_url,
            "DATABASE_URL": database_url,
            "LESSONS_DIR": str(LESSONS),
            **extra,
        }
    )


def sender(
    bot: Bot, settings: Settings, db: Database, clock: ThreadClock
) -> tuple[Services, RecordingClient]:
    client = RecordingClient(clock, token=settings.slack_bot_token, base_url=settings.slack_api_url)
    services = app.build_services(
        settings, db, bot.services.catalog.catalog, client=client, clock=clock, sleep=clock.sleep
    )
    return services, client


def parts_in(standin: SlackStandIn, channel: str) -> list[tuple[int, int]]:
    """(delivery id, part) of the bot's messages in a conversation, thread replies included,
    in the order Slack received them."""
    found = []
    for message in standin.messages(channel, include_replies=True):
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        if "delivery_id" in payload:
            found.append((int(payload["delivery_id"]), int(payload["part"])))
    return found


def within_bucket(instants: list[float], *, rate: float, burst: float) -> bool:
    """Whether posts at these instants fit a token bucket of `rate` a second and `burst`."""
    tokens, last = float(burst), None
    for at in sorted(instants):
        if last is not None:
            tokens = min(float(burst), tokens + (at - last) * rate)
        if tokens < 1 - 1e-4:  # instants since the epoch: doubles of about 0.2 µs
            return False
        tokens, last = tokens - 1, at
    return True


def drain_while_held(
    standin: SlackStandIn, services: Services, now: datetime, *, held: int
) -> None:
    """Drain with every post hanging at Slack until `held` of them hang at once."""
    gate = standin.hold(POST)
    errors: list[BaseException] = []

    def drain() -> None:
        try:
            services.delivery.drain(now=now)
        except BaseException as error:  # re-raised in the test's thread
            errors.append(error)

    thread = threading.Thread(target=drain)
    thread.start()
    try:
        assert standin.wait_for(lambda: standin.held(POST) >= held, timeout=30), (
            f"never {held} posts in flight at once (at most {standin.held(POST)})"
        )
    finally:
        gate.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    if errors:
        raise errors[0]


def test_posts_in_flight_keep_each_delivery_in_order_and_each_channel_paced(
    bot: Bot, standin: SlackStandIn, database_url: str
) -> None:
    learners = [standin.add_user(f"learner{n}", tz="Europe/Berlin") for n in range(16)]
    group = standin.add_usergroup("everyone", learners)
    general = standin.add_channel("general", members=learners[:2])
    for lesson in ("spot-phishing", "passwords-and-passkeys"):
        reply = bot.command(
            bot.lead,
            f"send security-basics/{lesson} to <#{general}|general> <!subteam^{group}|@everyone>",
        )
        assert reply.startswith(":outbox_tray: Sending"), reply
    settings = settings_for(
        standin,
        database_url,
        MICROLEARN_SEND_RATE="20",
        MICROLEARN_SEND_BURST="5",
        MICROLEARN_SEND_THREADS="8",
    )
    db = Database(database_url)
    try:
        clock = ThreadClock(bot.clock())
        services, client = sender(bot, settings, db, clock)
        drain_while_held(standin, services, bot.clock(), held=8)
        states = Outbox(db).deliveries()
    finally:
        db.dispose()
    assert [s.status for s in states if s.kind == "lesson"] == ["sent"] * 34
    # Each DM: two lessons of four parts, each part once, each lesson's parts in order and the
    # lessons one after the other (one recipient's deliveries are never in flight together).
    for user_id in learners:
        parts = parts_in(standin, standin.dm_channel(user_id))
        first, second = sorted({delivery for delivery, _ in parts})
        assert parts == [(first, n) for n in range(4)] + [(second, n) for n in range(4)]
    # The channel: each lesson, its discussion prompt in its thread, and three questions.
    parts = parts_in(standin, general)
    first, second = sorted({delivery for delivery, _ in parts})
    assert parts == [(first, n) for n in range(5)] + [(second, n) for n in range(5)]
    # Each conversation at about a message a second after a burst of 4 (its lessons' parts).
    by_channel: defaultdict[str, list[float]] = defaultdict(list)
    for channel, at in client.posts:  # a first DM goes to the user id, the rest to its D… id
        by_channel[standin.dm_channel(channel) if channel.startswith("U") else channel].append(at)
    assert len(by_channel) == 17 and len(client.posts) == 16 * 8 + 10
    for instants in by_channel.values():
        assert within_bucket(instants, rate=CHANNEL_RATE, burst=CHANNEL_BURST)
    assert max(by_channel[general]) - min(by_channel[general]) >= 10 - CHANNEL_BURST


def test_posts_in_flight_keep_to_the_workspace_rate_and_use_all_of_it(
    bot: Bot, standin: SlackStandIn, database_url: str
) -> None:
    learners = [standin.add_user(f"learner{n}", tz="Europe/Berlin") for n in range(30)]
    group = standin.add_usergroup("everyone", learners)
    reply = bot.command(
        bot.lead, f"send security-basics/spot-phishing to <!subteam^{group}|@everyone>"
    )
    assert reply.startswith(":outbox_tray: Sending"), reply
    rate, burst = 20.0, 5
    settings = settings_for(
        standin,
        database_url,
        MICROLEARN_SEND_RATE=f"{rate:g}",
        MICROLEARN_SEND_BURST=str(burst),
        MICROLEARN_SEND_THREADS="8",
    )
    db = Database(database_url)
    try:
        clock = ThreadClock(bot.clock())
        services, client = sender(bot, settings, db, clock)
        drain_while_held(standin, services, bot.clock(), held=8)
    finally:
        db.dispose()
    every = [at for _, at in client.posts]
    assert len(every) == 30 * 4
    assert within_bucket(every, rate=rate, burst=burst)
    # ... and all of it: the last post went out when the rate allowed it, not later.
    assert max(every) - min(every) == pytest.approx((len(every) - burst) / rate, abs=0.01)
    for user_id in learners:
        parts = parts_in(standin, standin.dm_channel(user_id))
        [delivery] = {delivery for delivery, _ in parts}
        assert parts == [(delivery, n) for n in range(4)]


CRASHING_DRAIN = textwrap.dedent(
    """
    import sys
    from datetime import datetime

    sys.path.insert(0, sys.argv[2])
    from bot import app
    from bot.config import settings_from
    from bot.content.loader import load_catalog
    from bot.storage.db import Database
    import os

    now = datetime.fromisoformat(sys.argv[1])
    settings = settings_from(os.environ)
    db = Database(settings.database_url)
    catalog = load_catalog(settings.lessons_dir).catalog
    services = app.build_services(
        settings, db, catalog, clock=lambda: now, sleep=lambda seconds: None
    )
    services.delivery.drain(now=now)  # killed while its posts hang at Slack
    """
)


def test_a_worker_killed_with_posts_in_flight_neither_loses_nor_doubles(
    bot: Bot, standin: SlackStandIn, database_url: str
) -> None:
    learners = [standin.add_user(f"learner{n}", tz="Europe/Berlin") for n in range(12)]
    group = standin.add_usergroup("everyone", learners)
    reply = bot.command(
        bot.lead, f"send security-basics/spot-phishing to <!subteam^{group}|@everyone>"
    )
    assert reply.startswith(":outbox_tray: Sending"), reply
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "SLACK_BOT_TOKEN": standin.bot_token,
        "SLACK_API_URL": standin.api_url,
        "DATABASE_URL": database_url,
        "LESSONS_DIR": str(LESSONS),
        "MICROLEARN_SEND_RATE": "1000",
        "MICROLEARN_SEND_BURST": "1000",
        "MICROLEARN_SEND_THREADS": "6",
    }
    gate = standin.hold(POST)
    worker = subprocess.Popen(
        [sys.executable, "-c", CRASHING_DRAIN, bot.clock().isoformat(), str(ROOT)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        in_flight = standin.wait_for(lambda: standin.held(POST) >= 6, timeout=60)
        worker.kill()  # kill -9: no code of the worker runs after this
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
        assert in_flight, f"the worker never had 6 posts in flight:\n{output}"
    finally:
        worker.kill()
        gate.set()  # Slack carries out the posts of a worker that is gone; nobody hears back
    # Slack carries them out: posted, with nobody to hear the answers.
    assert standin.wait_for(
        lambda: standin.stats().get(POST, {}).get("accepted", 0) >= 6, timeout=30
    )
    taken = Counter(parts for user in learners for parts in parts_in(standin, user))
    assert sum(taken.values()) == 6  # the six posts in flight when it died
    # Another worker, once the dead one's claims have run out, finishes everything.
    later = bot.clock() + timedelta(minutes=6)
    settings = settings_for(
        standin, database_url, MICROLEARN_SEND_RATE="1000", MICROLEARN_SEND_BURST="1000"
    )
    db = Database(database_url)
    try:
        clock = ThreadClock(later)
        services, _client = sender(bot, settings, db, clock)
        report = services.delivery.drain(now=later)
        states = Outbox(db).deliveries()
    finally:
        db.dispose()
    assert report.sent >= 12
    assert [s.status for s in states if s.kind == "lesson"] == ["sent"] * 12
    for user_id in learners:
        parts = parts_in(standin, standin.dm_channel(user_id))
        [delivery] = {delivery for delivery, _ in parts}
        assert parts == [(delivery, n) for n in range(4)], user_id  # each once, in order
