"""Records of the stand-in's state (people, conversations, faults, lost answers); Slack's errors."""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from types import NoneType
from typing import Any, TypeVar, cast

JSON = dict[str, Any]

_T = TypeVar("_T")
_ATOMS = frozenset({str, int, float, bool, NoneType, bytes})


def clone(value: _T) -> _T:
    """A deep copy of JSON-like data (dicts, lists, atoms), as `copy.deepcopy` makes it but
    several times faster: what the stand-in stores and hands out never shares a mutable part
    with what its callers hold. Anything else in it is deep-copied the usual way."""
    copied: Any = _clone(value)
    return cast(_T, copied)


def _clone(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {key: item if type(item) in _ATOMS else _clone(item) for key, item in value.items()}
    if kind is list:
        return [item if type(item) in _ATOMS else _clone(item) for item in value]
    if kind in _ATOMS:
        return value
    return copy.deepcopy(value)


class ApiError(Exception):
    """A Slack error answer: ``{"ok": false, "error": error, **extra}`` with an HTTP status."""

    def __init__(self, error: str, *, status: int = 200, extra: JSON | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra or {}


def invalid_blocks(errors: list[str]) -> ApiError:
    return ApiError(
        "invalid_blocks",
        extra={
            "errors": errors,
            "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]},
        },
    )


def flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def text_of(value: object) -> str:
    return value if isinstance(value, str) else ""


@dataclass
class UserRecord:
    id: str
    name: str
    real_name: str
    display_name: str
    first_name: str
    last_name: str
    tz: str
    email: str
    locale: str = "en-US"
    is_admin: bool = False
    is_owner: bool = False
    deleted: bool = False
    is_bot: bool = False


@dataclass
class Conversation:
    id: str
    name: str
    kind: str  # "public" | "private" | "im"
    members: list[str]
    bot_is_member: bool
    created: int
    is_archived: bool = False
    user: str | None = None
    messages: list[JSON] = field(default_factory=list)

    @property
    def channel_type(self) -> str:
        return {"public": "channel", "private": "group", "im": "im"}[self.kind]


@dataclass
class Fault:
    error: str
    remaining: int | None
    status: int
    retry_after: int | None


@dataclass
class RateLimit:
    per_second: float
    burst: int
    scope: str
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass
class ResponseContext:
    user: str
    channel: str
    message_ts: str | None = None
    is_ephemeral: bool = False
    thread_ts: str | None = None
    uses: int = 0


@dataclass
class LostAnswer:
    how: str  # "drop": close the connection unanswered; "late": answer once `released` is set
    remaining: int
    released: threading.Event = field(default_factory=threading.Event)
