"""How people, channels and instants are written in replies (Slack mrkdwn)."""

from __future__ import annotations

from datetime import datetime


def when(instant: datetime | None, *, fallback: str = "soon") -> str:
    """An instant that Slack shows in each reader's own time zone, e.g. "Wed, Nov 26 at 9:30 AM"."""
    if instant is None:
        return fallback
    seconds = int(instant.timestamp())
    plain = f"{instant:%Y-%m-%d %H:%M} UTC"
    return f"<!date^{seconds}^{{date_short_pretty}} at {{time}}|{plain}>"


def user(user_id: str) -> str:
    return f"<@{user_id}>"


def channel(channel_id: str) -> str:
    return f"<#{channel_id}>"


def plural(count: int, noun: str, many: str | None = None) -> str:
    return f"{count} {noun if count == 1 else many or noun + 's'}"
