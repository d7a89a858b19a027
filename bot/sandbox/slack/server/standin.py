"""SlackStandIn: the areas put together, served over HTTP, with every Web API call recorded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from bot.sandbox.slack.socket_mode import SocketModeServer

from .chat import ChatApi
from .conversations import ConversationsApi
from .faults import FaultsAndLimits
from .files import FilesApi
from .oauth import Installs
from .plumbing import Reply, StandInHTTPServer, bearer_token, parse_params, parse_response_body
from .records import JSON, ApiError, clone, text_of
from .users import UsersApi
from .views import ViewsApi

# Methods that need the app-level token; all others need the bot token (auth.test takes both).
_APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
_ANY_TOKEN_METHODS = frozenset({"auth.test"})
RESPONSE_URL_MAX_USES = 5


class SlackStandIn(
    ChatApi, ConversationsApi, ViewsApi, FilesApi, UsersApi, FaultsAndLimits, Installs
):
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
        super().__init__(
            team_id=team_id,
            team_name=team_name,
            team_domain=team_domain,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            bot_name=bot_name,
            app_id=app_id,
            bot_token=bot_token,
            app_token=app_token,
            clock=clock,
            wall_clock=wall_clock,
            start_ts=start_ts,
            ts_clock=ts_clock,
        )
        self._host = None
        self._workspaces = [self]
        self._http = None
        self._http_thread: threading.Thread | None = None
        self._socket = SocketModeServer(app_id=app_id, on_change=self._touch)
        self._socket_lock = threading.Lock()
        self._socket_started = False
        self._handlers = self._web_api_methods()

    def _web_api_methods(self) -> dict[str, Callable[[JSON], JSON]]:
        """The Web API the stand-in serves: method name to its handler (one per area module)."""
        return {
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

    def start(self) -> Self:
        """Serve the Web API on a free 127.0.0.1 port, and Socket Mode on another from the first
        time it is asked for (`apps.connections.open`, `socket`, `socket_send`...): most
        clients of the stand-in never use it."""
        self._http = StandInHTTPServer(self)
        self._http_thread = threading.Thread(
            target=self._http.serve_forever,
            name="standin-web-api",
            daemon=True,
        )
        self._http_thread.start()
        return self

    def stop(self) -> None:
        """Close Socket Mode connections and stop both servers."""
        with self._socket_lock:
            self._socket.stop()
            self._socket_started = False
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
    def socket(self) -> SocketModeServer:
        return self._socket_mode()

    def _socket_mode(self) -> SocketModeServer:
        """The Socket Mode server, serving once the stand-in runs and anything asked for it."""
        with self._socket_lock:
            if not self._socket_started and self._http is not None:
                self._socket.start()
                self._socket_started = True
        return self._socket

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

    def wait_for_socket_client(self, timeout: float = 5.0, *, connects: int | None = None) -> bool:
        """True once a Socket Mode client is connected (and ``connects`` connections were seen)."""
        return self._socket_mode().wait_for_client(timeout, connects=connects)

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
        return self._socket_mode().send(
            envelope_type,
            payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            timeout=timeout,
        )

    def socket_disconnect(self, *, reason: str = "refresh_requested", hard: bool = False) -> int:
        """Send Slack's ``disconnect`` message (or close the sockets if ``hard``)."""
        return self._socket_mode().disconnect(reason=reason, hard=hard)

    def _handle_http(self, raw_path: str, headers: dict[str, str], body: bytes) -> Reply:
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
            return Reply.json(
                500, {"ok": False, "error": "internal_error", "standin_exception": repr(error)}
            )
        return Reply(404, {"Content-Type": "text/plain"}, b"not found\n")

    def _workspace_for_token(
        self, query: str, headers: dict[str, str], body: bytes
    ) -> SlackStandIn:
        """The workspace whose bot token the call carries (this one when none matches)."""
        if len(self._workspaces) == 1:
            return self
        token = bearer_token(headers)
        if token is None:
            try:
                token = text_of(
                    parse_params(headers.get("content-type", ""), query, body).get("token")
                )
            except ApiError:
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

    def _api(self, method: str, query: str, headers: dict[str, str], body: bytes) -> Reply:
        self._wait_while_held(method)
        extra_headers: dict[str, str] = {}
        try:
            params = parse_params(headers.get("content-type", ""), query, body)
        except ApiError as error:
            params = {"_raw": body.decode("utf-8", "replace")}
            status, payload = error.status, {"ok": False, "error": error.error}
            token, token_type = None, None
        else:
            token = bearer_token(headers) or text_of(params.pop("token", None)) or None
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
                    "params": clone(params),
                    "headers": dict(headers),
                    "token": token,
                    "token_type": token_type,
                    "status": status,
                    "response": clone(payload),
                }
            )
            self._touch()
        reply = Reply.json(status, payload, extra_headers)
        self._answer_late(method)
        reply.lost = self._take_lost_answer(method)
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
        except ApiError as error:
            stats["errors"] += 1
            return error.status, {}, {"ok": False, "error": error.error, **error.extra}
        return 200, {}, {"ok": True, **result}

    def _response_url(self, rid: str, headers: dict[str, str], body: bytes) -> Reply:
        try:
            payload = parse_response_body(headers.get("content-type", ""), body)
        except ValueError:
            return Reply.json(400, {"ok": False, "error": "invalid_payload"})
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
                    except ApiError as error:
                        status, answer = 400, {"ok": False, "error": error.error, **error.extra}
            self._responses.append(
                {
                    "url": f"{self.base_url}/response/{rid}",
                    "body": clone(payload),
                    "status": status,
                    "user": context.user if context else None,
                    "channel": context.channel if context else None,
                    "message_ts": context.message_ts if context else None,
                }
            )
            self._calls.append(
                {
                    "method": "response_url",
                    "params": clone(payload),
                    "headers": dict(headers),
                    "token": None,
                    "token_type": None,
                    "status": status,
                    "response": dict(answer),
                }
            )
            self._touch()
        return Reply.json(status, answer)

    def _apps_connections_open(self, params: JSON) -> JSON:
        return {"url": self._socket_mode().issue_url()}
