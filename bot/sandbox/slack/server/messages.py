"""Messages, threads, reactions and ephemerals: the store chat, responses and people write to."""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack import blockkit

from .records import JSON, ApiError, Conversation, ResponseContext, clone, flag, invalid_blocks
from .state import StandInState


class MessageStore(StandInState):
    """Where messages live; what people post; how acks and response_urls show."""

    def messages(self, channel: str, *, include_replies: bool = False) -> list[JSON]:
        """Messages of a channel, oldest first (top level and broadcasts unless told otherwise)."""
        with self._lock:
            conv = self._resolve(channel)
            if conv is None:
                raise KeyError(f"unknown channel {channel}")
            return [clone(m) for m in conv.messages if include_replies or self._is_top_level(m)]

    def thread(self, channel: str, thread_ts: str) -> list[JSON]:
        """Replies in a thread (the parent excluded), oldest first."""
        with self._lock:
            conv = self._resolve(channel)
            if conv is None:
                raise KeyError(f"unknown channel {channel}")
            return [
                clone(m)
                for m in conv.messages
                if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts
            ]

    def find_message(self, channel: str, ts: str) -> JSON | None:
        with self._lock:
            conv = self._resolve(channel)
            found = self._find(conv, ts) if conv is not None else None
            return clone(found) if found is not None else None

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[JSON]:
        with self._lock:
            conv = self._resolve(channel)
            cid = conv.id if conv is not None else channel
            return [
                clone(e)
                for e in self._ephemerals
                if (cid is None or e["channel"] == cid) and (user is None or e["user"] == user)
            ]

    def responses(self, *, since: int = 0) -> list[JSON]:
        """Bodies POSTed to response_urls (with url, user, channel, status), oldest first; from
        the `since`-th on (`response_count()` before an action: those it brought)."""
        with self._lock:
            return clone(self._responses[since:])

    def response_count(self) -> int:
        """How many bodies were POSTed to response_urls so far."""
        with self._lock:
            return len(self._responses)

    def reactions(self, channel: str, ts: str) -> list[JSON]:
        message = self.find_message(channel, ts)
        if message is None:
            raise KeyError(f"no message {ts} in {channel}")
        return list(message.get("reactions", []))

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
            return clone(message)

    def edit_user_message(
        self, user_id: str, channel: str, ts: str, text: str
    ) -> tuple[JSON, JSON]:
        """Change a person's message; returns (previous, current)."""
        with self._changed:
            conv, message = self._require_message(channel, ts)
            if message.get("user") != user_id or message.get("bot_id"):
                raise PermissionError(f"{user_id} did not post {ts}")
            previous = clone(message)
            message["text"] = text
            message["edited"] = {"user": user_id, "ts": self.next_ts()}
            self._touch()
            return previous, clone(message)

    def delete_user_message(self, user_id: str, channel: str, ts: str) -> JSON:
        """Remove a person's message; returns what it was."""
        with self._changed:
            conv, message = self._require_message(channel, ts)
            if message.get("user") != user_id or message.get("bot_id"):
                raise PermissionError(f"{user_id} did not post {ts}")
            self._remove(conv, message)
            self._touch()
            return clone(message)

    def add_reaction(self, user_id: str, channel: str, ts: str, name: str) -> JSON:
        """Store a person's reaction; returns the message reacted to."""
        with self._changed:
            _, message = self._require_message(channel, ts)
            self._react(message, user_id, name.strip(":"))
            self._touch()
            return clone(message)

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
            self._response_urls[rid] = ResponseContext(
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
                    ResponseContext(user=user_id, channel=channel_id), body, via="ack"
                )
            except ApiError:
                return  # Slack shows the user an error; nothing is stored
            finally:
                self._touch()

    def _require_message(self, channel: str, ts: str) -> tuple[Conversation, JSON]:
        conv = self._resolve(channel)
        if conv is None:
            raise KeyError(f"unknown channel {channel}")
        message = self._find(conv, ts)
        if message is None:
            raise KeyError(f"no message {ts} in {channel}")
        return conv, message

    @staticmethod
    def _find(conv: Conversation, ts: object) -> JSON | None:
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

    def _thread_parent(self, conv: Conversation, thread_ts: object) -> str | None:
        if thread_ts in (None, ""):
            return None
        parent = self._find(conv, thread_ts)
        if parent is None:
            raise ApiError("thread_not_found")
        parent_ts = parent.get("thread_ts")
        return parent_ts if isinstance(parent_ts, str) else str(parent["ts"])

    def _append(
        self, conv: Conversation, message: JSON, thread_ts: str | None, *, broadcast: bool
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

    def _remove(self, conv: Conversation, message: JSON) -> None:
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
            raise ApiError("invalid_name")
        reactions: list[JSON] = message.setdefault("reactions", [])
        for reaction in reactions:
            if reaction["name"] == name:
                if user_id in reaction["users"]:
                    raise ApiError("already_reacted")
                reaction["users"].append(user_id)
                reaction["count"] = len(reaction["users"])
                return
        reactions.append({"name": name, "users": [user_id], "count": 1})

    def _fill_ids(self, blocks: list[Any]) -> list[Any]:
        """Copy blocks, adding the block_id/action_id Slack generates when they are missing."""
        filled = clone(blocks)
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
        blocks = _blocks_param(params, previous)
        attachments = _attachments_param(params, previous)
        errors = blockkit.validate_message({"blocks": blocks, "attachments": attachments})
        if errors:
            raise invalid_blocks(errors)
        if not text.strip() and (blocks or not attachments):
            raise ApiError("no_text")
        content: JSON = {"text": text[: blockkit.MESSAGE_TEXT_MAX]}
        content["blocks"] = self._fill_ids(blocks) if blocks else []
        if attachments:
            content["attachments"] = clone(attachments)
        metadata = _metadata_param(params, previous)
        if metadata is not None:
            content["metadata"] = metadata
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

    def _apply_message_response(self, context: ResponseContext, body: JSON, *, via: str) -> None:
        conv = self._lookup(context.channel)
        if flag(body.get("delete_original")):
            self._delete_original(context, conv)
            return
        replace = flag(body.get("replace_original")) and context.message_ts is not None
        if replace and self._replace_original(context, conv, body):
            return
        content = self._message_content(body)
        if conv is None:
            raise ApiError("channel_not_found")
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

    def _delete_original(self, context: ResponseContext, conv: Conversation | None) -> None:
        if context.is_ephemeral:
            self._ephemerals[:] = [
                e for e in self._ephemerals if e["message_ts"] != context.message_ts
            ]
        elif conv is not None and context.message_ts:
            original = self._find(conv, context.message_ts)
            if original is not None:
                self._remove(conv, original)

    def _replace_original(
        self, context: ResponseContext, conv: Conversation | None, body: JSON
    ) -> bool:
        """Replace the message the interaction came from; False when there is none to replace."""
        if context.is_ephemeral:
            content = self._message_content(body)
            for ephemeral in self._ephemerals:
                if ephemeral["message_ts"] == context.message_ts:
                    ephemeral.update(content)
            return True
        original = self._find(conv, context.message_ts) if conv is not None else None
        if original is None:
            return False
        content = self._message_content(body)
        original.update(content)
        if "attachments" not in content:
            original.pop("attachments", None)
        return True


def _blocks_param(params: JSON, previous: JSON | None) -> list[Any] | None:
    blocks = params["blocks"] if "blocks" in params else (previous or {}).get("blocks")
    if blocks in ("", None):
        return None
    if not isinstance(blocks, list):
        raise ApiError("invalid_blocks_format")
    return blocks


def _attachments_param(params: JSON, previous: JSON | None) -> list[Any] | None:
    if "attachments" in params:
        attachments = params["attachments"]
    else:
        attachments = (previous or {}).get("attachments")
    if attachments in ("", None):
        return None
    if not isinstance(attachments, list):
        raise ApiError("invalid_attachments")
    if len(attachments) > blockkit.MESSAGE_MAX_ATTACHMENTS:
        raise ApiError("too_many_attachments")
    return attachments


def _metadata_param(params: JSON, previous: JSON | None) -> JSON | None:
    """The message's metadata (a copy) or None; checked after the text and blocks."""
    metadata = params.get("metadata", (previous or {}).get("metadata"))
    if metadata in (None, ""):
        return None
    if (
        not isinstance(metadata, dict)
        or not isinstance(metadata.get("event_type"), str)
        or not isinstance(metadata.get("event_payload", {}), dict)
    ):
        raise ApiError("invalid_metadata_format")
    return clone(metadata)
