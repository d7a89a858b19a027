"""Our own pacing of Slack posts: a token bucket per workspace and a slower one per channel.

Slack's workspace-wide cap on chat.postMessage is what binds when a lesson fans out to many DMs,
and each channel takes about one message a second. A 429 pauses the whole workspace for its
Retry-After. Times are plain seconds from whatever clock the caller uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CHANNEL_RATE = 1.0  # messages per second into one channel
CHANNEL_BURST = 4  # a lesson and its questions may go out together
_PRUNE_AT = 20_000  # forget idle channel buckets past this many


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
        at = now if self.tokens >= 1 else now + (1 - self.tokens) / self.rate
        return max(at, self.paused_until)

    def take(self, at: float) -> None:
        self._refill(at)
        self.tokens -= 1

    def full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.burst and now >= self.paused_until


class Pacer:
    """Decides when the next post may go; the caller waits, never a Slack listener."""

    def __init__(self, *, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = burst
        self._teams: dict[str, TokenBucket] = {}
        self._channels: dict[tuple[str, str], TokenBucket] = {}

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
        team = self._team(team_id, now)
        per_channel = self._channel(team_id, channel, now)
        at = max(team.ready_at(now), per_channel.ready_at(now))
        team.take(at)
        per_channel.take(at)
        return at - now

    def pause(self, team_id: str, *, until: float) -> None:
        """Slack said 429: nothing more for this workspace until `until`."""
        bucket = self._team(team_id, until)
        bucket.paused_until = max(bucket.paused_until, until)
        # Empty, and nothing earned while paused: after the pause, posts resume at the rate
        # instead of in a burst that would run straight into the next 429.
        bucket.tokens = min(bucket.tokens, 0.0)
        bucket.updated = max(bucket.updated, until)
