"""A stateful fake of Slack's Web API on 127.0.0.1 that records every call.

Choices where Slack's behaviour is unknown or irrelevant here (also listed in SlackStandIn's doc):

- Unknown API method: HTTP 404 with ``{"ok": false, "error": "unknown_method"}``.
- ``chat.postMessage`` to a deleted user's id: ``user_not_found``; to an unknown user id:
  ``channel_not_found``; to the bot's own id: ``cannot_dm_bot``; a private channel the bot is not in
  is invisible: ``channel_not_found``; a public one: ``not_in_channel``.
- ``thread_ts`` that names no message in the channel: ``thread_not_found``.
- ``blocks`` without a non-empty ``text``: ``no_text`` (Slack only warns; the project wants
  text).
- ``files.completeUploadExternal`` with an unknown or never-uploaded file id: ``file_not_found``.
- ``conversations.open`` with several users (an MPIM) is not emulated:
  ``mpim_not_supported_by_standin``.
- A response_url answers ``{"ok": true}``; invalid blocks there give HTTP 400 with Slack's error
  names; an unknown url gives HTTP 404 ``expired_url``; the sixth use gives HTTP 404 ``used_url``.
- ``tz_label`` is the zone's abbreviation at the current moment ("CET"), not Slack's long name.
- ``conversations.members`` lists the bot user too (last) when it is a member, as Slack does.
- Missing ``block_id``/``action_id`` are filled in on stored messages and views, as Slack does.
- ``stats()``: ``accepted`` counts calls past faults and rate limits (they may still answer an
  error, counted in ``errors``); ``faulted`` counts ``fail()`` hits.
- ``lose_answer()``: the call is carried out (a post is stored), then its answer is lost: the
  connection is closed without one, or the answer waits for the test (a client that gave up).
- Several workspaces: ``add_workspace()`` serves another one behind the same URL; a Web API call
  goes to the workspace whose bot token it carries, and ids are unique across workspaces.
- OAuth: ``GET /oauth/v2/authorize`` plays the person who clicks "Allow" (in the workspace named
  by ``team``, or the first one) and redirects to ``redirect_uri`` or ``oauth_redirect_url`` with
  a one-time code; ``oauth.v2.access`` takes the app's client id and secret (HTTP Basic or form)
  and that code, and answers the workspace's bot token. ``uninstall()`` revokes a workspace's
  token: calls with it then answer ``token_revoked``.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import email.parser
import email.policy
import hashlib
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from . import blockkit
from .socket_mode import SocketModeServer

JSON = dict[str, Any]

# Fields that clients may send JSON-encoded inside a form (or a JSON body).
_JSON_FIELDS = frozenset({"blocks", "attachments", "metadata", "files", "view"})
# Methods that need the app-level token; all others need the bot token (auth.test takes both).
_APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
_ANY_TOKEN_METHODS = frozenset({"auth.test"})
TRIGGER_LIFETIME_SECONDS = 3.0
RESPONSE_URL_MAX_USES = 5
MAX_VIEW_STACK = 3


class _ApiError(Exception):
    """A Slack error answer: ``{"ok": false, "error": error, **extra}`` with an HTTP status."""

    def __init__(self, error: str, *, status: int = 200, extra: JSON | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra or {}


def _invalid_blocks(errors: list[str]) -> _ApiError:
    return _ApiError(
        "invalid_blocks",
        extra={
            "errors": errors,
            "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]},
        },
    )


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def _text_of(value: object) -> str:
    return value if isinstance(value, str) else ""


@dataclass
class _User:
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
class _Conversation:
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
class _Fault:
    error: str
    remaining: int | None
    status: int
    retry_after: int | None


@dataclass
class _RateLimit:
    per_second: float
    burst: int
    scope: str
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass
class _ResponseContext:
    user: str
    channel: str
    message_ts: str | None = None
    is_ephemeral: bool = False
    thread_ts: str | None = None
    uses: int = 0


@dataclass
class _LostAnswer:
    how: str  # "drop": close the connection unanswered; "late": answer once `released` is set
    remaining: int
    released: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    lost: _LostAnswer | None = None

    @classmethod
    def json(cls, status: int, payload: JSON, headers: Mapping[str, str] | None = None) -> _Reply:
        merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, merged, json.dumps(payload).encode("utf-8"))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, standin: SlackStandIn) -> None:
        super().__init__(("127.0.0.1", 0), _RequestHandler)
        self.standin = standin


class _RequestHandler(BaseHTTPRequestHandler):
    server: _HTTPServer
    # Keep-alive, as Slack's own endpoints: clients that reuse connections are served that way.
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self._serve()

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        reply = self.server.standin._handle_http(self.path, headers, body)
        if reply.lost is not None:
            if reply.lost.how == "drop":
                self.close_connection = True  # closed with no answer: the client sees a reset
                return
            reply.lost.released.wait(timeout=30)  # until the test lets the answer go
        try:
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):  # a late answer to a client that left
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature is fixed
        return


class SlackStandIn:
    """A local Slack: Web API over HTTP, Socket Mode over WebSocket, state seeded by tests.

    Thread-safe: one re-entrant lock guards all state; ``wait_for`` lets tests block on changes.
    """

    def __init__(
        self,
        *,
        team_id: str = "T0001",
        team_name: str = "Stand-in",
        team_domain: str = "standin",
        bot_user_id: str = "UBOT",
        bot_id: str = "B0001",
        bot_name: str = "microlearn",
        app_id: str = "A0001",
        bot_token: str = "xoxb-standin",
        app_token: str = "xapp-standin",
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] | None = None,
        start_ts: int = 1_700_000_000,
        ts_clock: Callable[[], float] | None = None,
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
        self._users: dict[str, _User] = {}
        self._channels: dict[str, _Conversation] = {}
        self._dms: dict[str, str] = {}
        self._usergroups: dict[str, JSON] = {}
        self._ephemerals: list[JSON] = []
        self._responses: list[JSON] = []
        self._response_urls: dict[str, _ResponseContext] = {}
        self._triggers: dict[str, JSON] = {}
        self._views: dict[str, JSON] = {}
        self._view_users: dict[str, str] = {}
        self._view_open: dict[str, bool] = {}
        self._view_order: list[str] = []
        self._stacks: dict[str, list[str]] = {}
        self._homes: dict[str, str] = {}
        self._files: dict[str, JSON] = {}
        self._calls: list[JSON] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._rate_limits: dict[str, _RateLimit] = {}
        self._delays: dict[str, float] = {}
        self._holds: dict[str, threading.Event] = {}
        self._lost: dict[str, list[_LostAnswer]] = {}
        self._held: dict[str, int] = {}
        self._stats: dict[str, dict[str, int]] = {}
        self._http: _HTTPServer | None = None
        self._http_thread: threading.Thread | None = None
        # Several workspaces behind one URL: the first serves HTTP for all of them.
        self._host: SlackStandIn | None = None
        self._workspaces: list[SlackStandIn] = [self]
        self._id_base = 0
        self.revoked = False
        # The app's OAuth credentials, as "Basic Information" shows them, and where Slack sends
        # the browser back after "Allow" (the app's configured redirect URL).
        self.client_id = "1111111111.2222222222"
        self.client_secret = "standin-client-secret"
        self.oauth_redirect_url: str | None = None
        self._codes: dict[str, JSON] = {}
        self._socket = SocketModeServer(app_id=app_id, on_change=self._touch)
        self._handlers: dict[str, Callable[[JSON], JSON]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "chat.delete": self._chat_delete,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "conversations.join": self._conversations_join,
            "conversations.history": self._conversations_history,
            "conversations.list": self._conversations_list,
            "conversations.replies": self._conversations_replies,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "apps.connections.open": self._apps_connections_open,
        }
        self._users[bot_user_id] = _User(
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

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Serve the Web API and Socket Mode on free 127.0.0.1 ports."""
        self._socket.start()
        self._http = _HTTPServer(self)
        self._http_thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="standin-web-api",
            daemon=True,
        )
        self._http_thread.start()
        return self

    def stop(self) -> None:
        """Close Socket Mode connections and stop both servers."""
        self._socket.stop()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._http_thread is not None:
            self._http_thread.join(timeout=5)
            self._http_thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

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

    @property
    def socket(self) -> SocketModeServer:
        return self._socket

    # -- several workspaces and OAuth ------------------------------------------------------

    def add_workspace(
        self,
        *,
        team_id: str,
        team_name: str,
        team_domain: str,
        bot_token: str,
        bot_user_id: str = "UBOT",
        bot_id: str = "B0001",
    ) -> SlackStandIn:
        """Another workspace with the same app installed, served behind this one's URL."""
        with self._changed:
            if any(w.team_id == team_id or w.bot_token == bot_token for w in self._workspaces):
                raise ValueError(f"a workspace with team id {team_id} or that token exists")
            other = SlackStandIn(
                team_id=team_id,
                team_name=team_name,
                team_domain=team_domain,
                bot_user_id=bot_user_id,
                bot_id=bot_id,
                bot_name=self.bot_name,
                app_id=self.app_id,
                bot_token=bot_token,
                app_token=self.app_token,
                clock=self._clock,
                wall_clock=self._wall_clock,
                start_ts=self._ts_micros // 1_000_000,
                ts_clock=self._ts_clock,
            )
            other._host = self
            other._id_base = len(self._workspaces) * 1_000_000
            self._workspaces.append(other)
            return other

    def workspace(self, team_id: str) -> SlackStandIn:
        for candidate in self._workspaces:
            if candidate.team_id == team_id:
                return candidate
        raise KeyError(team_id)

    def uninstall(self) -> None:
        """The workspace removes the app: its bot token stops working (``token_revoked``)."""
        with self._changed:
            self.revoked = True
            self._touch()

    def authorize_url(self) -> str:
        """Where Slack's "Add to Slack" page lives on this stand-in."""
        return f"{self.base_url}/oauth/v2/authorize"

    # -- seeding ---------------------------------------------------------------------------

    def add_user(
        self,
        name: str,
        *,
        user_id: str | None = None,
        real_name: str | None = None,
        display_name: str | None = None,
        email: str | None = None,
        tz: str = "Europe/Berlin",
        locale: str = "en-US",
        is_admin: bool = False,
        is_owner: bool = False,
        deleted: bool = False,
        is_bot: bool = False,
    ) -> str:
        """Add a workspace member; returns its id (``U0000001``…)."""
        ZoneInfo(tz)  # fail early on an unknown zone
        with self._changed:
            uid = user_id or self.new_id("U")
            if uid in self._users:
                raise ValueError(f"user {uid} exists")
            real = real_name or name.replace(".", " ").title()
            first, _, last = real.partition(" ")
            self._users[uid] = _User(
                id=uid,
                name=name,
                real_name=real,
                display_name=display_name if display_name is not None else name,
                first_name=first,
                last_name=last,
                tz=tz,
                email=email if email is not None else f"{name}@{self.team_domain}.example",
                locale=locale,
                is_admin=is_admin,
                is_owner=is_owner,
                deleted=deleted,
                is_bot=is_bot,
            )
            self._touch()
            return uid

    def set_user(self, user_id: str, **changes: Any) -> None:
        """Change fields of a user (``tz``, ``deleted``, ``real_name``, ``is_admin``…)."""
        with self._changed:
            user = self._users[user_id]
            for key, value in changes.items():
                if not hasattr(user, key) or key == "id":
                    raise TypeError(f"unknown user field {key!r}")
                if key == "tz":
                    ZoneInfo(value)
                setattr(user, key, value)
            self._touch()

    def add_channel(
        self,
        name: str,
        *,
        members: Iterable[str] = (),
        is_private: bool = False,
        bot_is_member: bool = True,
        is_archived: bool = False,
    ) -> str:
        """Add a channel (``C…``, or ``G…`` when private); returns its id."""
        with self._changed:
            clean = name.lstrip("#").lower()
            if any(c.name == clean for c in self._channels.values() if c.kind != "im"):
                raise ValueError(f"channel #{clean} exists")
            member_ids = list(dict.fromkeys(members))
            for uid in member_ids:
                if uid not in self._users:
                    raise KeyError(f"unknown user {uid}")
            cid = self.new_id("G" if is_private else "C")
            self._channels[cid] = _Conversation(
                id=cid,
                name=clean,
                kind="private" if is_private else "public",
                members=member_ids,
                bot_is_member=bot_is_member,
                is_archived=is_archived,
                created=self._ts_micros // 1_000_000,
            )
            self._touch()
            return cid

    def set_channel(self, channel_id: str, **changes: Any) -> None:
        """Change ``name``, ``is_archived``, ``bot_is_member`` or ``members`` of a channel."""
        allowed = {"name", "is_archived", "bot_is_member", "members"}
        with self._changed:
            conv = self._channels[channel_id]
            for key, value in changes.items():
                if key not in allowed:
                    raise TypeError(f"unknown channel field {key!r} (allowed: {sorted(allowed)})")
                setattr(conv, key, list(value) if key == "members" else value)
            self._touch()

    def add_member(self, channel_id: str, user_id: str) -> None:
        with self._changed:
            conv = self._channels[channel_id]
            if user_id == self.bot_user_id:
                conv.bot_is_member = True
            elif user_id not in conv.members:
                if user_id not in self._users:
                    raise KeyError(f"unknown user {user_id}")
                conv.members.append(user_id)
            self._touch()

    def add_usergroup(self, handle: str, members: Iterable[str], *, name: str | None = None) -> str:
        """Add a user group (``S…``); returns its id."""
        with self._changed:
            sid = self.new_id("S")
            self._usergroups[sid] = {
                "id": sid,
                "handle": handle,
                "name": name or handle,
                "users": list(dict.fromkeys(members)),
            }
            self._touch()
            return sid

    def dm_channel(self, user_id: str) -> str:
        """The stable ``D…`` id of the bot's DM with ``user_id`` (created on first use)."""
        with self._changed:
            if user_id not in self._users:
                raise KeyError(f"unknown user {user_id}")
            return self._dm(user_id).id

    # -- inspection ------------------------------------------------------------------------

    def messages(self, channel: str, *, include_replies: bool = False) -> list[JSON]:
        """Messages of a channel, oldest first (top level and broadcasts unless told otherwise)."""
        with self._lock:
            conv = self._resolve(channel)
            if conv is None:
                raise KeyError(f"unknown channel {channel}")
            return [
                copy.deepcopy(m) for m in conv.messages if include_replies or self._is_top_level(m)
            ]

    def thread(self, channel: str, thread_ts: str) -> list[JSON]:
        """Replies in a thread (the parent excluded), oldest first."""
        with self._lock:
            conv = self._resolve(channel)
            if conv is None:
                raise KeyError(f"unknown channel {channel}")
            return [
                copy.deepcopy(m)
                for m in conv.messages
                if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts
            ]

    def find_message(self, channel: str, ts: str) -> JSON | None:
        with self._lock:
            conv = self._resolve(channel)
            found = self._find(conv, ts) if conv is not None else None
            return copy.deepcopy(found) if found is not None else None

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[JSON]:
        with self._lock:
            conv = self._resolve(channel)
            cid = conv.id if conv is not None else channel
            return [
                copy.deepcopy(e)
                for e in self._ephemerals
                if (cid is None or e["channel"] == cid) and (user is None or e["user"] == user)
            ]

    def responses(self) -> list[JSON]:
        """Bodies POSTed to response_urls (with url, user, channel, status), oldest first."""
        with self._lock:
            return copy.deepcopy(self._responses)

    def views(self, user: str | None = None) -> list[JSON]:
        """Every modal ever opened or pushed (current version), oldest first."""
        with self._lock:
            return [
                copy.deepcopy(self._views[vid])
                for vid in self._view_order
                if self._views[vid]["type"] != "home"
                and (user is None or self._view_users[vid] == user)
            ]

    def open_views(self, user: str) -> list[JSON]:
        """The user's modal stack, root first (empty when no modal is open)."""
        with self._lock:
            return [copy.deepcopy(self._views[vid]) for vid in self._stacks.get(user, [])]

    def get_view(self, view_id: str) -> JSON:
        with self._lock:
            return copy.deepcopy(self._views[view_id])

    def home(self, user: str) -> JSON | None:
        """The App Home view last published for ``user``."""
        with self._lock:
            vid = self._homes.get(user)
            return copy.deepcopy(self._views[vid]) if vid else None

    def files(self) -> list[JSON]:
        """Completed uploads: id, name, title, bytes, length, channel, initial_comment…"""
        with self._lock:
            return [copy.deepcopy(f) for f in self._files.values() if f["completed"]]

    def channels(self) -> list[JSON]:
        """Every channel (no DMs) as ``conversations.info`` shows it, with ``members``."""
        with self._lock:
            return [
                {**self._channel_object(conv), "members": list(conv.members)}
                for conv in self._channels.values()
                if conv.kind != "im"
            ]

    def usergroups(self) -> list[JSON]:
        """Every user group: id, handle, name, users."""
        with self._lock:
            return copy.deepcopy(list(self._usergroups.values()))

    def reactions(self, channel: str, ts: str) -> list[JSON]:
        message = self.find_message(channel, ts)
        if message is None:
            raise KeyError(f"no message {ts} in {channel}")
        return list(message.get("reactions", []))

    def calls(self, method: str | None = None) -> list[JSON]:
        """Recorded requests: method, params, headers, token, token_type, status, response."""
        with self._lock:
            return [
                copy.deepcopy(c) for c in self._calls if method is None or c["method"] == method
            ]

    def reset_calls(self) -> None:
        with self._changed:
            self._calls.clear()
            self._touch()

    def stats(self) -> dict[str, dict[str, int]]:
        """Per method: calls, accepted, rate_limited, faulted, errors."""
        with self._lock:
            return copy.deepcopy(self._stats)

    def user(self, user_id: str) -> JSON:
        """The ``users.info`` object of a user."""
        with self._lock:
            return self._user_object(self._users[user_id])

    def conversation(self, channel_id: str) -> JSON:
        """The ``conversations.info`` object of a channel or DM."""
        with self._lock:
            conv = self._resolve(channel_id)
            if conv is None:
                raise KeyError(f"unknown channel {channel_id}")
            return self._channel_object(conv)

    @property
    def version(self) -> int:
        """Grows with every change: a page waits in ``wait_for`` until it is not what it saw."""
        with self._lock:
            return self._version

    def touch(self) -> None:
        """Count a change made outside the stand-in, waking whoever waits in ``wait_for``."""
        self._touch()

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

    # -- faults and limits -----------------------------------------------------------------

    def fail(
        self,
        method: str,
        error: str,
        *,
        times: int | None = 1,
        status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (``None``: until ``clear_faults``)."""
        if status is None:
            if error == "ratelimited":
                status = 429
            elif error in ("internal_error", "fatal_error"):
                status = 500
            else:
                status = 200
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._changed:
            self._faults.setdefault(method, []).append(_Fault(error, times, status, retry_after))

    def clear_faults(self) -> None:
        with self._changed:
            self._faults.clear()

    def rate_limit(
        self, method: str, *, per_second: float, burst: int, scope: str = "workspace"
    ) -> None:
        """Emulate a cap with a token bucket per workspace, or per channel (``scope="channel"``)."""
        if scope not in ("workspace", "channel"):
            raise ValueError("scope must be 'workspace' or 'channel'")
        if per_second <= 0 or burst < 1:
            raise ValueError("per_second must be > 0 and burst >= 1")
        with self._changed:
            self._rate_limits[method] = _RateLimit(per_second, burst, scope)

    def clear_rate_limits(self) -> None:
        with self._changed:
            self._rate_limits.clear()

    def delay(self, method: str, seconds: float) -> None:
        """Add latency to every call of ``method`` (0 removes it)."""
        with self._changed:
            if seconds > 0:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    def hold(self, method: str) -> threading.Event:
        """Make every call of ``method`` hang until the returned event is set (a stuck call)."""
        gate = threading.Event()
        with self._changed:
            self._holds[method] = gate
        return gate

    def lose_answer(self, method: str, *, how: str = "drop", times: int = 1) -> threading.Event:
        """Carry out the next ``times`` calls of ``method``, then lose their answers.

        ``how="drop"`` closes the connection without an answer; ``how="late"`` answers only once
        the returned event is set (after the client has given up waiting, say).
        """
        if how not in ("drop", "late"):
            raise ValueError("how must be 'drop' or 'late'")
        lost = _LostAnswer(how, times)
        with self._changed:
            self._lost.setdefault(method, []).append(lost)
        return lost.released

    def held(self, method: str) -> int:
        """How many calls of ``method`` are hanging on ``hold`` right now."""
        with self._lock:
            return self._held.get(method, 0)

    # -- Socket Mode -----------------------------------------------------------------------

    def wait_for_socket_client(self, timeout: float = 5.0, *, connects: int | None = None) -> bool:
        """True once a Socket Mode client is connected (and ``connects`` connections were seen)."""
        return self._socket.wait_for_client(timeout, connects=connects)

    def socket_send(
        self,
        envelope_type: str,
        payload: JSON,
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout: float = 5.0,
    ) -> JSON:
        """Send an envelope over Socket Mode and return the app's ack (raises on timeout)."""
        return self._socket.send(
            envelope_type,
            payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            timeout=timeout,
        )

    def socket_disconnect(self, *, reason: str = "refresh_requested", hard: bool = False) -> int:
        """Send Slack's ``disconnect`` message (or close the sockets if ``hard``)."""
        return self._socket.disconnect(reason=reason, hard=hard)

    # -- hooks the driver uses -------------------------------------------------------------

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

    def issue_trigger_id(self, user_id: str) -> str:
        """A trigger_id ``views.open``/``views.push`` accept once within 3 seconds."""
        with self._changed:
            number = self.new_id("trigger")[len("trigger") :]
            digest = hashlib.sha1(number.encode()).hexdigest()[:24]
            trigger = f"{int(number)}.{self.team_id[1:] or '1'}.{digest}"
            self._triggers[trigger] = {"user": user_id, "issued": self._clock(), "used": False}
            return trigger

    def new_response_url(
        self,
        *,
        user_id: str,
        channel_id: str,
        message_ts: str | None = None,
        is_ephemeral: bool = False,
        thread_ts: str | None = None,
    ) -> str:
        """A unique response_url on the stand-in, bound to where the interaction happened."""
        with self._changed:
            rid = self.new_id("R")
            self._response_urls[rid] = _ResponseContext(
                user=user_id,
                channel=channel_id,
                message_ts=message_ts,
                is_ephemeral=is_ephemeral,
                thread_ts=thread_ts,
            )
            return f"{self.base_url}/response/{rid}"

    def apply_ack(self, *, user_id: str, channel_id: str, body: JSON) -> None:
        """Show a slash command's ack body the way Slack does (ephemeral unless in_channel)."""
        with self._changed:
            try:
                self._apply_message_response(
                    _ResponseContext(user=user_id, channel=channel_id), body, via="ack"
                )
            except _ApiError:
                return  # Slack shows the user an error; nothing is stored
            finally:
                self._touch()

    def apply_view_response(self, view_id: str, body: JSON | None) -> None:
        """Apply a view_submission ack: close, ``update``, ``push``, ``clear`` or ``errors``."""
        with self._changed:
            user = self._view_users[view_id]
            stack = self._stacks.get(user, [])
            reply = body or {}
            action = reply.get("response_action")
            new_view = reply.get("view")
            if action in ("update", "push") and (
                not isinstance(new_view, dict) or blockkit.validate_view(new_view)
            ):
                return  # Slack shows the user an error and leaves the modal as it was
            if action == "errors":
                return
            if action == "clear":
                for vid in stack:
                    self._view_open[vid] = False
                self._stacks[user] = []
            elif action == "update" and isinstance(new_view, dict):
                old = self._views[view_id]
                self._views[view_id] = self._build_view(
                    new_view,
                    view_id=view_id,
                    root=old["root_view_id"],
                    previous=old["previous_view_id"],
                )
            elif action == "push" and isinstance(new_view, dict):
                vid = self.new_id("V")
                root = stack[0] if stack else vid
                self._store_view(
                    self._build_view(
                        new_view,
                        view_id=vid,
                        root=root,
                        previous=view_id,
                    ),
                    user,
                )
                self._stacks.setdefault(user, []).append(vid)
            elif view_id in stack:
                # No response_action: Slack closes the submitted view.
                index = stack.index(view_id)
                for vid in stack[index:]:
                    self._view_open[vid] = False
                self._stacks[user] = stack[:index]
            self._touch()

    def post_user_message(
        self, user_id: str, channel: str, text: str, *, thread_ts: str | None = None
    ) -> JSON:
        """Store a message a person posted; returns it (the driver sends the event)."""
        with self._changed:
            conv = self._resolve(channel)
            if conv is None:
                raise KeyError(f"unknown channel {channel}")
            self._require_person_in(conv, user_id)
            parent = self._thread_parent(conv, thread_ts) if thread_ts else None
            message: JSON = {
                "type": "message",
                "user": user_id,
                "text": text,
                "ts": self.next_ts(),
                "team": self.team_id,
                "client_msg_id": self.new_id("msg"),
                "blocks": [],
            }
            self._append(conv, message, parent, broadcast=False)
            self._touch()
            return copy.deepcopy(message)

    def edit_user_message(
        self, user_id: str, channel: str, ts: str, text: str
    ) -> tuple[JSON, JSON]:
        """Change a person's message; returns (previous, current)."""
        with self._changed:
            conv, message = self._require_message(channel, ts)
            if message.get("user") != user_id or message.get("bot_id"):
                raise PermissionError(f"{user_id} did not post {ts}")
            previous = copy.deepcopy(message)
            message["text"] = text
            message["edited"] = {"user": user_id, "ts": self.next_ts()}
            self._touch()
            return previous, copy.deepcopy(message)

    def delete_user_message(self, user_id: str, channel: str, ts: str) -> JSON:
        """Remove a person's message; returns what it was."""
        with self._changed:
            conv, message = self._require_message(channel, ts)
            if message.get("user") != user_id or message.get("bot_id"):
                raise PermissionError(f"{user_id} did not post {ts}")
            self._remove(conv, message)
            self._touch()
            return copy.deepcopy(message)

    def add_reaction(self, user_id: str, channel: str, ts: str, name: str) -> JSON:
        """Store a person's reaction; returns the message reacted to."""
        with self._changed:
            _, message = self._require_message(channel, ts)
            self._react(message, user_id, name.strip(":"))
            self._touch()
            return copy.deepcopy(message)

    # -- HTTP plumbing ---------------------------------------------------------------------

    def _touch(self) -> None:
        with self._changed:
            self._version += 1
            self._changed.notify_all()

    def _handle_http(self, raw_path: str, headers: dict[str, str], body: bytes) -> _Reply:
        parts = urlsplit(raw_path)
        try:
            if parts.path == "/api/oauth.v2.access":
                return self._oauth_access(parts.query, headers, body)
            if parts.path == "/oauth/v2/authorize":
                return self._oauth_authorize(parts.query)
            if parts.path.startswith("/api/"):
                workspace = self._workspace_for_token(parts.query, headers, body)
                return workspace._api(parts.path[len("/api/") :], parts.query, headers, body)
            if parts.path.startswith("/upload/v1/"):
                file_id = parts.path[len("/upload/v1/") :]
                workspace = self._workspace_holding(lambda w: file_id in w._files)
                return workspace._upload(file_id, headers, body)
            if parts.path.startswith("/response/"):
                rid = parts.path[len("/response/") :]
                workspace = self._workspace_holding(lambda w: rid in w._response_urls)
                return workspace._response_url(rid, headers, body)
        except Exception as error:  # noqa: BLE001 - report stand-in bugs to the client
            return _Reply.json(
                500, {"ok": False, "error": "internal_error", "standin_exception": repr(error)}
            )
        return _Reply(404, {"Content-Type": "text/plain"}, b"not found\n")

    def _workspace_for_token(
        self, query: str, headers: dict[str, str], body: bytes
    ) -> SlackStandIn:
        """The workspace whose bot token the call carries (this one when none matches)."""
        if len(self._workspaces) == 1:
            return self
        token = _bearer(headers)
        if token is None:
            try:
                token = _text_of(
                    _parse_params(headers.get("content-type", ""), query, body).get("token")
                )
            except _ApiError:
                return self
        for workspace in self._workspaces:
            if token == workspace.bot_token:
                return workspace
        return self

    def _workspace_holding(self, holds: Callable[[SlackStandIn], bool]) -> SlackStandIn:
        for workspace in self._workspaces:
            with workspace._lock:
                if holds(workspace):
                    return workspace
        return self

    def _oauth_authorize(self, query: str) -> _Reply:
        """The person clicks "Allow" on Slack's install page: back to the app with a code."""
        params = dict(parse_qsl(query, keep_blank_values=True))
        if params.get("client_id") != self.client_id:
            return _Reply(400, {"Content-Type": "text/plain"}, b"invalid_client_id\n")
        try:
            workspace = self.workspace(params.get("team") or self.team_id)
        except KeyError:
            return _Reply(400, {"Content-Type": "text/plain"}, b"unknown team\n")
        target = params.get("redirect_uri") or self.oauth_redirect_url
        if not target:
            return _Reply(400, {"Content-Type": "text/plain"}, b"no redirect URL configured\n")
        with self._changed:
            code = f"code-{self.new_id('oauth')}"
            installer = next(
                (u.id for u in workspace._users.values() if u.is_admin and not u.is_bot), None
            )
            self._codes[code] = {
                "team_id": workspace.team_id,
                "scope": params.get("scope", ""),
                "redirect_uri": params.get("redirect_uri"),
                "installer": installer,
            }
        query_back = urlencode({"code": code, "state": params.get("state", "")})
        separator = "&" if "?" in target else "?"
        return _Reply(302, {"Location": f"{target}{separator}{query_back}"}, b"")

    def _oauth_access(self, query: str, headers: dict[str, str], body: bytes) -> _Reply:
        """oauth.v2.access: the app trades a code for the workspace's bot token."""
        try:
            params = _parse_params(headers.get("content-type", ""), query, body)
        except _ApiError as error:
            params, status, payload = {}, error.status, {"ok": False, "error": error.error}
        else:
            client_id, client_secret = _basic(headers) or (
                _text_of(params.get("client_id")),
                _text_of(params.get("client_secret")),
            )
            with self._changed:
                grant = self._codes.pop(_text_of(params.get("code")), None)
            status = 200
            if client_id != self.client_id:
                payload = {"ok": False, "error": "invalid_client_id"}
            elif client_secret != self.client_secret:
                payload = {"ok": False, "error": "bad_client_secret"}
            elif grant is None:
                payload = {"ok": False, "error": "invalid_code"}
            elif grant["redirect_uri"] != (_text_of(params.get("redirect_uri")) or None):
                payload = {"ok": False, "error": "bad_redirect_uri"}
            else:
                workspace = self.workspace(grant["team_id"])
                with workspace._changed:
                    workspace.revoked = False  # installing again gives the token back
                    workspace._touch()
                payload = {
                    "ok": True,
                    "app_id": workspace.app_id,
                    "authed_user": {"id": grant["installer"]},
                    "scope": grant["scope"],
                    "token_type": "bot",
                    "access_token": workspace.bot_token,
                    "bot_user_id": workspace.bot_user_id,
                    "team": {"id": workspace.team_id, "name": workspace.team_name},
                    "enterprise": None,
                    "is_enterprise_install": False,
                }
        with self._changed:
            safe = {k: v for k, v in params.items() if k != "client_secret"}
            self._calls.append(
                {
                    "method": "oauth.v2.access",
                    "params": safe,
                    "headers": {k: v for k, v in headers.items() if k != "authorization"},
                    "token": None,
                    "token_type": None,
                    "status": status,
                    "response": copy.deepcopy(payload),
                }
            )
            self._touch()
        return _Reply.json(status, payload)

    def _api(self, method: str, query: str, headers: dict[str, str], body: bytes) -> _Reply:
        with self._lock:
            delay = self._delays.get(method, 0.0)
        if delay:
            time.sleep(delay)  # injected latency, not test timing
        with self._changed:
            gate = self._holds.get(method)
            if gate is not None:
                self._held[method] = self._held.get(method, 0) + 1
                self._changed.notify_all()
        if gate is not None:
            gate.wait(timeout=30)  # until the test releases it
            with self._changed:
                self._held[method] -= 1
        extra_headers: dict[str, str] = {}
        try:
            params = _parse_params(headers.get("content-type", ""), query, body)
        except _ApiError as error:
            params = {"_raw": body.decode("utf-8", "replace")}
            status, payload = error.status, {"ok": False, "error": error.error}
            token, token_type = None, None
        else:
            token = _bearer(headers) or _text_of(params.pop("token", None)) or None
            token_type = (
                "bot" if token == self.bot_token else "app" if token == self.app_token else None
            )
            if token_type == "bot" and self.revoked:
                token_type = "revoked"
            with self._lock:
                status, extra_headers, payload = self._call(method, params, token, token_type)
        with self._changed:
            self._calls.append(
                {
                    "method": method,
                    "params": copy.deepcopy(params),
                    "headers": dict(headers),
                    "token": token,
                    "token_type": token_type,
                    "status": status,
                    "response": copy.deepcopy(payload),
                }
            )
            self._touch()
        reply = _Reply.json(status, payload, extra_headers)
        with self._lock:
            queue = self._lost.get(method)
            if queue:
                reply.lost = queue[0]
                queue[0].remaining -= 1
                if queue[0].remaining <= 0:
                    queue.pop(0)
        return reply

    def _call(
        self, method: str, params: JSON, token: str | None, token_type: str | None
    ) -> tuple[int, dict[str, str], JSON]:
        stats = self._stats.setdefault(
            method, {"calls": 0, "accepted": 0, "rate_limited": 0, "faulted": 0, "errors": 0}
        )
        stats["calls"] += 1
        handler = self._handlers.get(method)
        if handler is None:
            stats["errors"] += 1
            return 404, {}, {"ok": False, "error": "unknown_method", "req_method": method}
        if not token:
            stats["errors"] += 1
            return 200, {}, {"ok": False, "error": "not_authed"}
        if token_type is None:
            stats["errors"] += 1
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        if token_type == "revoked":
            stats["errors"] += 1
            return 200, {}, {"ok": False, "error": "token_revoked"}
        needs_app = method in _APP_TOKEN_METHODS
        if method not in _ANY_TOKEN_METHODS and needs_app != (token_type == "app"):
            stats["errors"] += 1
            return 200, {}, {"ok": False, "error": "not_allowed_token_type"}
        fault = self._take_fault(method)
        if fault is not None:
            stats["faulted"] += 1
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
            return fault.status, headers, {"ok": False, "error": fault.error}
        retry_after = self._take_token(method, params)
        if retry_after is not None:
            stats["rate_limited"] += 1
            return 429, {"Retry-After": str(retry_after)}, {"ok": False, "error": "ratelimited"}
        stats["accepted"] += 1
        try:
            result = handler(params)
        except _ApiError as error:
            stats["errors"] += 1
            return error.status, {}, {"ok": False, "error": error.error, **error.extra}
        return 200, {}, {"ok": True, **result}

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.pop(0)
        return fault

    def _take_token(self, method: str, params: JSON) -> int | None:
        limit = self._rate_limits.get(method)
        if limit is None:
            return None
        key = "workspace"
        if limit.scope == "channel":
            channel = _text_of(params.get("channel") or params.get("channel_id"))
            conv = self._lookup(channel)
            if conv is not None and conv.kind == "im":
                key = f"im:{conv.user}"  # a user id and its D… id share one bucket
            elif channel[:1] in ("U", "W"):
                key = f"im:{channel}"
            else:
                key = conv.id if conv is not None else channel
        now = self._clock()
        tokens, last = limit.buckets.get(key, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + (now - last) * limit.per_second)
        if tokens >= 1.0:
            limit.buckets[key] = (tokens - 1.0, now)
            return None
        limit.buckets[key] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / limit.per_second))

    def _upload(self, file_id: str, headers: dict[str, str], body: bytes) -> _Reply:
        data = body
        content_type = headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            parts = _parse_multipart(content_type, body)
            files = [value for value in parts.values() if isinstance(value, bytes)]
            data = files[0] if files else b""
        with self._changed:
            record = self._files.get(file_id)
            ok = record is not None and not record["completed"]
            if record is not None and ok:
                record["bytes"] = data
            self._calls.append(
                {
                    "method": "upload_url",
                    "params": {"file_id": file_id, "size": len(data)},
                    "headers": dict(headers),
                    "token": None,
                    "token_type": None,
                    "status": 200 if ok else 404,
                    "response": {},
                }
            )
            self._touch()
        if not ok:
            return _Reply(404, {"Content-Type": "text/plain"}, b"file not found\n")
        return _Reply(200, {"Content-Type": "text/plain"}, f"OK - {len(data)}".encode())

    def _response_url(self, rid: str, headers: dict[str, str], body: bytes) -> _Reply:
        try:
            payload = _parse_response_body(headers.get("content-type", ""), body)
        except ValueError:
            return _Reply.json(400, {"ok": False, "error": "invalid_payload"})
        with self._changed:
            context = self._response_urls.get(rid)
            status = 200
            answer: JSON = {"ok": True}
            if context is None:
                status, answer = 404, {"ok": False, "error": "expired_url"}
            else:
                context.uses += 1
                if context.uses > RESPONSE_URL_MAX_USES:
                    status, answer = 404, {"ok": False, "error": "used_url"}
                else:
                    try:
                        self._apply_message_response(context, payload, via="response_url")
                    except _ApiError as error:
                        status, answer = 400, {"ok": False, "error": error.error, **error.extra}
            self._responses.append(
                {
                    "url": f"{self.base_url}/response/{rid}",
                    "body": copy.deepcopy(payload),
                    "status": status,
                    "user": context.user if context else None,
                    "channel": context.channel if context else None,
                    "message_ts": context.message_ts if context else None,
                }
            )
            self._calls.append(
                {
                    "method": "response_url",
                    "params": copy.deepcopy(payload),
                    "headers": dict(headers),
                    "token": None,
                    "token_type": None,
                    "status": status,
                    "response": dict(answer),
                }
            )
            self._touch()
        return _Reply.json(status, answer)

    # -- state helpers (call with the lock held) -------------------------------------------

    def _short_id(self) -> str:
        number = self._counters.get("_short", 0) + 1
        self._counters["_short"] = number
        digest = hashlib.sha1(str(number).encode()).digest()
        return base64.b32encode(digest).decode()[:5]

    def _lookup(self, channel: str | None) -> _Conversation | None:
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

    def _resolve(self, channel: str | None) -> _Conversation | None:
        """Like ``_lookup``, but a user id means the bot's DM with that user (opened if needed)."""
        if channel and channel[:1] in ("U", "W") and channel in self._users:
            return self._dm(channel)
        return self._lookup(channel)

    def _dm(self, user_id: str) -> _Conversation:
        if user_id not in self._dms:
            did = self.new_id("D")
            self._channels[did] = _Conversation(
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

    def _visible(self, channel: object) -> _Conversation:
        """A conversation the bot can see; private channels it is not in do not exist for it."""
        conv = self._lookup(_text_of(channel)) if _text_of(channel)[:1] not in ("U", "W") else None
        if conv is None or (conv.kind == "private" and not conv.bot_is_member):
            raise _ApiError("channel_not_found")
        return conv

    def _post_target(self, channel: object) -> _Conversation:
        """Resolve chat.postMessage's ``channel``: a channel or DM id, a name, or a user id."""
        cid = _text_of(channel)
        if cid[:1] in ("U", "W"):
            user = self._users.get(cid)
            if user is None:
                raise _ApiError("channel_not_found")
            if cid == self.bot_user_id:
                raise _ApiError("cannot_dm_bot")
            if user.deleted:
                raise _ApiError("user_not_found")
            return self._dm(cid)
        conv = self._visible(cid)
        if conv.is_archived:
            raise _ApiError("is_archived")
        if not conv.bot_is_member:
            raise _ApiError("not_in_channel")
        if conv.kind == "im" and conv.user and self._users[conv.user].deleted:
            raise _ApiError("user_not_found")
        return conv

    def _require_person_in(self, conv: _Conversation, user_id: str) -> None:
        if user_id not in self._users:
            raise KeyError(f"unknown user {user_id}")
        if conv.kind == "im":
            if conv.user != user_id:
                raise PermissionError(f"{user_id} is not in DM {conv.id}")
        elif user_id not in conv.members:
            raise PermissionError(f"{user_id} is not a member of {conv.id}")

    def _require_message(self, channel: str, ts: str) -> tuple[_Conversation, JSON]:
        conv = self._resolve(channel)
        if conv is None:
            raise KeyError(f"unknown channel {channel}")
        message = self._find(conv, ts)
        if message is None:
            raise KeyError(f"no message {ts} in {channel}")
        return conv, message

    @staticmethod
    def _find(conv: _Conversation, ts: object) -> JSON | None:
        for message in conv.messages:
            if message["ts"] == ts:
                return message
        return None

    @staticmethod
    def _is_top_level(message: JSON) -> bool:
        thread_ts = message.get("thread_ts")
        return (
            thread_ts is None
            or thread_ts == message["ts"]
            or message.get("subtype") == "thread_broadcast"
        )

    def _thread_parent(self, conv: _Conversation, thread_ts: object) -> str | None:
        if thread_ts in (None, ""):
            return None
        parent = self._find(conv, thread_ts)
        if parent is None:
            raise _ApiError("thread_not_found")
        parent_ts = parent.get("thread_ts")
        return parent_ts if isinstance(parent_ts, str) else str(parent["ts"])

    def _append(
        self, conv: _Conversation, message: JSON, thread_ts: str | None, *, broadcast: bool
    ) -> None:
        if thread_ts is not None:
            parent = self._find(conv, thread_ts)
            if parent is not None:
                message["thread_ts"] = thread_ts
                message["parent_user_id"] = parent.get("user")
                if broadcast:
                    message["subtype"] = "thread_broadcast"
                author = message.get("user")
                parent["thread_ts"] = parent["ts"]
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                users = list(parent.get("reply_users", []))
                if author and author not in users:
                    users.append(author)
                parent["reply_users"] = users
                parent["reply_users_count"] = len(users)
                parent["latest_reply"] = message["ts"]
        conv.messages.append(message)

    def _remove(self, conv: _Conversation, message: JSON) -> None:
        conv.messages.remove(message)
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != message["ts"]:
            parent = self._find(conv, thread_ts)
            if parent is not None and parent.get("reply_count"):
                parent["reply_count"] -= 1
                replies = [m for m in conv.messages if m.get("thread_ts") == thread_ts]
                replies = [m for m in replies if m["ts"] != thread_ts]
                parent["latest_reply"] = replies[-1]["ts"] if replies else parent["ts"]

    @staticmethod
    def _react(message: JSON, user_id: str, name: str) -> None:
        if not name:
            raise _ApiError("invalid_name")
        reactions: list[JSON] = message.setdefault("reactions", [])
        for reaction in reactions:
            if reaction["name"] == name:
                if user_id in reaction["users"]:
                    raise _ApiError("already_reacted")
                reaction["users"].append(user_id)
                reaction["count"] = len(reaction["users"])
                return
        reactions.append({"name": name, "users": [user_id], "count": 1})

    def _fill_ids(self, blocks: list[Any]) -> list[Any]:
        """Copy blocks, adding the block_id/action_id Slack generates when they are missing."""
        filled = copy.deepcopy(blocks)
        for block in filled:
            if isinstance(block, dict) and "block_id" not in block:
                block["block_id"] = self._short_id()
        for _, element in blockkit.interactive_elements(filled):
            if isinstance(element, dict) and "action_id" not in element:
                element["action_id"] = self._short_id()
        return filled

    def _message_content(self, params: JSON, *, previous: JSON | None = None) -> JSON:
        """Validate text/blocks/attachments/metadata; returns the fields to store."""
        text = params.get("text", previous.get("text") if previous else None)
        text = "" if text is None else str(text)
        blocks = params["blocks"] if "blocks" in params else (previous or {}).get("blocks")
        if blocks in ("", None):
            blocks = None
        elif not isinstance(blocks, list):
            raise _ApiError("invalid_blocks_format")
        if "attachments" in params:
            attachments = params["attachments"]
        else:
            attachments = (previous or {}).get("attachments")
        if attachments in ("", None):
            attachments = None
        elif not isinstance(attachments, list):
            raise _ApiError("invalid_attachments")
        elif len(attachments) > blockkit.MESSAGE_MAX_ATTACHMENTS:
            raise _ApiError("too_many_attachments")
        errors = blockkit.validate_message({"blocks": blocks, "attachments": attachments})
        if errors:
            raise _invalid_blocks(errors)
        if not text.strip() and (blocks or not attachments):
            raise _ApiError("no_text")
        content: JSON = {"text": text[: blockkit.MESSAGE_TEXT_MAX]}
        content["blocks"] = self._fill_ids(blocks) if blocks else []
        if attachments:
            content["attachments"] = copy.deepcopy(attachments)
        metadata = params.get("metadata", (previous or {}).get("metadata"))
        if metadata not in (None, ""):
            if (
                not isinstance(metadata, dict)
                or not isinstance(metadata.get("event_type"), str)
                or not isinstance(metadata.get("event_payload", {}), dict)
            ):
                raise _ApiError("invalid_metadata_format")
            content["metadata"] = copy.deepcopy(metadata)
        return content

    def _bot_message(self, content: JSON) -> JSON:
        message: JSON = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": self.next_ts(),
            "bot_profile": {
                "id": self.bot_id,
                "app_id": self.app_id,
                "name": self.bot_name,
                "team_id": self.team_id,
                "deleted": False,
            },
        }
        message.update(content)
        return message

    def _apply_message_response(self, context: _ResponseContext, body: JSON, *, via: str) -> None:
        conv = self._lookup(context.channel)
        if _flag(body.get("delete_original")):
            if context.is_ephemeral:
                self._ephemerals[:] = [
                    e for e in self._ephemerals if e["message_ts"] != context.message_ts
                ]
            elif conv is not None and context.message_ts:
                original = self._find(conv, context.message_ts)
                if original is not None:
                    self._remove(conv, original)
            return
        replace = _flag(body.get("replace_original")) and context.message_ts is not None
        if replace and context.is_ephemeral:
            content = self._message_content(body)
            for ephemeral in self._ephemerals:
                if ephemeral["message_ts"] == context.message_ts:
                    ephemeral.update(content)
            return
        if replace and conv is not None:
            original = self._find(conv, context.message_ts)
            if original is not None:
                content = self._message_content(body)
                original.update(content)
                if "attachments" not in content:
                    original.pop("attachments", None)
                return
        content = self._message_content(body)
        if conv is None:
            raise _ApiError("channel_not_found")
        if body.get("response_type") == "in_channel":
            parent = self._thread_parent(conv, body.get("thread_ts") or context.thread_ts)
            self._append(conv, self._bot_message(content), parent, broadcast=False)
            return
        ts = self.next_ts()
        self._ephemerals.append(
            {
                "channel": conv.id,
                "user": context.user,
                "ts": ts,
                "message_ts": ts,
                "thread_ts": body.get("thread_ts") or context.thread_ts,
                "via": via,
                **content,
            }
        )

    def _user_object(self, user: _User) -> JSON:
        local = self._wall_clock().astimezone(ZoneInfo(user.tz))
        offset = local.utcoffset()
        profile: JSON = {
            "real_name": user.real_name,
            "real_name_normalized": user.real_name,
            "display_name": user.display_name,
            "display_name_normalized": user.display_name,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "team": self.team_id,
            "status_text": "",
            "status_emoji": "",
        }
        if user.is_bot and user.id == self.bot_user_id:
            profile["bot_id"] = self.bot_id
            profile["api_app_id"] = self.app_id
        return {
            "id": user.id,
            "team_id": self.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "color": "9f69e7",
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": local.tzname() or user.tz,
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "locale": user.locale,
            "profile": profile,
            "is_admin": user.is_admin,
            "is_owner": user.is_owner,
            "is_primary_owner": user.is_owner,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
        }

    def _channel_object(self, conv: _Conversation) -> JSON:
        if conv.kind == "im":
            user = self._users.get(conv.user or "")
            return {
                "id": conv.id,
                "created": conv.created,
                "is_channel": False,
                "is_group": False,
                "is_im": True,
                "is_mpim": False,
                "is_private": True,
                "is_archived": False,
                "is_member": True,
                "is_org_shared": False,
                "user": conv.user,
                "is_user_deleted": bool(user and user.deleted),
                "priority": 0,
            }
        return {
            "id": conv.id,
            "name": conv.name,
            "name_normalized": conv.name,
            "created": conv.created,
            "creator": "",
            "is_channel": conv.kind == "public",
            "is_group": conv.kind == "private",
            "is_im": False,
            "is_mpim": False,
            "is_private": conv.kind == "private",
            "is_archived": conv.is_archived,
            "is_general": False,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": conv.bot_is_member,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "num_members": len(conv.members) + (1 if conv.bot_is_member else 0),
        }

    def _members_of(self, conv: _Conversation) -> list[str]:
        if conv.kind == "im":
            return [conv.user or "", self.bot_user_id]
        return conv.members + ([self.bot_user_id] if conv.bot_is_member else [])

    def _view_param(self, params: JSON, *, kind: str) -> JSON:
        view = params.get("view")
        if not isinstance(view, dict):
            raise _ApiError(
                "invalid_arguments",
                extra={"response_metadata": {"messages": ["[ERROR] view: must be a JSON object"]}},
            )
        errors = blockkit.validate_view(view)
        if not errors and view.get("type") != kind:
            errors = [f"view.type: must be '{kind}' for this method"]
        if errors:
            raise _ApiError(
                "invalid_arguments",
                extra={"response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]}},
            )
        return view

    def _build_view(
        self, view: JSON, *, view_id: str, root: str | None, previous: str | None
    ) -> JSON:
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type"),
            "blocks": self._fill_ids(list(view.get("blocks") or [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{self._ts_micros // 1_000_000}.{self._short_id()}",
            "title": copy.deepcopy(view.get("title")),
            "close": copy.deepcopy(view.get("close")),
            "submit": copy.deepcopy(view.get("submit")),
            "clear_on_close": _flag(view.get("clear_on_close")),
            "notify_on_close": _flag(view.get("notify_on_close")),
            "previous_view_id": previous,
            "root_view_id": root,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }

    def _store_view(self, view: JSON, user: str) -> None:
        vid = view["id"]
        if vid not in self._views:
            self._view_order.append(vid)
        self._views[vid] = view
        self._view_users[vid] = user
        self._view_open[vid] = True

    def _take_trigger(self, params: JSON) -> str:
        """Check a trigger_id (issued, unused, under 3 s old); returns its user."""
        trigger = self._triggers.get(_text_of(params.get("trigger_id")))
        if trigger is None:
            raise _ApiError("invalid_trigger_id")
        if trigger["used"]:
            raise _ApiError("exchanged_trigger_id")
        if self._clock() - trigger["issued"] > TRIGGER_LIFETIME_SECONDS:
            raise _ApiError("expired_trigger_id")
        return str(trigger["user"])

    def _paginate(
        self, items: list[Any], params: JSON, *, default_limit: int
    ) -> tuple[list[Any], str]:
        try:
            limit = int(params.get("limit") or default_limit)
        except (TypeError, ValueError):
            raise _ApiError("invalid_limit") from None
        limit = min(limit, 1000)
        offset = 0
        cursor = _text_of(params.get("cursor"))
        if cursor:
            try:
                label, _, number = base64.b64decode(cursor.encode()).decode().partition(":")
                offset = int(number)
            except (ValueError, UnicodeDecodeError):
                raise _ApiError("invalid_cursor") from None
            if label != "offset" or offset < 0:
                raise _ApiError("invalid_cursor")
        if limit <= 0:
            return items[offset:], ""
        end = offset + limit
        next_cursor = (
            base64.b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""
        )
        return items[offset:end], next_cursor

    # -- Web API methods (called with the lock held; raise _ApiError before any change) ----

    def _auth_test(self, params: JSON) -> JSON:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: JSON) -> JSON:
        conv = self._post_target(params.get("channel"))
        content = self._message_content(params)
        parent = self._thread_parent(conv, params.get("thread_ts"))
        message = self._bot_message(content)
        self._append(conv, message, parent, broadcast=_flag(params.get("reply_broadcast")))
        return {"channel": conv.id, "ts": message["ts"], "message": copy.deepcopy(message)}

    def _chat_update(self, params: JSON) -> JSON:
        conv = self._visible(params.get("channel"))
        if conv.is_archived:
            raise _ApiError("is_archived")
        message = self._find(conv, params.get("ts"))
        if message is None:
            raise _ApiError("message_not_found")
        if message.get("bot_id") != self.bot_id:
            raise _ApiError("cant_update_message")
        content = self._message_content(params, previous=message)
        message.update(content)
        if "attachments" not in content:
            message.pop("attachments", None)
        message["edited"] = {"user": self.bot_user_id, "ts": self.next_ts()}
        return {
            "channel": conv.id,
            "ts": message["ts"],
            "text": message["text"],
            "message": copy.deepcopy(message),
        }

    def _chat_post_ephemeral(self, params: JSON) -> JSON:
        conv = self._post_target(params.get("channel"))
        user_id = _text_of(params.get("user"))
        user = self._users.get(user_id)
        if user is None or user.deleted:
            raise _ApiError("user_not_found")
        if user_id not in self._members_of(conv):
            raise _ApiError("user_not_in_channel")
        content = self._message_content(params)
        ts = self.next_ts()
        self._ephemerals.append(
            {
                "channel": conv.id,
                "user": user_id,
                "ts": ts,
                "message_ts": ts,
                "thread_ts": params.get("thread_ts") or None,
                "via": "chat.postEphemeral",
                **content,
            }
        )
        return {"message_ts": ts}

    def _chat_get_permalink(self, params: JSON) -> JSON:
        conv = self._visible(params.get("channel"))
        message = self._find(conv, params.get("message_ts"))
        if message is None:
            raise _ApiError("message_not_found")
        archive = f"https://{self.team_domain}.slack.com/archives/{conv.id}"
        link = f"{archive}/p{message['ts'].replace('.', '')}"
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != message["ts"]:
            link += f"?thread_ts={thread_ts}&cid={conv.id}"
        return {"channel": conv.id, "permalink": link}

    def _chat_delete(self, params: JSON) -> JSON:
        conv = self._visible(params.get("channel"))
        message = self._find(conv, params.get("ts"))
        if message is None:
            raise _ApiError("message_not_found")
        if message.get("bot_id") != self.bot_id:
            raise _ApiError("cant_delete_message")
        self._remove(conv, message)
        return {"channel": conv.id, "ts": message["ts"]}

    def _conversations_open(self, params: JSON) -> JSON:
        if params.get("channel"):
            conv = self._visible(params["channel"])
            return {"channel": {"id": conv.id}, "no_op": True, "already_open": True}
        users = [u.strip() for u in _text_of(params.get("users")).split(",") if u.strip()]
        if not users:
            raise _ApiError("users_list_not_supplied")
        if len(users) > 1:
            raise _ApiError("mpim_not_supported_by_standin")
        user = self._users.get(users[0])
        if user is None:
            raise _ApiError("user_not_found")
        if user.id == self.bot_user_id:
            raise _ApiError("cannot_dm_bot")
        if user.deleted:
            raise _ApiError("user_disabled")
        existed = user.id in self._dms
        conv = self._dm(user.id)
        channel = self._channel_object(conv) if _flag(params.get("return_im")) else {"id": conv.id}
        result: JSON = {"channel": channel}
        if existed:
            result.update({"no_op": True, "already_open": True})
        return result

    def _conversations_info(self, params: JSON) -> JSON:
        return {"channel": self._channel_object(self._visible(params.get("channel")))}

    def _conversations_members(self, params: JSON) -> JSON:
        conv = self._visible(params.get("channel"))
        page, cursor = self._paginate(self._members_of(conv), params, default_limit=100)
        return {"members": page, "response_metadata": {"next_cursor": cursor}}

    def _conversations_join(self, params: JSON) -> JSON:
        conv = self._visible(params.get("channel"))
        if conv.kind != "public":
            raise _ApiError("method_not_supported_for_channel_type")
        if conv.is_archived:
            raise _ApiError("is_archived")
        result: JSON = {}
        if conv.bot_is_member:
            result["warning"] = "already_in_channel"
        conv.bot_is_member = True
        result["channel"] = self._channel_object(conv)
        return result

    def _conversations_list(self, params: JSON) -> JSON:
        """Public channels, and private ones the bot is in (as Slack shows a bot)."""
        types = set(_text_of(params.get("types") or "public_channel").split(","))
        wanted = {"public_channel": "public", "private_channel": "private"}
        kinds = {wanted[t.strip()] for t in types if t.strip() in wanted}
        shown = [
            self._channel_object(conv)
            for conv in self._channels.values()
            if conv.kind in kinds
            and (conv.kind == "public" or conv.bot_is_member)
            and not (_flag(params.get("exclude_archived")) and conv.is_archived)
        ]
        page, cursor = self._paginate(shown, params, default_limit=100)
        return {"channels": page, "response_metadata": {"next_cursor": cursor}}

    def _readable(self, params: JSON) -> _Conversation:
        conv = self._visible(params.get("channel"))
        if not conv.bot_is_member:
            raise _ApiError("not_in_channel")
        return conv

    def _history_view(self, message: JSON, params: JSON) -> JSON:
        shown = copy.deepcopy(message)
        if not _flag(params.get("include_all_metadata")):
            shown.pop("metadata", None)
        return shown

    def _conversations_history(self, params: JSON) -> JSON:
        conv = self._readable(params)
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or math.inf)
        newest_first = [
            m
            for m in reversed(conv.messages)
            if self._is_top_level(m) and oldest < float(m["ts"]) < latest
        ]
        page, cursor = self._paginate(newest_first, params, default_limit=100)
        return {
            "messages": [self._history_view(m, params) for m in page],
            "has_more": bool(cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversations_replies(self, params: JSON) -> JSON:
        conv = self._readable(params)
        message = self._find(conv, params.get("ts"))
        if message is None:
            raise _ApiError("thread_not_found")
        root = message.get("thread_ts") or message["ts"]
        thread = [m for m in conv.messages if m["ts"] == root or m.get("thread_ts") == root]
        page, cursor = self._paginate(thread, params, default_limit=1000)
        return {
            "messages": [self._history_view(m, params) for m in page],
            "has_more": bool(cursor),
            "response_metadata": {"next_cursor": cursor},
        }

    def _users_info(self, params: JSON) -> JSON:
        user = self._users.get(_text_of(params.get("user")))
        if user is None:
            raise _ApiError("user_not_found")
        shown = self._user_object(user)
        if not _flag(params.get("include_locale")):
            shown.pop("locale")
        return {"user": shown}

    def _users_list(self, params: JSON) -> JSON:
        members = [self._user_object(u) for u in self._users.values()]
        if not _flag(params.get("include_locale")):
            for member in members:
                member.pop("locale")
        page, cursor = self._paginate(members, params, default_limit=0)
        return {
            "members": page,
            "cache_ts": int(self.now()),
            "response_metadata": {"next_cursor": cursor},
        }

    def _usergroups_list(self, params: JSON) -> JSON:
        groups = []
        for group in self._usergroups.values():
            shown: JSON = {
                "id": group["id"],
                "team_id": self.team_id,
                "is_usergroup": True,
                "name": group["name"],
                "handle": group["handle"],
                "description": "",
                "date_delete": 0,
                "user_count": len(group["users"]),
            }
            if _flag(params.get("include_users")):
                shown["users"] = list(group["users"])
            groups.append(shown)
        return {"usergroups": groups}

    def _usergroups_users_list(self, params: JSON) -> JSON:
        group = self._usergroups.get(_text_of(params.get("usergroup")))
        if group is None:
            raise _ApiError("no_such_subteam")
        return {"users": list(group["users"])}

    def _views_publish(self, params: JSON) -> JSON:
        user_id = _text_of(params.get("user_id"))
        if user_id not in self._users:
            raise _ApiError("user_not_found")
        view = self._view_param(params, kind="home")
        existing = self._homes.get(user_id)
        if existing and params.get("hash") and params["hash"] != self._views[existing]["hash"]:
            raise _ApiError("hash_conflict")
        vid = existing or self.new_id("V")
        stored = self._build_view(view, view_id=vid, root=None, previous=None)
        self._store_view(stored, user_id)
        self._homes[user_id] = vid
        return {"view": copy.deepcopy(stored)}

    def _views_open(self, params: JSON) -> JSON:
        user = self._take_trigger(params)
        view = self._view_param(params, kind="modal")
        self._triggers[_text_of(params.get("trigger_id"))]["used"] = True
        vid = self.new_id("V")
        stored = self._build_view(view, view_id=vid, root=vid, previous=None)
        for old in self._stacks.get(user, []):
            self._view_open[old] = False
        self._store_view(stored, user)
        self._stacks[user] = [vid]
        return {"view": copy.deepcopy(stored)}

    def _views_update(self, params: JSON) -> JSON:
        vid = _text_of(params.get("view_id"))
        external = _text_of(params.get("external_id"))
        if not vid and external:
            vid = next((v for v, s in self._views.items() if s["external_id"] == external), "")
        old = self._views.get(vid)
        if old is None:
            raise _ApiError("not_found")
        if params.get("hash") and params["hash"] != old["hash"]:
            raise _ApiError("hash_conflict")
        view = self._view_param(params, kind=str(old["type"]))
        stored = self._build_view(
            view, view_id=vid, root=old["root_view_id"], previous=old["previous_view_id"]
        )
        self._views[vid] = stored
        return {"view": copy.deepcopy(stored)}

    def _views_push(self, params: JSON) -> JSON:
        user = self._take_trigger(params)
        view = self._view_param(params, kind="modal")
        stack = self._stacks.get(user, [])
        if not stack:
            raise _ApiError("not_found")
        if len(stack) >= MAX_VIEW_STACK:
            raise _ApiError("push_limit_reached")
        self._triggers[_text_of(params.get("trigger_id"))]["used"] = True
        vid = self.new_id("V")
        stored = self._build_view(view, view_id=vid, root=stack[0], previous=stack[-1])
        self._store_view(stored, user)
        stack.append(vid)
        return {"view": copy.deepcopy(stored)}

    def _reactions_add(self, params: JSON) -> JSON:
        conv = self._readable(params)
        message = self._find(conv, params.get("timestamp"))
        if message is None:
            raise _ApiError("message_not_found")
        self._react(message, self.bot_user_id, _text_of(params.get("name")).strip(":"))
        return {}

    def _reactions_remove(self, params: JSON) -> JSON:
        conv = self._readable(params)
        message = self._find(conv, params.get("timestamp"))
        if message is None:
            raise _ApiError("message_not_found")
        name = _text_of(params.get("name")).strip(":")
        for reaction in message.get("reactions", []):
            if reaction["name"] == name and self.bot_user_id in reaction["users"]:
                reaction["users"].remove(self.bot_user_id)
                reaction["count"] = len(reaction["users"])
                message["reactions"] = [r for r in message["reactions"] if r["count"]]
                return {}
        raise _ApiError("no_reaction")

    def _files_get_upload_url(self, params: JSON) -> JSON:
        filename = _text_of(params.get("filename"))
        try:
            length = int(params.get("length") or 0)
        except (TypeError, ValueError):
            length = 0
        if not filename or length <= 0:
            raise _ApiError("invalid_arguments")
        fid = self.new_id("F")
        self._files[fid] = {
            "id": fid,
            "name": filename,
            "title": filename,
            "length": length,
            "alt_txt": params.get("alt_txt"),
            "snippet_type": params.get("snippet_type"),
            "bytes": None,
            "completed": False,
            "channel": None,
            "channels": [],
            "initial_comment": None,
            "thread_ts": None,
        }
        return {"upload_url": f"{self.base_url}/upload/v1/{fid}", "file_id": fid}

    def _files_complete_upload(self, params: JSON) -> JSON:
        entries = params.get("files")
        if not isinstance(entries, list) or not entries:
            raise _ApiError("invalid_arguments")
        records: list[tuple[JSON, str]] = []
        for entry in entries:
            record = self._files.get(_text_of(entry.get("id")) if isinstance(entry, dict) else "")
            if record is None or record["bytes"] is None or record["completed"]:
                raise _ApiError("file_not_found")
            title = entry.get("title") or record["name"]
            records.append((record, str(title)))
        channel_ids = [c for c in _text_of(params.get("channels")).split(",") if c.strip()]
        if params.get("channel_id"):
            channel_ids.insert(0, _text_of(params["channel_id"]))
        convs = [self._post_target(c.strip()) for c in channel_ids]
        comment = params.get("initial_comment") or None
        parents = [self._thread_parent(conv, params.get("thread_ts")) for conv in convs]
        shown_files = []
        for record, title in records:
            record.update(
                {
                    "title": title,
                    "completed": True,
                    "channel": convs[0].id if convs else None,
                    "channels": [c.id for c in convs],
                    "initial_comment": comment,
                    "thread_ts": parents[0] if parents else None,
                }
            )
            shown_files.append(
                {
                    "id": record["id"],
                    "name": record["name"],
                    "title": title,
                    "size": len(record["bytes"]),
                    "permalink": f"https://{self.team_domain}.slack.com/files/"
                    f"{self.bot_user_id}/{record['id']}/{record['name']}",
                }
            )
        for conv, parent in zip(convs, parents, strict=True):
            message = self._bot_message({"text": comment or "", "blocks": []})
            message["files"] = copy.deepcopy(shown_files)
            message["upload"] = True
            self._append(conv, message, parent, broadcast=False)
        return {"files": shown_files}

    def _apps_connections_open(self, params: JSON) -> JSON:
        return {"url": self._socket.issue_url()}


def _basic(headers: Mapping[str, str]) -> tuple[str, str] | None:
    value = headers.get("authorization", "")
    if not value.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(value[6:].strip()).decode("utf-8")
    except ValueError:
        return None
    user, _, password = decoded.partition(":")
    return user, password


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization", "")
    if value.lower().startswith("bearer "):
        return value[7:].strip() or None
    return None


def _parse_params(content_type: str, query: str, body: bytes) -> JSON:
    """Merge query string and body (JSON, form or multipart), decoding JSON-in-string fields."""
    params: JSON = dict(parse_qsl(query, keep_blank_values=True))
    kind = content_type.split(";")[0].strip().lower()
    if body:
        if kind == "application/json":
            try:
                decoded = json.loads(body.decode("utf-8"))
            except ValueError:
                raise _ApiError("invalid_json") from None
            if not isinstance(decoded, dict):
                raise _ApiError("invalid_json")
            params.update(decoded)
        elif kind == "multipart/form-data":
            params.update(_parse_multipart(content_type, body))
        else:
            try:
                params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            except UnicodeDecodeError:
                raise _ApiError("invalid_form_data") from None
    for key in _JSON_FIELDS & params.keys():
        value = params[key]
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            # Undecodable JSON stays a string: the method answers with its own format error.
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params


def _parse_multipart(content_type: str, body: bytes) -> JSON:
    """Form fields as strings, file parts as bytes."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: JSON = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_param("filename", header="content-disposition"):
            fields[name] = data
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields


def _parse_response_body(content_type: str, body: bytes) -> JSON:
    text = body.decode("utf-8")
    if content_type.startswith("application/x-www-form-urlencoded") and not text.startswith("{"):
        text = dict(parse_qsl(text)).get("payload", "{}")
    decoded = json.loads(text or "{}")
    if not isinstance(decoded, dict):
        raise ValueError("response body must be a JSON object")
    return decoded
