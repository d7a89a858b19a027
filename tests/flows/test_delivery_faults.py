"""Nothing lost, nothing doubled: downtime, crashes, two workers, 429 storms and permanent errors."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient

from bot import app
from bot.config import settings_from
from bot.services.ports import SlackError
from bot.storage.db import Database
from bot.storage.outbox import Outbox
from tests.standin import SlackStandIn
from tests.support.concurrency import side_by_side
from tests.support.harness import Bot, FakeClock
from tests.support.process import SIGNING_SECRET

# The tests not marked run on both databases: the statements only they run on PostgreSQL,
# or concurrency, locking and exactly-once that only PostgreSQL can show.
SLACK_SURFACE = pytest.mark.sqlite_only(
    "Slack's errors and what each one does, the grace after downtime: no race in them"
)

MONDAY_0930_BERLIN = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


def lessons_in(standin: SlackStandIn, channel: str) -> list[str]:
    return [
        str(m["text"]) for m in standin.messages(channel) if str(m["text"]).startswith("New lesson")
    ]


def parts_posted(standin: SlackStandIn, channel: str) -> Counter[tuple[int, int]]:
    """(delivery id, part) of every message the bot posted, from the metadata it attaches."""
    counts: Counter[tuple[int, int]] = Counter()
    for message in standin.messages(channel):
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        if "delivery_id" in payload:
            counts[(int(payload["delivery_id"]), int(payload["part"]))] += 1
    return counts


def schedule(bot: Bot, targets: str, extra: str = "") -> None:
    reply = bot.command(bot.lead, f"schedule security-basics to {targets} {extra}")
    assert reply.startswith(":white_check_mark:"), reply


@SLACK_SURFACE
def test_after_downtime_due_lessons_come_within_the_grace_and_older_ones_move(
    bot: Bot, standin: SlackStandIn
) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    schedule(bot, f"<@{ann}>", "every day")
    bot.tick(MONDAY_0930_BERLIN + timedelta(hours=3))  # down from 09:30 to 12:30: within 12 h
    assert lessons_in(standin, ann) == [
        "New lesson: Spot a phishing message before you click (3 min)"
    ]
    # Down for two days: Tuesday's and Wednesday's 09:30 passed long ago.
    bot.tick(MONDAY_0930_BERLIN + timedelta(days=2, hours=14))
    assert len(lessons_in(standin, ann)) == 1  # nothing burst out, nothing was dropped
    bot.tick(MONDAY_0930_BERLIN + timedelta(days=3))  # Thursday 09:30: the next slot
    assert len(lessons_in(standin, ann)) == 2
    assert "Passwords" in lessons_in(standin, ann)[1] or "password" in lessons_in(standin, ann)[1]


def test_a_restart_mid_send_neither_duplicates_nor_loses(bot: Bot, standin: SlackStandIn) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    schedule(bot, f"<@{ann}>")
    bot.tick()  # the welcome DM
    bot.clock.set(MONDAY_0930_BERLIN)
    bot.services.delivery.plan(now=bot.clock())
    # A first process claims the lesson and dies after Slack accepted its second message but
    # before it could record it.
    outbox = Outbox(bot.db)
    [claimed] = outbox.claim(now=bot.clock(), lease=timedelta(minutes=5), limit=10)
    messenger = bot.services.targets._messenger  # noqa: SLF001  (the same Slack client)
    composer_parts = 4  # the lesson and its three questions
    for part in range(2):
        posted = messenger.post(
            "T0001",
            ann,
            {"text": f"part {part}", "blocks": []},
            metadata={
                "event_type": "microlearn_delivery",
                "event_payload": {"delivery_id": claimed.id, "part": part},
            },
        )
        if part == 0:
            outbox.record_part(claimed, parts_sent=1, channel_id=posted.channel, ts=posted.ts)
    # A second process starts after the lease expired.
    bot.tick(bot.clock() + timedelta(minutes=6))
    counts = parts_posted(standin, standin.dm_channel(ann))
    assert {part for (delivery, part) in counts if delivery == claimed.id} == set(
        range(composer_parts)
    )
    assert all(count == 1 for count in counts.values())  # the second part was found, not re-sent
    [state] = [d for d in outbox.deliveries() if d.id == claimed.id]
    assert state.status == "sent" and state.parts_sent == composer_parts


def test_two_workers_draining_one_outbox_send_everything_exactly_once(
    bot: Bot, standin: SlackStandIn, database_url: str
) -> None:
    learners = [standin.add_user(f"user{n}", tz="Europe/Berlin") for n in range(60)]
    group = standin.add_usergroup("everyone", learners)
    reply = bot.command(
        bot.lead, f"send security-basics/spot-phishing to <!subteam^{group}|@everyone>"
    )
    assert "Sending *Spot a phishing message before you click* now to 60 people" in reply
    settings = settings_from(
        {
            "SLACK_BOT_TOKEN": standin.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": standin.api_url,
            "DATABASE_URL": database_url,
            "MICROLEARN_SEND_RATE": "1000",
            "MICROLEARN_SEND_BURST": "1000",
        }
    )

    def drain(db: Database) -> None:
        clock = FakeClock(bot.clock())
        services = app.build_services(
            settings, db, bot.services.catalog.catalog, clock=clock, sleep=clock.sleep
        )
        services.delivery.drain(now=clock())

    side_by_side(database_url, drain)
    states = Outbox(bot.db).deliveries()
    assert [s.status for s in states if s.kind == "lesson"] == ["sent"] * 60
    for user_id in learners:
        counts = parts_posted(standin, standin.dm_channel(user_id))
        assert sorted(counts.values()) == [1, 1, 1, 1], user_id  # four parts, each once


def test_a_429_storm_is_waited_out_without_losing_or_doubling(
    bot: Bot, standin: SlackStandIn
) -> None:
    learners = [standin.add_user(f"user{n}", tz="Europe/Berlin") for n in range(5)]
    group = standin.add_usergroup("team", learners)
    bot.command(bot.lead, f"send security-basics/spot-phishing to <!subteam^{group}|@team>")
    standin.fail("chat.postMessage", "ratelimited", times=12, retry_after=2)
    first = bot.tick()
    assert first.drain.failed == 0
    # Retry-After honoured: the sending threads waited, no listener. The five deliveries are in
    # flight together, so one pause holds them all; one of them took at least three of the
    # twelve 429s, and each time waited its 2 s before trying again.
    assert bot.clock.slept >= 2 * 3
    if first.drain.sent < 5:  # a delivery rate-limited again and again goes back to the queue
        assert first.drain.retried == 5 - first.drain.sent
        assert bot.tick(bot.clock() + timedelta(minutes=2)).drain.sent == 5 - first.drain.sent
    for user_id in learners:
        counts = parts_posted(standin, standin.dm_channel(user_id))
        assert sorted(counts.values()) == [1, 1, 1, 1]


@SLACK_SURFACE
def test_server_errors_are_retried_later_with_backoff(bot: Bot, standin: SlackStandIn) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    bot.command(bot.lead, f"send security-basics/spot-phishing to <@{ann}>")
    standin.fail("chat.postMessage", "internal_error", times=1)
    report = bot.tick()
    assert (report.drain.sent, report.drain.retried) == (0, 1)
    assert lessons_in(standin, ann) == []
    assert bot.tick(bot.clock() + timedelta(seconds=10)).drain.sent == 0  # backing off
    assert bot.tick(bot.clock() + timedelta(minutes=1)).drain.sent == 1
    assert len(lessons_in(standin, ann)) == 1


@SLACK_SURFACE
def test_a_deactivated_learner_is_stopped_and_the_lead_told(
    bot: Bot, standin: SlackStandIn
) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    bob = standin.add_user("bob", tz="Europe/Berlin")
    schedule(bot, f"<@{ann}> <@{bob}>")
    bot.tick()
    standin.set_user(bob, deleted=True)
    bot.tick(MONDAY_0930_BERLIN)
    assert len(lessons_in(standin, ann)) == 1
    assert lessons_in(standin, bob) == []
    notices = [str(m["text"]) for m in standin.messages(bot.lead)]
    assert any(f"<@{bob}>" in text and "couldn't deliver" in text for text in notices), notices
    bot.tick(MONDAY_0930_BERLIN + timedelta(days=1))  # never retried
    assert lessons_in(standin, bob) == []
    assert len(lessons_in(standin, ann)) == 2


def test_bot_removed_from_a_channel_pauses_it_until_the_lead_fixes_it(
    bot: Bot, standin: SlackStandIn
) -> None:
    general = standin.add_channel("general", members=[bot.lead])
    schedule(bot, f"<#{general}|general>")
    standin.set_channel(general, bot_is_member=False)
    bot.tick(MONDAY_0930_BERLIN)
    assert lessons_in(standin, general) == []
    [notice] = [
        str(m["text"]) for m in standin.messages(bot.lead) if "couldn't deliver" in str(m["text"])
    ]
    assert "/invite @microlearn" in notice and "/learn resume 1" in notice
    bot.tick(MONDAY_0930_BERLIN + timedelta(days=1))
    assert lessons_in(standin, general) == []  # not retried forever
    standin.set_channel(general, bot_is_member=True)
    reply = bot.command(bot.lead, "resume 1")
    assert "is resumed" in reply
    bot.tick(MONDAY_0930_BERLIN + timedelta(days=2))
    assert lessons_in(standin, general) == [
        "New lesson: Spot a phishing message before you click (3 min)"
    ]


@SLACK_SURFACE
def test_messenger_maps_slack_errors(bot: Bot, standin: SlackStandIn) -> None:
    ann = standin.add_user("ann")
    for code in ("channel_not_found", "user_not_found"):  # one bot for both (each fails once)
        standin.fail("chat.postMessage", code)
        with pytest.raises(SlackError) as raised:
            bot.services.targets._messenger.post("T0001", ann, {"text": "hi"})  # noqa: SLF001
        assert raised.value.code == code and raised.value.permanent, code


@pytest.mark.parametrize("how", ["drop", "late"])
def test_a_post_slack_took_but_never_answered_is_found_not_sent_again(
    bot: Bot, standin: SlackStandIn, database_url: str, how: str
) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    bot.command(bot.lead, f"send security-basics/spot-phishing to <@{ann}>")
    # Slack stores the lesson's first message, then the connection drops, or its answer comes
    # after the client gave up waiting (a short timeout here, Slack's 30 s in production).
    answer = standin.lose_answer("chat.postMessage", how=how)
    client = WebClient(token=standin.bot_token, base_url=standin.api_url, timeout=1)
    impatient = app.build_services(
        settings_from(
            {
                "SLACK_BOT_TOKEN": standin.bot_token,
                "SLACK_API_URL": standin.api_url,
                "DATABASE_URL": database_url,
            }
        ),
        bot.db,
        bot.services.catalog.catalog,
        client=client,
        clock=bot.clock,
        sleep=bot.clock.sleep,
    )
    first = impatient.delivery.tick(bot.clock())
    answer.set()
    assert (first.drain.sent, first.drain.retried) == (0, 1)
    assert len(lessons_in(standin, ann)) == 1  # Slack has it, the bot could not know
    assert bot.tick(bot.clock() + timedelta(seconds=10)).drain.sent == 0  # backing off
    assert bot.tick(bot.clock() + timedelta(minutes=1)).drain.sent == 1
    counts = parts_posted(standin, standin.dm_channel(ann))
    assert sorted(counts.values()) == [1, 1, 1, 1]  # four parts, each once
    [state] = [d for d in Outbox(bot.db).deliveries() if d.kind == "lesson"]
    assert (state.status, state.parts_sent) == ("sent", 4)
