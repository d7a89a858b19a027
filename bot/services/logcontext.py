"""Ids a log line is about (team, user, drip, delivery), carried by the context, not the call.

`bot.logs` writes them into every record made while they are bound; JSON logs show them as
fields. Only ids go here, never message texts or tokens.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

FIELDS = ("team_id", "user_id", "drip_id", "delivery_id")

_EMPTY: Mapping[str, str | int] = MappingProxyType({})
_bound: ContextVar[Mapping[str, str | int]] = ContextVar("microlearn_log_ids", default=_EMPTY)


def current() -> Mapping[str, str | int]:
    """The ids bound here now."""
    return _bound.get()


@contextmanager
def log_ids(**ids: str | int | None) -> Iterator[None]:
    """Bind ids for what runs inside (None and empty values are left out)."""
    token = _bound.set(MappingProxyType({**_bound.get(), **_known(ids)}))
    try:
        yield
    finally:
        _bound.reset(token)


def bind(**ids: str | int | None) -> None:
    """Add ids to the enclosing block (`log_ids`, `fresh_ids`): they go when it ends."""
    _bound.set(MappingProxyType({**_bound.get(), **_known(ids)}))


def bind_only(**ids: str | int | None) -> None:
    """Replace every bound id (a new request in this thread: nothing of the last one stays)."""
    _bound.set(MappingProxyType(_known(ids)))


@contextmanager
def fresh_ids() -> Iterator[None]:
    """Start with no ids; whatever is bound inside goes at the end."""
    token = _bound.set(_EMPTY)
    try:
        yield
    finally:
        _bound.reset(token)


def _known(ids: Mapping[str, str | int | None]) -> dict[str, str | int]:
    return {key: value for key, value in ids.items() if key in FIELDS and value not in (None, "")}
