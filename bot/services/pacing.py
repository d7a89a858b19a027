"""Our own pacing of Slack posts: a token bucket per workspace and a slower one per channel.

Slack's workspace-wide cap on chat.postMessage is what binds when a lesson fans out to many DMs,
and each channel takes about one message a second. A 429 pauses the whole workspace for its
Retry-After. Times are plain seconds from whatever clock the caller uses.

The pacer hands out slots: `reserve` takes one and says how long to wait for it, so the threads
that keep several posts in flight (see `bot.services.inflight`) each get an instant of their own
instead of all waking at once. With a `SharedBucket` (the database's, `bot.storage.send_rate`),
the workspace's tokens come from there, a small batch per round trip, so every process and
replica sharing the database together keeps to one rate; without one, the bucket is this
process's. Channel buckets stay in the process: a channel's posts come from one delivery at a
time (the drain never has two deliveries to one recipient in flight).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

CHANNEL_RATE = 1.0  # messages per second into one channel
CHANNEL_BURST = 4  # a lesson and its questions may go out together
_PRUNE_AT = 20_000  # forget idle channel buckets past this many
BATCH_SECONDS = 0.1  # a shared bucket's tokens are taken this much of the rate at a time
MAX_BATCH = 50  # tokens per round trip at most, however high the rate
STALE_TOKEN = 0.1  # seconds after its instant a token taken but not spent is let go (a burst)


class SharedBucket(Protocol):
    """A workspace's token bucket shared by every process (kept in the database)."""

    def take(
        self, team_id: str, *, want: int, now: float, rate: float, burst: float
    ) -> tuple[tuple[float, ...], float]:
        """Take `want` tokens: the instant each may be spent, and the end of any 429 pause."""
        ...

    def pause(self, team_id: str, *, until: float, now: float, rate: float, burst: float) -> None:
        """Nobody sends to this workspace before `until` (Slack said 429)."""
        ...

    def paused_until(self, team_id: str) -> float:
        """The end of the latest 429 pause any process stored (0: none)."""
        ...


@dataclass
class TokenBucket:
    rate: float
    burst: float
    tokens: float = field(default=-1.0)
    updated: float = 0.0
    paused_until: float = 0.0

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.burst

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def ready_at(self, now: float) -> float:
        """The earliest time a token is available (now, or later)."""
        self._refill(now)
        # Slots already handed out may reach past `now` (another thread's, or this caller's
        # clock a little behind): count from the last of them.
        base = max(now, self.updated)
        at = base if self.tokens >= 1 else base + (1 - self.tokens) / self.rate
        return max(at, self.paused_until)

    def take(self, at: float) -> None:
        self._refill(at)
        self.tokens -= 1

    def full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.burst and now >= self.paused_until


class Pacer:
    """Decides when the next post may go; the caller waits, never a Slack listener.

    Thread-safe: the drain's sending threads share one pacer.
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        shared: SharedBucket | None = None,
        batch: int | None = None,
    ) -> None:
        self._rate = rate
        self._burst = burst
        self._shared = shared
        self._batch = batch or max(1, min(burst, MAX_BATCH, round(rate * BATCH_SECONDS)))
        self._lock = threading.Lock()
        self._teams: dict[str, TokenBucket] = {}
        self._channels: dict[tuple[str, str], TokenBucket] = {}
        self._stock: dict[str, deque[float]] = {}  # tokens taken from the shared bucket
        self._paused: dict[str, float] = {}  # a 429's pause, as this process knows it

    def _team(self, team_id: str, now: float) -> TokenBucket:
        bucket = self._teams.get(team_id)
        if bucket is None:
            bucket = self._teams[team_id] = TokenBucket(self._rate, self._burst, updated=now)
        return bucket

    def _channel(self, team_id: str, channel: str, now: float) -> TokenBucket:
        key = (team_id, channel)
        bucket = self._channels.get(key)
        if bucket is None:
            if len(self._channels) >= _PRUNE_AT:
                self._channels = {k: b for k, b in self._channels.items() if not b.full(now)}
            bucket = self._channels[key] = TokenBucket(CHANNEL_RATE, CHANNEL_BURST, updated=now)
        return bucket

    def reserve(self, team_id: str, channel: str, now: float) -> float:
        """Take a slot for one post; return how many seconds to wait before making it."""
        with self._lock:
            per_channel = self._channel(team_id, channel, now)
            if self._shared is None:
                team = self._team(team_id, now)
                at = max(team.ready_at(now), per_channel.ready_at(now))
                team.take(at)
            else:
                at = max(self._shared_slot(team_id, now), per_channel.ready_at(now))
            per_channel.take(at)
            return at - now

    def channel_wait(self, team_id: str, channel: str, now: float) -> float:
        """Seconds until the channel may take a post (nothing is taken).

        Waiting for the channel first, then reserving, keeps a post held back by its channel
        from spending a workspace token that others could have used meanwhile.
        """
        with self._lock:
            return max(0.0, self._channel(team_id, channel, now).ready_at(now) - now)

    def _shared_slot(self, team_id: str, now: float) -> float:
        assert self._shared is not None
        stock = self._stock.setdefault(team_id, deque())
        paused = self._paused.get(team_id, 0.0)
        while stock and (stock[0] < now - STALE_TOKEN or stock[0] < paused):
            # Taken long ago and never spent: spending it now would be a burst. Or inside a
            # 429's pause: void, as the shared bucket forgave it.
            stock.popleft()
        if not stock:
            times, paused_until = self._shared.take(
                team_id, want=self._batch, now=now, rate=self._rate, burst=self._burst
            )
            stock.extend(times)
            self._paused[team_id] = max(self._paused.get(team_id, 0.0), paused_until)
        return max(now, stock.popleft(), self._paused.get(team_id, 0.0))

    def pause(self, team_id: str, *, until: float, now: float | None = None) -> None:
        """Slack said 429: nothing more for this workspace until `until` (from any process)."""
        with self._lock:
            self._paused[team_id] = max(self._paused.get(team_id, 0.0), until)
            if self._shared is not None:
                self._stock.pop(team_id, None)
                self._shared.pause(
                    team_id,
                    until=until,
                    now=until if now is None else now,
                    rate=self._rate,
                    burst=self._burst,
                )
                return
            bucket = self._team(team_id, until)
            bucket.paused_until = max(bucket.paused_until, until)
            # Empty, and nothing earned while paused: after the pause, posts resume at the rate
            # instead of in a burst that would run straight into the next 429.
            bucket.tokens = min(bucket.tokens, 0.0)
            bucket.updated = max(bucket.updated, until)

    def paused_until(self, team_id: str) -> float:
        """The end of the latest 429 pause (0: none); asked right before each post.

        With a shared bucket, as stored by any process: a 429 another replica saw a moment ago
        keeps this one's posts back too, although their slots were handed out before it.
        """
        stored = self._shared.paused_until(team_id) if self._shared is not None else 0.0
        with self._lock:
            known = self._paused[team_id] = max(self._paused.get(team_id, 0.0), stored)
            return known
