"""A lesson pulled or sent now arrives at once, even when a delivery tick is running already."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from bot import app
from bot.scheduler import Ticker
from tests.standin import SlackStandIn
from tests.support.harness import Bot
from tests.support.waiting import WAIT, until

LESSON = "New lesson: Spot a phishing message before you click (3 min)"


@pytest.mark.parametrize("how", ["next", "send"])
def test_a_lesson_asked_for_during_a_running_tick_arrives_right_after_it(
    bot: Bot, standin: SlackStandIn, how: str
) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    if how == "next":
        bot.command(ann, "join security-basics")
    first_pass = threading.Event()
    release = threading.Event()
    passes: list[datetime] = []

    def tick(now: datetime) -> None:
        passes.append(now)
        if len(passes) == 1:  # a pass that started before the lesson was asked for, and is slow
            first_pass.set()
            assert release.wait(WAIT)
        bot.services.delivery.tick(now)

    # Wired as `microlearn serve` wires it, with the next scheduled pass an hour away.
    ticker = Ticker(tick, seconds=3600, clock=bot.clock)
    kick = bot.services.drips.kick
    assert isinstance(kick, app.Kick)
    kick.target = ticker.kick
    ticker.start()
    try:
        ticker.kick()
        assert first_pass.wait(WAIT)
        scheduled = ticker.next_run_at()
        assert scheduled is not None
        bot.clock.advance(seconds=2)
        if how == "next":
            reply = bot.command(ann, "next")
        else:
            reply = bot.command(bot.lead, f"send security-basics/spot-phishing to <@{ann}>")
        assert "Spot a phishing message" in reply, reply
        # Let the scheduler act on the kick while the pass still runs (it may drop a run asked
        # for then, and go back to the hourly schedule).
        assert until(lambda: (ticker.next_run_at() or scheduled) >= scheduled)
        release.set()
        arrived = standin.wait_for(
            lambda: LESSON in [str(m["text"]) for m in standin.messages(ann)], timeout=WAIT
        )
    finally:
        release.set()
        ticker.stop()
    assert arrived, f"the lesson did not come after {len(passes)} pass(es)"
    assert len(passes) == 2  # one more pass, right after the slow one: not the next hour's
