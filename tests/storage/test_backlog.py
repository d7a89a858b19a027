"""The outbox backlog behind the `microlearn_outbox_*` gauges: what a tick would claim now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.storage.backlog import due_backlog
from bot.storage.db import Database
from bot.storage.outbox import Outbox

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def notice(outbox: Outbox, key: str, due_at: datetime) -> None:
    outbox.enqueue(
        team_id="T1",
        dedupe_key=key,
        kind="notice",
        recipient="U1",
        recipient_kind="dm",
        due_at=due_at,
        now=NOW - timedelta(hours=1),
        payload={"text": "hi"},
    )


def test_counts_what_is_due_and_since_when(db: Database) -> None:
    assert due_backlog(db, now=NOW) == (0, None)
    outbox = Outbox(db)
    notice(outbox, "a", NOW - timedelta(minutes=10))
    notice(outbox, "b", NOW - timedelta(minutes=2))
    notice(outbox, "c", NOW + timedelta(minutes=5))  # not due yet
    assert due_backlog(db, now=NOW) == (2, NOW - timedelta(minutes=10))
    claimed = outbox.claim(now=NOW, lease=timedelta(minutes=5), limit=1)
    assert [c.id for c in claimed] and due_backlog(db, now=NOW) == (1, NOW - timedelta(minutes=2))
    # A claim whose lease ran out is due again (another process will take it over).
    later = NOW + timedelta(minutes=6)
    count, oldest = due_backlog(db, now=later)
    assert (count, oldest) == (3, NOW - timedelta(minutes=10))
    assert oldest is not None and oldest.tzinfo is not None
