"""The lease on looking up a workspace's people: one holder at a time, until it runs out."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from bot.storage.db import Database
from bot.storage.lookups import LookupLeases

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)
TEAM, OTHER_TEAM = "T1", "T2"


def test_one_holder_at_a_time_until_its_lease_runs_out(db: Database) -> None:
    leases = LookupLeases(db)
    assert leases.take(TEAM, holder="a", now=NOW, lease=LEASE)
    assert not leases.take(TEAM, holder="b", now=NOW + timedelta(seconds=1), lease=LEASE)
    assert leases.take(OTHER_TEAM, holder="b", now=NOW, lease=LEASE)  # each workspace its own
    # The holder renews it: two minutes from its latest take, not from the first.
    assert leases.take(TEAM, holder="a", now=NOW + timedelta(seconds=90), lease=LEASE)
    assert not leases.take(TEAM, holder="b", now=NOW + timedelta(seconds=150), lease=LEASE)
    assert leases.holder(TEAM, now=NOW + timedelta(seconds=150)) == "a"
    # Once it has run out (the holder stopped), anyone takes it, and the old holder is refused.
    assert leases.take(TEAM, holder="b", now=NOW + timedelta(seconds=210), lease=LEASE)
    assert not leases.take(TEAM, holder="a", now=NOW + timedelta(seconds=211), lease=LEASE)
    assert leases.holder(TEAM, now=NOW + timedelta(seconds=211)) == "b"


def test_a_released_lease_is_free_at_once_and_only_its_holder_releases_it(db: Database) -> None:
    leases = LookupLeases(db)
    assert leases.take(TEAM, holder="a", now=NOW, lease=LEASE)
    leases.release(TEAM, holder="b", now=NOW)  # not b's to give up
    assert not leases.take(TEAM, holder="b", now=NOW, lease=LEASE)
    leases.release(TEAM, holder="a", now=NOW)
    assert leases.holder(TEAM, now=NOW) is None
    assert leases.take(TEAM, holder="b", now=NOW, lease=LEASE)


def test_a_lease_from_a_clock_far_ahead_does_not_lock_the_others_out(db: Database) -> None:
    """Taken by a clock that ran a day ahead (or the sandbox's time travel): further ahead than
    any lease could be, so it counts as free; within twice the lease it still holds."""
    leases = LookupLeases(db)
    assert leases.take(TEAM, holder="ahead", now=NOW + timedelta(days=1), lease=LEASE)
    assert leases.take(TEAM, holder="b", now=NOW, lease=LEASE)
    assert leases.take(OTHER_TEAM, holder="a", now=NOW + timedelta(minutes=1), lease=LEASE)
    assert not leases.take(OTHER_TEAM, holder="b", now=NOW, lease=LEASE)


def test_processes_asking_at_once_get_one_holder(database_url: str) -> None:
    """Four takers, each on a database connection of its own (as processes are), ask at the
    same moment, for a workspace with no lease row yet: exactly one gets it."""
    takers = 4
    databases = [Database(database_url, pool_size=1) for _ in range(takers)]
    ready = threading.Barrier(takers)
    won: list[str] = []
    errors: list[BaseException] = []

    def take(n: int) -> None:
        try:
            leases = LookupLeases(databases[n])
            with databases[n].read() as session:  # the connection is open before the race
                session.connection()
            ready.wait(timeout=30)
            if leases.take(TEAM, holder=f"p{n}", now=NOW, lease=LEASE):
                won.append(f"p{n}")
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=take, args=(n,)) for n in range(takers)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for database in databases:
            database.dispose()
    assert errors == []
    assert len(won) == 1
    check = Database(database_url, pool_size=1)
    try:
        assert LookupLeases(check).holder(TEAM, now=NOW) == won[0]
    finally:
        check.dispose()
