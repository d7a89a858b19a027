"""The tick's sending as services: a post Slack refuses for now is retried later; one to an
account that is gone fails once, stops the learner's lessons and tells the lead once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.domain.schedule import Target, TargetKind
from bot.services import posting
from bot.services.pacing import Pacer
from bot.services.planner import Planner
from bot.services.ports import Posted, SlackError
from bot.services.scheduling import ScheduleRequest
from bot.storage.db import Database
from bot.storage.fastlane import RECORD_PART, DirectConnection
from bot.storage.plan import PlanRepository
from tests.services.drip_world import (
    ANN,
    COURSE,
    LEAD,
    NOW,
    TEAM,
    Clock,
    DripWorld,
    drain_for,
    drip_world,
)


@pytest.fixture
def world(db: Database) -> DripWorld:
    return drip_world(db)


def send_to_ann(world: DripWorld) -> None:
    world.scheduling.send_now(
        team_id=TEAM,
        lead_id=LEAD,
        address=COURSE,
        targets=(Target(TargetKind.USER, ANN, "ann"),),
        now=NOW,
    )


def test_a_post_slack_refuses_for_now_is_retried_later_and_then_sent(world: DripWorld) -> None:
    clock = Clock(NOW)
    drain = drain_for(world, clock)
    send_to_ann(world)
    world.slack.refusing[ANN] = SlackError("internal_error", permanent=False)
    first = drain.drain(now=NOW)
    assert (first.sent, first.retried, first.failed, first.messages) == (0, 1, 0, 0)
    del world.slack.refusing[ANN]
    assert drain.drain(now=clock.now).sent == 0  # backing off
    clock.now += timedelta(minutes=1)
    later = drain.drain(now=clock.now)
    assert (later.sent, later.retried) == (1, 0)
    assert later.messages == len(world.slack.posts) > 1  # the lesson and its questions


def test_a_post_that_keeps_meeting_429s_comes_back_after_retry_after_not_a_backoff(
    world: DripWorld,
) -> None:
    clock = Clock(NOW)
    drain = drain_for(world, clock)
    send_to_ann(world)
    world.slack.refusing[ANN] = SlackError("ratelimited", permanent=False, retry_after=2.0)
    first = drain.drain(now=NOW)
    assert (first.sent, first.retried, first.messages) == (0, 1, 0)
    del world.slack.refusing[ANN]
    clock.now += timedelta(seconds=2)  # Slack's Retry-After, not the 30 s of other failures
    later = drain.drain(now=clock.now)
    assert (later.sent, later.retried) == (1, 0)


def test_a_learner_gone_from_slack_stops_their_lessons_and_the_lead_is_told_once(
    world: DripWorld,
) -> None:
    clock = Clock(NOW)
    drain = drain_for(world, clock)
    drip = world.scheduling.schedule(
        team_id=TEAM,
        lead_id=LEAD,
        request=ScheduleRequest(COURSE, (Target(TargetKind.USER, ANN, "ann"),)),
        now=NOW,
    )
    assert drip.first_at is not None
    clock.now = drip.first_at
    world.slack.refusing[ANN] = SlackError("account_inactive", permanent=True)
    Planner(
        plans=PlanRepository(world.db),
        repository=world.repository,
        notices=world.notices,
        catalog=world.catalog,
        grace=timedelta(hours=12),
    ).plan(now=clock.now)
    report = drain.drain(now=clock.now)
    # The welcome and the lesson fail; only the lesson's failure is the lead's to hear about.
    assert (report.sent, report.failed) == (1, 2)
    [enrolment] = world.enrolments.enrolments(TEAM, drip_id=drip.drip_id)
    assert enrolment.status == "stopped"
    told = [str(message.get("text")) for channel, message in world.slack.posts if channel == LEAD]
    assert len(told) == 1
    assert "I couldn't deliver" in told[0] and "I stopped these lessons" in told[0]
    assert drain.drain(now=clock.now + timedelta(hours=1)).messages == 0


class _OtherProcesses:
    """The shared bucket as other replicas leave it: slots `wait` seconds after asking, and a
    429 one of them stores (`pause_at`) once this process has taken its first slot."""

    def __init__(
        self, clock: Clock, *, wait: float, pause_for: float = 0.0, first_read: float = 0.0
    ) -> None:
        self.clock, self.wait, self.pause_for = clock, wait, pause_for
        self.first_read = first_read  # how long the first read of the pause takes
        self.paused = 0.0
        self.reads = 0
        self.slots: list[float] = []

    def take(
        self, team_id: str, *, want: int, now: float, rate: float, burst: float
    ) -> tuple[tuple[float, ...], float]:
        granted = (now + self.wait,) * want, self.paused
        self.slots += granted[0]
        if self.pause_for and not self.paused:
            self.paused = now + self.pause_for
        return granted

    def pause(self, team_id: str, *, until: float, now: float, rate: float, burst: float) -> None:
        raise AssertionError("no 429 here")

    def paused_until(self, team_id: str) -> float:
        self.reads += 1
        if self.reads == 1:
            self.clock.sleep(self.first_read)
        return self.paused


def test_a_post_reads_the_shared_pause_only_after_waiting_for_its_slot(
    world: DripWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slot of the moment comes with the pause as it stands (no second round trip); a post
    that waited reads it again, and a 429 stored elsewhere meanwhile holds it back."""
    clock = Clock(NOW)
    posted_at: list[datetime] = []
    post = world.slack.post

    def timed_post(*args: Any, **kwargs: Any) -> Posted:
        posted_at.append(clock.now)
        return post(*args, **kwargs)

    monkeypatch.setattr(world.slack, "post", timed_post)
    at_once = _OtherProcesses(clock, wait=0.0)
    drain = drain_for(world, clock, pacer=Pacer(rate=1_000, burst=1_000, shared=at_once))
    send_to_ann(world)
    assert drain.drain(now=NOW).messages == len(posted_at) > 1
    assert at_once.reads == 0

    clock.now = later = NOW + timedelta(hours=1)
    waiting = _OtherProcesses(clock, wait=1.0, pause_for=5.0)
    drain = drain_for(world, clock, pacer=Pacer(rate=1_000, burst=1_000, shared=waiting))
    posted_at.clear()
    send_to_ann(world)
    assert drain.drain(now=later).messages == len(posted_at) > 1
    assert waiting.reads >= len(posted_at)
    assert min(posted_at) >= later + timedelta(seconds=5)  # not inside the other's pause


def test_a_post_whose_read_of_the_pause_ran_past_its_slot_takes_a_later_one(
    world: DripWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read of the shared pause right before a post can itself be slow (a round trip on a
    busy machine, or waiting for another thread's): a post that would then go out well after
    its slot takes a new one instead of bunching with the posts of later slots."""
    clock = Clock(NOW)
    posted_at: list[float] = []
    post = world.slack.post

    def timed_post(*args: Any, **kwargs: Any) -> Posted:
        posted_at.append(clock.now.timestamp())
        return post(*args, **kwargs)

    monkeypatch.setattr(world.slack, "post", timed_post)
    slow_read = _OtherProcesses(clock, wait=1.0, first_read=posting._LATE * 3)
    drain = drain_for(world, clock, pacer=Pacer(rate=1_000, burst=1_000, shared=slow_read))
    send_to_ann(world)
    assert drain.drain(now=NOW).messages == len(posted_at) > 1
    given_up = slow_read.slots[0]
    assert len(slow_read.slots) == len(posted_at) + 1  # the first slot, read past, was given up
    assert given_up not in posted_at
    assert all(at in slow_read.slots for at in posted_at)  # each post made at its own slot


class _RecordsFailing:
    """The fast lane's connection as a database with no connection to give leaves it: the
    record of a posted part raises the driver's OperationalError `times` times, then works."""

    def __init__(self, db: Database, monkeypatch: pytest.MonkeyPatch, *, times: int) -> None:
        self.left = times
        self.failed = 0
        error = db.engine.dialect.loaded_dbapi.OperationalError
        first = DirectConnection.first

        def failing_first(connection: DirectConnection, statement: Any, values: Any) -> Any:
            if statement is RECORD_PART and self.left:
                self.left -= 1
                self.failed += 1
                raise error("sorry, too many clients already")
            return first(connection, statement, values)

        monkeypatch.setattr(DirectConnection, "first", failing_first)


def test_a_posted_part_whose_record_cannot_reach_the_database_is_recorded_after_a_wait(
    world: DripWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The part is in Slack: only its record is missing, so it is recorded again after a short
    wait (not left for its claim to run out), and nothing is posted twice."""
    clock = Clock(NOW)
    drain = drain_for(world, clock)
    send_to_ann(world)
    failing = _RecordsFailing(world.db, monkeypatch, times=2)
    report = drain.drain(now=NOW)
    assert failing.failed == 2
    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    assert report.messages == len(world.slack.posts) > 1  # each part posted once
    assert clock.now >= NOW + timedelta(seconds=sum(posting.RECORD_RETRY_WAITS[:2]))
    assert world.queued(now=NOW + timedelta(days=1)) == []  # sent: nothing left to take


def test_a_record_still_failing_after_every_wait_leaves_the_delivery_to_be_found_not_resent(
    world: DripWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(NOW)
    drain = drain_for(world, clock)
    send_to_ann(world)
    failing = _RecordsFailing(world.db, monkeypatch, times=len(posting.RECORD_RETRY_WAITS) + 1)
    first = drain.drain(now=NOW)
    assert failing.failed == len(posting.RECORD_RETRY_WAITS) + 1
    assert first.sent == 0
    assert len(world.slack.posts) == 1  # the first part went out; its record did not
    # Its claim runs out; the next drain finds the part in Slack and posts only the rest.
    later = drain.drain(now=clock.now + timedelta(minutes=10))
    assert later.sent == 1
    texts = [str(message.get("text")) for _channel, message in world.slack.posts]
    assert len(texts) == len(set(texts)) > 1  # every part once
