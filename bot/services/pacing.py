"""Our own pacing of Slack posts: a token bucket per workspace and a slower one per channel.

Slack's workspace-wide cap on chat.postMessage is what binds when a lesson fans out to many DMs,
and each channel takes about one message a second. A 429 pauses the whole workspace for its
Retry-After. Times are plain seconds from whatever clock the caller uses.

The pacer hands out slots: `reserve` takes one and says how long to wait for it, so the threads
that keep several posts in flight (see `bot.services.inflight`) each get an instant of their own
instead of all waking at once. With a `SharedBucket` (the database's, `bot.storage.send_rate`),
the workspace's slots come from there, one per post, taken when the post is ready to go, so the
posts of every process and replica sharing the database are spaced evenly at one rate, whoever
makes them. (Tokens taken a batch at a time left a process holding slots its threads were too
busy to use on time: spent late, they bunched with the others' slots into Slack's 429s.)
Without one, the bucket is this process's. Channel buckets stay in the process: a channel's
posts come from one delivery at a time (the drain never has two deliveries to one recipient in
flight).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

CHANNEL_RATE = 1.0  # messages per second into one channel
CHANNEL_BURST = 4  # a lesson and its questions may go out together
_PRUNE_AT = 20_000  # forget idle channel buckets past this many


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
    ) -> None:
        self._rate = rate
        self._burst = burst
        self._shared = shared
        self._lock = threading.Lock()
        self._asks: dict[str, list[_Ask]] = {}  # posts waiting for a shared slot
        self._taking: set[str] = set()  # workspaces with a round trip for slots under way
        self._reading: dict[str, _Reading] = {}  # a read of the shared pause under way
        self._teams: dict[str, TokenBucket] = {}
        self._channels: dict[tuple[str, str], TokenBucket] = {}
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
        slot = self._shared_slot(team_id, now) if self._shared is not None else None
        with self._lock:
            per_channel = self._channel(team_id, channel, now)
            if slot is None:
                team = self._team(team_id, now)
                at = max(team.ready_at(now), per_channel.ready_at(now))
                team.take(at)
            else:
                at = max(slot, per_channel.ready_at(now))
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
        """One slot of the workspace's shared bucket: the next instant nobody else holds.

        One round trip at a time per workspace from this process, for every post that asked
        meanwhile: a slot each, handed over at once (none kept for later), in one statement,
        instead of each thread holding a database connection while it waits for the row.
        """
        ask = _Ask(now)
        with self._lock:
            self._asks.setdefault(team_id, []).append(ask)
            leads = team_id not in self._taking
            self._taking.add(team_id)
        if not leads:
            ask.done.wait()  # answered, or handed the next round trip
        if not ask.answered:
            self._take_for(team_id)
        if ask.error is not None:
            raise ask.error
        return ask.slot

    def _take_for(self, team_id: str) -> None:
        """One round trip for every post waiting for a slot; the next waiter takes over."""
        assert self._shared is not None
        with self._lock:
            asks = self._asks.pop(team_id)
        error: BaseException | None = None
        times: tuple[float, ...] = ()
        try:
            # From the latest of their instants, so no slot falls before any of them.
            times, paused_until = self._shared.take(
                team_id,
                want=len(asks),
                now=max(ask.now for ask in asks),
                rate=self._rate,
                burst=self._burst,
            )
        except BaseException as failed:  # each waiting post fails as its own round trip would
            error = failed
        with self._lock:
            if error is None:
                self._paused[team_id] = max(self._paused.get(team_id, 0.0), paused_until)
            waiting = self._asks.get(team_id)
            if not waiting:
                self._taking.discard(team_id)
        # A slot that a 429 seen meanwhile made void is handed over as it is, not moved to the
        # pause's end (where it would bunch with the bucket's own slots): its post finds the
        # pause when it wakes, and takes a new slot.
        for ask, slot in zip(asks, times or (0.0,) * len(asks), strict=True):
            ask.slot, ask.error, ask.answered = max(ask.now, slot), error, True
            ask.done.set()
        if waiting:
            waiting[0].done.set()  # not answered: it makes the next round trip

    def pause(self, team_id: str, *, until: float, now: float | None = None) -> None:
        """Slack said 429: nothing more for this workspace until `until` (from any process)."""
        with self._lock:
            self._paused[team_id] = max(self._paused.get(team_id, 0.0), until)
            if self._shared is not None:
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
        """The end of the latest 429 pause (0: none); asked right before a post that waited
        for its slot (one whose slot was the moment of asking has `known_pause`).

        With a shared bucket, as stored by any process: a 429 another replica saw a moment ago
        keeps this one's posts back too, although their slots were handed out before it.
        """
        stored = self._stored_pause(team_id) if self._shared is not None else 0.0
        with self._lock:
            known = self._paused[team_id] = max(self._paused.get(team_id, 0.0), stored)
            return known

    def known_pause(self, team_id: str) -> float:
        """The end of the latest 429 pause this process knows of (0: none), without a read:
        what this process saw itself, and what the round trip for its latest slot said."""
        with self._lock:
            return self._paused.get(team_id, 0.0)

    def _stored_pause(self, team_id: str) -> float:
        """The shared bucket's pause; threads asking while a read is on its way share it."""
        assert self._shared is not None
        with self._lock:
            reading = self._reading.get(team_id)
            leads = reading is None
            if reading is None:
                reading = self._reading[team_id] = _Reading()
        if not leads:
            reading.done.wait()
            return reading.until
        try:
            reading.until = self._shared.paused_until(team_id)
        finally:
            with self._lock:
                del self._reading[team_id]
            reading.done.set()  # on a failure, the others go on with what this process knows
        return reading.until


@dataclass
class _Ask:
    """A post waiting for its shared slot."""

    now: float
    slot: float = 0.0
    answered: bool = False
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Reading:
    """One read of the shared pause, and the threads waiting for it."""

    until: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)
