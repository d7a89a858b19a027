"""One chat.postMessage rate per workspace for the whole deployment: a token bucket in a row.

Every process that sends (gunicorn workers, replicas, `microlearn deliver-due` from cron) takes
its tokens from the workspace's `send_bucket` row, one per post, in one atomic statement:
`UPDATE … RETURNING` (the fast lane's TAKE_TOKENS, committed by itself), which PostgreSQL runs
under the row's lock and SQLite under its single write lock (behind the writers' file lock of
`Database`). So
however many processes share the database, together they send at most `rate` messages a second
after a burst of `burst`.

The bucket hands out slots, not only tokens it holds: its balance may go below zero, and a taker
is told when each of its tokens falls due. Processes asking at once are thereby served in turn,
each at its own instants, instead of all waking together to find the bucket empty again. A 429
stored here (`pause`) empties the bucket and moves its clock to the end of Retry-After, so every
process that takes tokens afterwards waits it out, and nothing is earned while it lasts.

Times are seconds since the epoch on the senders' clocks (replicas keep theirs in sync with NTP,
as Slack's request signatures already require). A clock behind the row's earns nothing until it
catches up, so a skewed process can only send less. The commits are not made durable: a crash
may forget a few tokens taken, which at worst lets a burst of them be taken again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, func, literal, update

from bot.storage.db import Database, insert_for_dialect
from bot.storage.fastlane import PAUSED_UNTIL, TAKE_TOKENS
from bot.storage.models import SendBucket
from bot.storage.models.base import table_of

_BUCKETS: Table = table_of(SendBucket)
# A bucket whose clock is further ahead than this was set by a clock that ran ahead (and was put
# right since) or the sandbox's time travel, not by a pause: it starts again from now.
_MAX_AHEAD = 600.0


class SharedSendRate:
    """The `SharedBucket` port of `bot.services.pacing`, kept in the database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        postgres = not db.is_sqlite
        # PostgreSQL's GREATEST/LEAST are SQLite's multi-argument max()/min().
        self._greatest = func.greatest if postgres else func.max
        self._least = func.least if postgres else func.min

    def take(
        self, team_id: str, *, want: int, now: float, rate: float, burst: float
    ) -> tuple[tuple[float, ...], float]:
        """Take `want` tokens; return when each of them may be spent (now, or later), and
        until when the workspace is paused by a 429."""
        # Once per post: one statement, one round trip (the fast lane's TAKE_TOKENS).
        values = {"team_id": team_id, "want": want, "now": now, "rate": rate, "burst": burst}
        with self._db.direct(write=True) as connection:
            found = connection.first(TAKE_TOKENS, values)
        if found is None or float(found["updated"]) > now + _MAX_AHEAD:
            row = self._take_afresh(team_id, want=want, now=now, rate=rate, burst=burst)
        else:
            row = (found["tokens"], found["updated"], found["paused_until"])
        tokens, updated, paused_until = float(row[0]), float(row[1]), float(row[2])
        before = tokens + want
        times = tuple(updated + max(0.0, n - before) / rate for n in range(1, want + 1))
        return times, paused_until

    def _take_afresh(
        self, team_id: str, *, want: int, now: float, rate: float, burst: float
    ) -> Any:
        """The workspace's first take (its bucket starts full), or one from a bucket whose clock
        ran ahead (it starts again from now, empty): in one transaction."""
        refilled = self._refilled(now=now, rate=rate, burst=burst)
        statement = (
            update(_BUCKETS)
            .where(_BUCKETS.c.team_id == team_id)
            .values(
                tokens=refilled - want,
                updated=self._greatest(_BUCKETS.c.updated, literal(now)),
            )
            .returning(_BUCKETS.c.tokens, _BUCKETS.c.updated, _BUCKETS.c.paused_until)
        )
        with self._db.write_connection(durable=False) as connection:
            self._create(connection, team_id, now=now, burst=burst)
            # Only while it is still ahead: another process may have started it again since
            # (the tokens its first statement took then count twice: a few sent fewer, once).
            connection.execute(
                update(_BUCKETS)
                .where(_BUCKETS.c.team_id == team_id, _BUCKETS.c.updated > now + _MAX_AHEAD)
                .values(tokens=0.0, updated=now, paused_until=0.0)
            )
            return connection.execute(statement).one()

    def pause(self, team_id: str, *, until: float, now: float, rate: float, burst: float) -> None:
        """Slack answered 429: nobody sends to this workspace before `until`."""
        # The balance as of `until`, and no more than empty: slots handed out that fall inside
        # the pause are void (their posts take new ones), so their debt goes with them, while
        # slots beyond it stand. Posts resume at `until`, at the rate, not after the void slots.
        statement = (
            update(_BUCKETS)
            .where(_BUCKETS.c.team_id == team_id)
            .values(
                tokens=self._least(
                    literal(0.0), self._refilled(now=max(now, until), rate=rate, burst=burst)
                ),
                updated=self._greatest(_BUCKETS.c.updated, literal(now), literal(until)),
                paused_until=self._greatest(_BUCKETS.c.paused_until, literal(until)),
            )
        )
        with self._db.write_connection(durable=False) as connection:
            if not connection.execute(statement).rowcount:
                self._create(connection, team_id, now=now, burst=burst)
                connection.execute(statement)

    def paused_until(self, team_id: str) -> float:
        """The end of the workspace's latest 429 pause (0: none yet), from any process."""
        with self._db.direct() as connection:  # before many a post: one round trip
            found = connection.first(PAUSED_UNTIL, {"team_id": team_id})
        return float(found["paused_until"]) if found is not None else 0.0

    def _refilled(self, *, now: float, rate: float, burst: float) -> Any:
        """The balance at max(updated, now): what it was, plus what the time since earned."""
        earned = self._greatest(literal(0.0), literal(now) - _BUCKETS.c.updated) * literal(rate)
        return self._least(literal(float(burst)), _BUCKETS.c.tokens + earned)

    def _create(self, connection: Any, team_id: str, *, now: float, burst: float) -> None:
        connection.execute(
            insert_for_dialect(connection.dialect.name)(_BUCKETS)
            .values(team_id=team_id, tokens=float(burst), updated=now, paused_until=0.0)
            .on_conflict_do_nothing(index_elements=["team_id"])
        )
