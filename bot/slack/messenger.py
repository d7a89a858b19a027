"""The one outbound path to Slack: implements the Messenger port on slack_sdk's WebClient.

Every message is validated against Block Kit's limits before it leaves. Slack's answers become
SlackError: permanent (never retried) or not (retried later by the outbox, honouring Retry-After).
The client never retries by itself: a silent retry of chat.postMessage can post twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services.ports import ChannelInfo, Message, Posted, Profile, SlackError
from bot.slack import blockkit
from bot.slack.metering import without_retries

log = logging.getLogger(__name__)

RETRYABLE = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "connection_error",
}
DIRECTORY_TTL = 600.0  # seconds to trust a users.list / conversations.list read for name lookups
HISTORY_LOOKBACK = 50
MEMBERS_TTL = 60.0  # seconds


def _error(error: SlackApiError) -> SlackError:
    response = error.response
    code = str(response.get("error") or f"http_{response.status_code}")
    retry_after: float | None = None
    if response.status_code == 429:
        code = "ratelimited"
        header = response.headers.get("Retry-After") or response.headers.get("retry-after")
        retry_after = float(header) if header else 1.0
    permanent = code not in RETRYABLE and response.status_code < 500
    # Slack's words for these: "it's possible some aspect of the operation succeeded".
    uncertain = response.status_code >= 500 or code in ("internal_error", "fatal_error")
    return SlackError(code, permanent=permanent, retry_after=retry_after, uncertain=uncertain)


TokenLookup = Callable[[str], str | None]
"""A workspace's bot token (installed through OAuth), or None when it has none."""


class SlackMessenger:
    """Messenger over the Web API, with the bot token of the workspace each call is for.

    With `tokens` (OAuth: many workspaces), every call asks for its workspace's token, so a
    workspace that uninstalled the app is never called with a token it revoked; without, every
    call uses the client's own token (SLACK_BOT_TOKEN: one workspace).
    """

    def __init__(self, client: WebClient, *, tokens: TokenLookup | None = None) -> None:
        self._client = client
        without_retries(self._client)  # the meter (bot.slack.metering) stays
        self._tokens = tokens
        self._clients: dict[str, WebClient] = {}
        self._lock = threading.Lock()
        self._bot_user: dict[str, str] = {}
        self._directory: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}
        self._member_lists: dict[tuple[str, str, str], tuple[float, list[str]]] = {}

    def _client_for(self, team_id: str) -> WebClient:
        if self._tokens is None:
            return self._client
        token = self._tokens(team_id)
        if token is None:
            raise SlackError("not_installed", permanent=True)
        with self._lock:
            client = self._clients.get(token)
            if client is None:
                client = WebClient(
                    token=token,
                    base_url=self._client.base_url,
                    timeout=self._client.timeout,
                    ssl=self._client.ssl,  # the process's one TLS context, not one per client
                    logger=self._client.logger,
                    # the workspace's calls are counted like every other (bot.slack.metering)
                    retry_handlers=list(self._client.retry_handlers),
                )
                if len(self._clients) > 1000:  # tokens of workspaces long gone
                    self._clients.clear()
                self._clients[token] = client
        return client

    def _call(self, team_id: str, method: str, **params: Any) -> dict[str, Any]:
        client = self._client_for(team_id)
        try:
            response = client.api_call(method, json=params)
        except SlackApiError as error:
            raise _error(error) from error
        except OSError as error:  # connection refused, reset, timeout: Slack may have it
            raise SlackError("connection_error", permanent=False, uncertain=True) from error
        data: dict[str, Any] = dict(response.data) if isinstance(response.data, dict) else {}
        return data

    def _form(self, team_id: str, method: str, **params: Any) -> dict[str, Any]:
        """Methods Slack wants form-encoded (GET-style reads)."""
        client = self._client_for(team_id)
        form = {
            k: ("true" if v else "false") if isinstance(v, bool) else v for k, v in params.items()
        }
        try:
            response = client.api_call(method, data=form)
        except SlackApiError as error:
            raise _error(error) from error
        except OSError as error:
            raise SlackError("connection_error", permanent=False) from error
        return dict(response.data) if isinstance(response.data, dict) else {}

    def bot_user_id(self, team_id: str) -> str:
        with self._lock:
            known = self._bot_user.get(team_id)
        if known is None:
            known = str(self._call(team_id, "auth.test").get("user_id", ""))
            with self._lock:
                self._bot_user[team_id] = known
        return known

    # -- messages -----------------------------------------------------------------------------

    def post(
        self,
        team_id: str,
        channel: str,
        message: Message,
        *,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Posted:
        _validate(message)
        params: dict[str, Any] = {
            "channel": channel,
            "text": message.get("text", ""),
            "blocks": message.get("blocks"),
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if thread_ts:
            params["thread_ts"] = thread_ts
        if metadata:
            params["metadata"] = metadata
        data = self._call(team_id, "chat.postMessage", **params)
        return Posted(channel=str(data["channel"]), ts=str(data["ts"]))

    def update(self, team_id: str, channel: str, ts: str, message: Message) -> None:
        _validate(message)
        self._call(
            team_id,
            "chat.update",
            channel=channel,
            ts=ts,
            text=message.get("text", ""),
            blocks=message.get("blocks"),
        )

    def post_ephemeral(self, team_id: str, channel: str, user_id: str, message: Message) -> None:
        _validate(message)
        self._call(
            team_id,
            "chat.postEphemeral",
            channel=channel,
            user=user_id,
            text=message.get("text", ""),
            blocks=message.get("blocks"),
        )

    def publish_home(self, team_id: str, user_id: str, view: dict[str, Any]) -> None:
        """Show `view` (validated by its renderer) as the person's App Home tab."""
        self._call(team_id, "views.publish", user_id=user_id, view=view)

    def open_view(self, team_id: str, trigger_id: str, view: dict[str, Any]) -> None:
        """Open a modal (validated by its renderer) for the click or command `trigger_id` came
        with (Slack accepts it for 3 seconds)."""
        self._call(team_id, "views.open", trigger_id=trigger_id, view=view)

    def find_posted(
        self,
        team_id: str,
        channel: str,
        *,
        delivery_id: int,
        part: int,
        thread_ts: str | None = None,
    ) -> str | None:
        # Only used to recover from a crash mid-send: these reads are rate-limited hard.
        if channel.startswith(("U", "W")):
            channel = str(self._call(team_id, "conversations.open", users=channel)["channel"]["id"])
        method = "conversations.replies" if thread_ts else "conversations.history"
        extra = {"ts": thread_ts} if thread_ts else {}
        data = self._form(
            team_id,
            method,
            channel=channel,
            limit=HISTORY_LOOKBACK,
            include_all_metadata=True,
            **extra,
        )
        for message in data.get("messages", []):
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("delivery_id") == delivery_id and payload.get("part") == part:
                return str(message["ts"])
        return None

    def find_upload(self, team_id: str, user_id: str, *, filename: str, title: str) -> bool:
        # Only used to recover from an upload whose answer was lost: rare, and rate-limited hard.
        channel = str(self._call(team_id, "conversations.open", users=user_id)["channel"]["id"])
        data = self._form(team_id, "conversations.history", channel=channel, limit=HISTORY_LOOKBACK)
        return any(
            isinstance(shared, dict)
            and shared.get("name") == filename
            and shared.get("title") == title
            for message in data.get("messages", [])
            for shared in message.get("files") or []
        )

    def permalink(self, team_id: str, channel: str, ts: str) -> str:
        return str(
            self._form(team_id, "chat.getPermalink", channel=channel, message_ts=ts)["permalink"]
        )

    def upload(
        self, team_id: str, user_id: str, *, filename: str, content: bytes, title: str, comment: str
    ) -> str | None:
        channel = str(self._call(team_id, "conversations.open", users=user_id)["channel"]["id"])
        try:
            response = self._client_for(team_id).files_upload_v2(
                channel=channel,
                filename=filename,
                content=content,
                title=title,
                initial_comment=comment,
            )
        except SlackApiError as error:
            raise _error(error) from error
        except OSError as error:
            raise SlackError("connection_error", permanent=False) from error
        shared = response.get("file") or {}
        return str(shared["id"]) if isinstance(shared, dict) and shared.get("id") else None

    # -- people and channels ------------------------------------------------------------------

    def profile(self, team_id: str, user_id: str) -> Profile:
        return _profile(self._form(team_id, "users.info", user=user_id)["user"])

    def profiles(self, team_id: str) -> Iterator[Profile]:
        for member in self._paginate(team_id, "users.list", "members", limit=1000):
            yield _profile(member)

    def find_user(self, team_id: str, name: str) -> str | None:
        wanted = name.lstrip("@").lower()
        return self._lookup(team_id, "users", wanted, self._user_names)

    def channel(self, team_id: str, channel_id: str) -> ChannelInfo:
        data = self._form(team_id, "conversations.info", channel=channel_id)["channel"]
        return ChannelInfo(
            id=str(data["id"]),
            name=str(data.get("name") or data["id"]),
            is_member=bool(data.get("is_member")),
            is_archived=bool(data.get("is_archived")),
            is_private=bool(data.get("is_private")),
            is_im=bool(data.get("is_im")),
        )

    def find_channel(self, team_id: str, name: str) -> ChannelInfo | None:
        channel_id = self._lookup(
            team_id, "channels", name.lstrip("#").lower(), self._channel_names
        )
        return self.channel(team_id, channel_id) if channel_id else None

    def channel_members(self, team_id: str, channel_id: str) -> list[str]:
        return self._members(
            (team_id, "channel", channel_id),
            lambda: [
                str(m)
                for m in self._paginate(
                    team_id, "conversations.members", "members", channel=channel_id
                )
            ],
        )

    def usergroup_members(self, team_id: str, group_id: str) -> list[str]:
        return self._members(
            (team_id, "usergroup", group_id),
            lambda: [
                str(u)
                for u in self._form(team_id, "usergroups.users.list", usergroup=group_id).get(
                    "users", []
                )
            ],
        )

    def _members(self, key: tuple[str, str, str], load: Callable[[], list[str]]) -> list[str]:
        """Member lists, cached briefly: a lead scheduling twice should not page through twice."""
        with self._lock:
            cached = self._member_lists.get(key)
        if cached is not None and time.monotonic() - cached[0] < MEMBERS_TTL:
            return list(cached[1])
        members = load()
        with self._lock:
            self._member_lists[key] = (time.monotonic(), members)
        return list(members)

    def find_usergroup(self, team_id: str, handle: str) -> str | None:
        return self._lookup(team_id, "usergroups", handle.lstrip("@").lower(), self._group_names)

    # -- directory lookups (for plain names; Slack normally sends escaped ids) ---------------

    def _lookup(self, team_id: str, kind: str, name: str, load: Any) -> str | None:
        key = (team_id, kind)
        with self._lock:
            cached = self._directory.get(key)
        if cached is None or time.monotonic() - cached[0] > DIRECTORY_TTL or name not in cached[1]:
            names: dict[str, str] = load(team_id)
            with self._lock:
                self._directory[key] = (time.monotonic(), names)
            cached = (0.0, names)
        return cached[1].get(name)

    def _user_names(self, team_id: str) -> dict[str, str]:
        names: dict[str, str] = {}
        for member in self._paginate(team_id, "users.list", "members", limit=1000):
            if member.get("deleted"):
                continue
            profile = member.get("profile") or {}
            for candidate in (
                member.get("name"),
                profile.get("display_name"),
                profile.get("real_name"),
            ):
                if candidate:
                    names.setdefault(str(candidate).lower(), str(member["id"]))
        return names

    def _channel_names(self, team_id: str) -> dict[str, str]:
        return {
            str(c["name"]).lower(): str(c["id"])
            for c in self._paginate(
                team_id,
                "conversations.list",
                "channels",
                types="public_channel,private_channel",
                limit=1000,
            )
        }

    def _group_names(self, team_id: str) -> dict[str, str]:
        groups = self._form(team_id, "usergroups.list").get("usergroups", [])
        return {str(g["handle"]).lower(): str(g["id"]) for g in groups}

    def _paginate(
        self, team_id: str, method: str, key: str, **params: Any
    ) -> Iterator[dict[str, Any]] | Iterator[Any]:
        cursor = ""
        while True:
            data = (
                self._form(team_id, method, cursor=cursor, **params)
                if cursor
                else self._form(team_id, method, **params)
            )
            yield from data.get(key, [])
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return


def profile_of(user: dict[str, Any]) -> Profile:
    """A Slack user object (users.info, users.list, a `user_change` event) as a Profile."""
    return _profile(user)


def _profile(data: dict[str, Any]) -> Profile:
    profile = data.get("profile") or {}
    real = str(profile.get("real_name") or data.get("real_name") or data.get("name") or "")
    first = str(profile.get("first_name") or (real.split()[0] if real.split() else ""))
    return Profile(
        user_id=str(data["id"]),
        name=str(real or profile.get("display_name") or data.get("name") or data["id"]),
        first_name=first,
        tz=str(data.get("tz") or "UTC"),
        is_admin=bool(data.get("is_admin") or data.get("is_owner")),
        deleted=bool(data.get("deleted")),
        is_bot=bool(data.get("is_bot")) or data.get("id") == "USLACKBOT",
    )


def _validate(message: Message) -> None:
    errors = blockkit.check_message(message)
    if errors:
        log.error("refusing to send a message Slack would reject: %s", "; ".join(errors))
        raise SlackError("invalid_blocks", permanent=True)
