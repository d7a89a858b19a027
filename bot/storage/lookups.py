"""Who looks up a workspace's people: a lease in a row, so that one process reads its directory.

Every serving process (gunicorn workers, replicas) runs the time-zone lookup. For a fan-out to
thousands of people new to the bot, each of them read the whole directory (users.list, ten pages
for 10,000 people, about 11 s) and then stored the same profiles, all at once, while they were
also sending. The lease lets one process do it: it is taken, or renewed by its holder, in one
atomic statement (INSERT … ON CONFLICT DO UPDATE … WHERE, which PostgreSQL runs under the row's
lock and SQLite under its single write lock), and whoever does not get it leaves the workspace's
people to the holder.

A lease runs out by itself (a holder that stopped frees it after `until`). One held until further
ahead than twice the lease was written by a clock that ran ahead, or by the
sandbox's time travel, and counts as free. The commit is not made durable: a crash that loses it
lets a second process read the directory once, nothing worse.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Table, or_

from bot.storage.db import Database, insert_for_dialect
from bot.storage.models import LookupLease
from bot.storage.models.base import table_of

_LEASES: Table = table_of(LookupLease)


class LookupLeases:
    def __init__(self, db: Database) -> None:
        self._db = db

    def take(self, team_id: str, *, holder: str, now: datetime, lease: timedelta) -> bool:
        """Take the workspace's lease until `now + lease`, or renew it if `holder` has it;
        False while another holder's lease lasts."""
        until = now + lease
        columns = _LEASES.c
        with self._db.write_connection(durable=False) as connection:
            insert = insert_for_dialect(connection.dialect.name)(_LEASES)
            statement = (
                insert.values(team_id=team_id, holder=holder, held_until=until)
                .on_conflict_do_update(
                    index_elements=["team_id"],
                    set_={
                        "holder": insert.excluded.holder,
                        "held_until": insert.excluded.held_until,
                    },
                    where=or_(
                        columns.holder == holder,
                        columns.held_until <= now,
                        # Further ahead than any lease: set by a clock that ran ahead.
                        columns.held_until > now + 2 * lease,
                    ),
                )
                .returning(columns.holder)
            )
            return connection.execute(statement).first() is not None

    def release(self, team_id: str, *, holder: str, now: datetime) -> None:
        """Give the lease up at once (only the holder's own)."""
        with self._db.write_connection(durable=False) as connection:
            connection.execute(
                _LEASES.update()
                .where(_LEASES.c.team_id == team_id, _LEASES.c.holder == holder)
                .values(held_until=now)
            )

    def holder(self, team_id: str, *, now: datetime) -> str | None:
        """Who holds the workspace's lease now, if anyone."""
        with self._db.read() as session:
            row = session.execute(
                _LEASES.select().where(_LEASES.c.team_id == team_id, _LEASES.c.held_until > now)
            ).first()
        return None if row is None else str(row.holder)
