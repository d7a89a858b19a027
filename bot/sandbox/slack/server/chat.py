"""The chat.* and reactions.* Web API methods."""

from __future__ import annotations

from .messages import MessageStore
from .records import JSON, ApiError, clone, flag, text_of


class ChatApi(MessageStore):
    """chat.postMessage, update, postEphemeral, getPermalink, delete; reactions.add/remove."""

    def _chat_post_message(self, params: JSON) -> JSON:
        conv = self._post_target(params.get("channel"))
        content = self._message_content(params)
        parent = self._thread_parent(conv, params.get("thread_ts"))
        message = self._bot_message(content)
        self._append(conv, message, parent, broadcast=flag(params.get("reply_broadcast")))
        return {"channel": conv.id, "ts": message["ts"], "message": clone(message)}

    def _chat_update(self, params: JSON) -> JSON:
        conv = self._visible(params.get("channel"))
        if conv.is_archived:
            raise ApiError("is_archived")
        message = self._find(conv, params.get("ts"))
        if message is None:
            raise ApiError("message_not_found")
        if message.get("bot_id") != self.bot_id:
            raise ApiError("cant_update_message")
        content = self._message_content(params, previous=message)
        message.update(content)
        if "attachments" not in content:
            message.pop("attachments", None)
        message["edited"] = {"user": self.bot_user_id, "ts": self.next_ts()}
        return {
            "channel": conv.id,
            "ts": message["ts"],
            "text": message["text"],
            "message": clone(message),
        }

    def _chat_post_ephemeral(self, params: JSON) -> JSON:
        conv = self._post_target(params.get("channel"))
        user_id = text_of(params.get("user"))
        user = self._users.get(user_id)
        if user is None or user.deleted:
            raise ApiError("user_not_found")
        if user_id not in self._members_of(conv):
            raise ApiError("user_not_in_channel")
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
            raise ApiError("message_not_found")
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
            raise ApiError("message_not_found")
        if message.get("bot_id") != self.bot_id:
            raise ApiError("cant_delete_message")
        self._remove(conv, message)
        return {"channel": conv.id, "ts": message["ts"]}

    def _reactions_add(self, params: JSON) -> JSON:
        conv = self._readable(params)
        message = self._find(conv, params.get("timestamp"))
        if message is None:
            raise ApiError("message_not_found")
        self._react(message, self.bot_user_id, text_of(params.get("name")).strip(":"))
        return {}

    def _reactions_remove(self, params: JSON) -> JSON:
        conv = self._readable(params)
        message = self._find(conv, params.get("timestamp"))
        if message is None:
            raise ApiError("message_not_found")
        name = text_of(params.get("name")).strip(":")
        for reaction in message.get("reactions", []):
            if reaction["name"] == name and self.bot_user_id in reaction["users"]:
                reaction["users"].remove(self.bot_user_id)
                reaction["count"] = len(reaction["users"])
                message["reactions"] = [r for r in message["reactions"] if r["count"]]
                return {}
        raise ApiError("no_reaction")
