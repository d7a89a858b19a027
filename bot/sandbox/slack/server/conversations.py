"""Channels and DMs: seeding them, and the conversations.* Web API methods."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .messages import MessageStore
from .records import JSON, ApiError, Conversation, clone, flag, text_of


class ConversationsApi(MessageStore):
    """Channels, members and DMs, and how conversations.* shows them."""

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
            self._channels[cid] = Conversation(
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

    def dm_channel(self, user_id: str) -> str:
        """The stable ``D…`` id of the bot's DM with ``user_id`` (created on first use)."""
        with self._changed:
            if user_id not in self._users:
                raise KeyError(f"unknown user {user_id}")
            return self._dm(user_id).id

    def channels(self) -> list[JSON]:
        """Every channel (no DMs) as ``conversations.info`` shows it, with ``members``."""
        with self._lock:
            return [
                {**self._channel_object(conv), "members": list(conv.members)}
                for conv in self._channels.values()
                if conv.kind != "im"
            ]

    def conversation(self, channel_id: str) -> JSON:
        """The ``conversations.info`` object of a channel or DM."""
        with self._lock:
            conv = self._resolve(channel_id)
            if conv is None:
                raise KeyError(f"unknown channel {channel_id}")
            return self._channel_object(conv)

    def _channel_object(self, conv: Conversation) -> JSON:
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

    def _conversations_open(self, params: JSON) -> JSON:
        if params.get("channel"):
            conv = self._visible(params["channel"])
            return {"channel": {"id": conv.id}, "no_op": True, "already_open": True}
        users = [u.strip() for u in text_of(params.get("users")).split(",") if u.strip()]
        if not users:
            raise ApiError("users_list_not_supplied")
        if len(users) > 1:
            raise ApiError("mpim_not_supported_by_standin")
        user = self._users.get(users[0])
        if user is None:
            raise ApiError("user_not_found")
        if user.id == self.bot_user_id:
            raise ApiError("cannot_dm_bot")
        if user.deleted:
            raise ApiError("user_disabled")
        existed = user.id in self._dms
        conv = self._dm(user.id)
        channel = self._channel_object(conv) if flag(params.get("return_im")) else {"id": conv.id}
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
            raise ApiError("method_not_supported_for_channel_type")
        if conv.is_archived:
            raise ApiError("is_archived")
        result: JSON = {}
        if conv.bot_is_member:
            result["warning"] = "already_in_channel"
        conv.bot_is_member = True
        result["channel"] = self._channel_object(conv)
        return result

    def _conversations_list(self, params: JSON) -> JSON:
        """Public channels, and private ones the bot is in (as Slack shows a bot)."""
        types = set(text_of(params.get("types") or "public_channel").split(","))
        wanted = {"public_channel": "public", "private_channel": "private"}
        kinds = {wanted[t.strip()] for t in types if t.strip() in wanted}
        shown = [
            self._channel_object(conv)
            for conv in self._channels.values()
            if conv.kind in kinds
            and (conv.kind == "public" or conv.bot_is_member)
            and not (flag(params.get("exclude_archived")) and conv.is_archived)
        ]
        page, cursor = self._paginate(shown, params, default_limit=100)
        return {"channels": page, "response_metadata": {"next_cursor": cursor}}

    def _history_view(self, message: JSON, params: JSON) -> JSON:
        shown = clone(message)
        if not flag(params.get("include_all_metadata")):
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
            raise ApiError("thread_not_found")
        root = message.get("thread_ts") or message["ts"]
        thread = [m for m in conv.messages if m["ts"] == root or m.get("thread_ts") == root]
        page, cursor = self._paginate(thread, params, default_limit=1000)
        return {
            "messages": [self._history_view(m, params) for m in page],
            "has_more": bool(cursor),
            "response_metadata": {"next_cursor": cursor},
        }
