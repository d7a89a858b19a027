"""Postponing a claimed delivery (its learner is snoozed): due again later, with no try spent."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from bot.storage.db import Database
from bot.storage.outbox import Outbox

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _enqueue(outbox: Outbox) -> None:
    assert outbox.enqueue(
        team_id="T1",
        dedupe_key="notice:1:U1",
        kind="notice",
        recipient="U1",
        recipient_kind="dm",
        due_at=NOW,
        now=NOW,
        payload={"text": "hi"},
    )


def test_a_postponed_delivery_is_due_again_at_the_new_time_with_no_try_spent(db: Database) -> None:
    outbox = Outbox(db)
    _enqueue(outbox)
    [claimed] = outbox.claim(now=NOW, lease=LEASE, limit=10)
    later = NOW + timedelta(days=2)

    assert outbox.postpone(claimed, until=later)

    [state] = outbox.deliveries()
    assert state.status == "pending"
    assert outbox.claim(now=later - timedelta(seconds=1), lease=LEASE, limit=10) == []
    [again] = outbox.claim(now=later, lease=LEASE, limit=10)
    assert again.id == claimed.id
    assert again.tries == claimed.tries  # the postponed claim did not count
    assert again.token != claimed.token


def test_only_the_claim_that_holds_a_delivery_can_postpone_it(db: Database) -> None:
    outbox = Outbox(db)
    _enqueue(outbox)
    [claimed] = outbox.claim(now=NOW, lease=LEASE, limit=10)
    stale = dataclasses.replace(claimed, token="another-process")

    assert not outbox.postpone(stale, until=NOW + timedelta(days=2))
    assert outbox.mark_sent(claimed, now=NOW)
    assert not outbox.postpone(claimed, until=NOW + timedelta(days=2))  # sent: stays sent
    [state] = outbox.deliveries()
    assert state.status == "sent"
