"""The stand-in's state under one lock: ids, timestamps, recorded calls, conversation lookups."""

from __future__ import annotations

import base64
import hashlib
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .records import (
    JSON,
    ApiError,
    Conversation,
    Fault,
    LostAnswer,
    RateLimit,
    ResponseContext,
    UserRecord,
    clone,
    text_of,
)

if TYPE_CHECKING:
    from .plumbing import StandInHTTPServer
    from .standin import SlackStandIn


class StandInState:
    """One workspace's state; the Web API areas are mixins over it.

    Thread-safe: one re-entrant lock guards all state; ``wait_for`` lets tests block on changes.
    """

    # Several workspaces behind one URL: the first (the host) serves HTTP for all of them.
    _host: SlackStandIn | None
    _workspaces: list[SlackStandIn]
    _http: StandInHTTPServer | None

    def __init__(
        self,
        *,
        team_id: str,
        team_name: str,
        team_domain: str,
        bot_user_id: str,
        bot_id: str,
        bot_name: str,
        app_id: str,
        bot_token: str,
        app_token: str,
        clock: Callable[[], float],
        wall_clock: Callable[[], datetime] | None,
        start_ts: int,
        ts_clock: Callable[[], float] | None,
    ) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.app_id = app_id
        self.bot_token = bot_token
        self.app_token = app_token
        self._clock = clock
        self._wall_clock = wall_clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._ts_micros = start_ts * 1_000_000
        # Message timestamps count up from start_ts, or follow this clock (seconds since the
        # epoch) when given, as Slack's do: the sandbox shows when each message was posted.
        self._ts_clock = ts_clock
        self._version = 0
        self._counters: dict[str, int] = {}
        self._init_records()
        self._users[bot_user_id] = UserRecord(
            id=bot_user_id,
            name=bot_name,
            real_name=bot_name,
            display_name=bot_name,
            first_name=bot_name,
            last_name="",
            tz="America/Los_Angeles",
            email="",
            is_bot=True,
        )

    def _init_records(self) -> None:
        self._users: dict[str, UserRecord] = {}
        self._channels: dict[str, Conversation] = {}
        self._dms: dict[str, str] = {}
        self._usergroups: dict[str, JSON] = {}
        self._ephemerals: list[JSON] = []
        self._responses: list[JSON] = []
        self._response_urls: dict[str, ResponseContext] = {}
        self._triggers: dict[str, JSON] = {}
        self._views: dict[str, JSON] = {}
        self._view_users: dict[str, str] = {}
        self._view_open: dict[str, bool] = {}
        self._view_order: list[str] = []
        self._stacks: dict[str, list[str]] = {}
        self._homes: dict[str, str] = {}
        self._files: dict[str, JSON] = {}
        self._calls: list[JSON] = []
        self._faults: dict[str, list[Fault]] = {}
        self._rate_limits: dict[str, RateLimit] = {}
        self._delays: dict[str, tuple[float, float]] = {}
        self._jitter = random.Random(0)  # the same latencies on every run
        self._holds: dict[str, threading.Event] = {}
        self._lost: dict[str, list[LostAnswer]] = {}
        self._held: dict[str, int] = {}
        self._stats: dict[str, dict[str, int]] = {}
        self._id_base = 0
        self.revoked = False
        # The app's OAuth credentials, as "Basic Information" shows them, and where Slack sends
        # the browser back after "Allow" (the app's configured redirect URL).
        self.client_id = "1111111111.2222222222"
        self.client_secret = "standin-client-secret"
        self.oauth_redirect_url: str | None = None
        self._codes: dict[str, JSON] = {}

    @property
    def base_url(self) -> str:
        if self._host is not None:
            return self._host.base_url
        if self._http is None:
            raise RuntimeError("the stand-in is not started")
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    @property
    def api_url(self) -> str:
        """``base_url`` for ``slack_sdk.WebClient`` (trailing slash included)."""
        return f"{self.base_url}/api/"

    def new_id(self, prefix: str) -> str:
        """A fresh id such as ``U0000001``, ``C0000002``, ``Ev0000003``."""
        with self._lock:
            number = self._counters.get(prefix, 0) + 1
            self._counters[prefix] = number
            return f"{prefix}{self._id_base + number:07d}"

    def next_ts(self) -> str:
        """A new message timestamp, strictly greater than all before it."""
        with self._lock:
            self._ts_micros += 100
            if self._ts_clock is not None:
                self._ts_micros = max(self._ts_micros, int(self._ts_clock() * 1_000_000))
            return f"{self._ts_micros // 1_000_000}.{self._ts_micros % 1_000_000:06d}"

    def now(self) -> float:
        """The stand-in's notion of now: the latest timestamp handed out."""
        with self._lock:
            return self._ts_micros / 1_000_000

    def _touch(self) -> None:
        with self._changed:
            self._version += 1
            self._changed.notify_all()

    def touch(self) -> None:
        """Count a change made outside the stand-in, waking whoever waits in ``wait_for``."""
        self._touch()

    @property
    def version(self) -> int:
        """Grows with every change: a page waits in ``wait_for`` until it is not what it saw."""
        with self._lock:
            return self._version

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Block until ``predicate()`` (evaluated under the lock after each change) is true."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout=timeout)

    def wait_for_call(self, method: str, *, count: int = 1, timeout: float = 5.0) -> list[JSON]:
        """Block until ``method`` was called ``count`` times; returns those calls."""

        def enough() -> bool:
            return sum(1 for c in self._calls if c["method"] == method) >= count

        if not self.wait_for(enough, timeout):
            raise TimeoutError(f"{method} was not called {count} time(s) within {timeout} s")
        return self.calls(method)

    def calls(self, method: str | None = None) -> list[JSON]:
        """Recorded requests: method, params, headers, token, token_type, status, response."""
        with self._lock:
            return [clone(c) for c in self._calls if method is None or c["method"] == method]

    def reset_calls(self) -> None:
        with self._changed:
            self._calls.clear()
            self._touch()

    def stats(self) -> dict[str, dict[str, int]]:
        """Per method: calls, accepted, rate_limited, faulted, errors."""
        with self._lock:
            return clone(self._stats)

    def _short_id(self) -> str:
        number = self._counters.get("_short", 0) + 1
        self._counters["_short"] = number
        digest = hashlib.sha1(str(number).encode()).digest()
        return base64.b32encode(digest).decode()[:5]

    def _paginate(
        self, items: list[Any], params: JSON, *, default_limit: int
    ) -> tuple[list[Any], str]:
        try:
            limit = int(params.get("limit") or default_limit)
        except (TypeError, ValueError):
            raise ApiError("invalid_limit") from None
        limit = min(limit, 1000)
        offset = 0
        cursor = text_of(params.get("cursor"))
        if cursor:
            try:
                label, _, number = base64.b64decode(cursor.encode()).decode().partition(":")
                offset = int(number)
            except (ValueError, UnicodeDecodeError):
                raise ApiError("invalid_cursor") from None
            if label != "offset" or offset < 0:
                raise ApiError("invalid_cursor")
        if limit <= 0:
            return items[offset:], ""
        end = offset + limit
        next_cursor = (
            base64.b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""
        )
        return items[offset:end], next_cursor

    def _lookup(self, channel: str | None) -> Conversation | None:
        if not channel:
            return None
        if channel in self._channels:
            return self._channels[channel]
        if channel in self._dms:
            return self._channels[self._dms[channel]]
        name = channel.lstrip("#").lower()
        for conv in self._channels.values():
            if conv.kind != "im" and conv.name == name:
                return conv
        return None

    def _resolve(self, channel: str | None) -> Conversation | None:
        """Like ``_lookup``, but a user id means the bot's DM with that user (opened if needed)."""
        if channel and channel[:1] in ("U", "W") and channel in self._users:
            return self._dm(channel)
        return self._lookup(channel)

    def _dm(self, user_id: str) -> Conversation:
        if user_id not in self._dms:
            did = self.new_id("D")
            self._channels[did] = Conversation(
                id=did,
                name=user_id,
                kind="im",
                members=[user_id],
                bot_is_member=True,
                user=user_id,
                created=self._ts_micros // 1_000_000,
            )
            self._dms[user_id] = did
        return self._channels[self._dms[user_id]]

    def _visible(self, channel: object) -> Conversation:
        """A conversation the bot can see; private channels it is not in do not exist for it."""
        conv = self._lookup(text_of(channel)) if text_of(channel)[:1] not in ("U", "W") else None
        if conv is None or (conv.kind == "private" and not conv.bot_is_member):
            raise ApiError("channel_not_found")
        return conv

    def _post_target(self, channel: object) -> Conversation:
        """Resolve chat.postMessage's ``channel``: a channel or DM id, a name, or a user id."""
        cid = text_of(channel)
        if cid[:1] in ("U", "W"):
            user = self._users.get(cid)
            if user is None:
                raise ApiError("channel_not_found")
            if cid == self.bot_user_id:
                raise ApiError("cannot_dm_bot")
            if user.deleted:
                raise ApiError("user_not_found")
            return self._dm(cid)
        conv = self._visible(cid)
        if conv.is_archived:
            raise ApiError("is_archived")
        if not conv.bot_is_member:
            raise ApiError("not_in_channel")
        if conv.kind == "im" and conv.user and self._users[conv.user].deleted:
            raise ApiError("user_not_found")
        return conv

    def _readable(self, params: JSON) -> Conversation:
        conv = self._visible(params.get("channel"))
        if not conv.bot_is_member:
            raise ApiError("not_in_channel")
        return conv

    def _require_person_in(self, conv: Conversation, user_id: str) -> None:
        if user_id not in self._users:
            raise KeyError(f"unknown user {user_id}")
        if conv.kind == "im":
            if conv.user != user_id:
                raise PermissionError(f"{user_id} is not in DM {conv.id}")
        elif user_id not in conv.members:
            raise PermissionError(f"{user_id} is not a member of {conv.id}")

    def _members_of(self, conv: Conversation) -> list[str]:
        if conv.kind == "im":
            return [conv.user or "", self.bot_user_id]
        return conv.members + ([self.bot_user_id] if conv.bot_is_member else [])
