"""Plays Slack's side towards the app: slash commands, clicks, view submissions, people's events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from .delivery import VERIFICATION_TOKEN, DriverResponse, SlackDelivery
from .elements import (
    MULTI_ELEMENTS,
    DriverError,
    apply_state,
    choose,
    find_element,
    initial_state,
    select_in_only_box,
)
from .server import JSON

__all__ = ["DriverError", "DriverResponse", "SlackDriver"]


class SlackDriver(SlackDelivery):
    """Plays Slack towards the app under test, over HTTP (signed) or Socket Mode."""

    def command(
        self,
        user_id: str,
        text: str,
        *,
        command: str = "/learn",
        channel_id: str | None = None,
    ) -> DriverResponse:
        """Run a slash command as ``user_id`` (default channel: the user's DM with the bot)."""
        channel = channel_id or self.standin.dm_channel(user_id)
        user = self.standin.user(user_id)
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.standin.team_id,
            "team_domain": self.standin.team_domain,
            "channel_id": channel,
            "channel_name": self._channel_name(channel),
            "user_id": user_id,
            "user_name": user["name"],
            "command": command,
            "text": text,
            "api_app_id": self.standin.app_id,
            "is_enterprise_install": "false",
            "response_url": self.standin.new_response_url(user_id=user_id, channel_id=channel),
            "trigger_id": self.standin.issue_trigger_id(user_id),
        }
        if self.mode == "socket":
            response = self._socket("slash_commands", dict(fields))
        else:
            response = self._post(urlencode(fields).encode(), "application/x-www-form-urlencoded")
        response.request = dict(fields)
        if response.status == 200 and response.body:
            self.standin.apply_ack(user_id=user_id, channel_id=channel, body=response.payload())
        return response

    def click(
        self,
        user_id: str,
        message: Mapping[str, Any],
        *,
        channel_id: str,
        action_id: str | None = None,
        value: str | None = None,
        text: str | None = None,
        selected: Sequence[str] | None = None,
        state: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> DriverResponse:
        """Click/choose an element of a message the bot posted (``block_actions``)."""
        stored = self.standin.find_message(channel_id, str(message.get("ts")))
        if stored is None:
            raise DriverError(f"no message {message.get('ts')} in {channel_id}")
        channel = self.standin.conversation(channel_id)["id"]
        blocks = list(stored.get("blocks") or [])
        action, values = self._act(blocks, action_id, value, text, selected, state)
        container: JSON = {
            "type": "message",
            "message_ts": stored["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
        }
        thread_ts = stored.get("thread_ts")
        if thread_ts and thread_ts != stored["ts"]:
            container["thread_ts"] = thread_ts
        payload = self._block_actions(user_id, action, values, container)
        payload["channel"] = {"id": channel, "name": self._channel_name(channel)}
        payload["message"] = stored
        payload["response_url"] = self.standin.new_response_url(
            user_id=user_id, channel_id=channel, message_ts=stored["ts"], thread_ts=thread_ts
        )
        return self._interactive(payload)

    def click_ephemeral(
        self,
        user_id: str,
        ephemeral: Mapping[str, Any],
        *,
        action_id: str | None = None,
        value: str | None = None,
        text: str | None = None,
        selected: Sequence[str] | None = None,
        state: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> DriverResponse:
        """Click an element of an ephemeral message (from ``standin.ephemerals()``)."""
        channel = str(ephemeral["channel"])
        blocks = list(ephemeral.get("blocks") or [])
        action, values = self._act(blocks, action_id, value, text, selected, state)
        container = {
            "type": "message",
            "message_ts": ephemeral["message_ts"],
            "channel_id": channel,
            "is_ephemeral": True,
        }
        payload = self._block_actions(user_id, action, values, container)
        payload["channel"] = {"id": channel, "name": self._channel_name(channel)}
        payload["response_url"] = self.standin.new_response_url(
            user_id=user_id,
            channel_id=channel,
            message_ts=str(ephemeral["message_ts"]),
            is_ephemeral=True,
        )
        return self._interactive(payload)

    def click_view(
        self,
        user_id: str,
        view: Mapping[str, Any] | str,
        *,
        action_id: str | None = None,
        value: str | None = None,
        text: str | None = None,
        selected: Sequence[str] | None = None,
        state: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> DriverResponse:
        """Click an element in a modal or the App Home (container type ``view``)."""
        stored = self.standin.get_view(view if isinstance(view, str) else str(view["id"]))
        action, values = self._act(
            list(stored.get("blocks") or []), action_id, value, text, selected, state
        )
        stored["state"] = {"values": values}
        container = {"type": "view", "view_id": stored["id"]}
        payload = self._block_actions(user_id, action, values, container)
        payload["view"] = stored
        return self._interactive(payload)

    def _block_actions(self, user_id: str, action: JSON, values: JSON, container: JSON) -> JSON:
        return {
            "type": "block_actions",
            "user": self._user_ref(user_id),
            "api_app_id": self.standin.app_id,
            "token": VERIFICATION_TOKEN,
            "container": container,
            "trigger_id": self.standin.issue_trigger_id(user_id),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "state": {"values": values},
            "actions": [action],
        }

    def _act(
        self,
        blocks: list[Any],
        action_id: str | None,
        value: str | None,
        text: str | None,
        selected: Sequence[str] | None,
        state: Mapping[str, Mapping[str, Any]] | None,
    ) -> tuple[JSON, JSON]:
        """Find the element, build the action, and the state values it leaves behind."""
        if action_id is None and value is None and text is None:
            raise DriverError("say which element: action_id, value and/or text")
        found = find_element(blocks, action_id, value, text)
        block, element, _ = found
        kind = str(element["type"])
        action: JSON = {
            "type": kind,
            "block_id": block["block_id"],
            "action_id": element["action_id"],
            "action_ts": self.standin.next_ts(),
        }
        values = initial_state(blocks)
        choose(action, values, found, value=value, selected=selected)
        if selected is not None and kind not in MULTI_ELEMENTS:
            select_in_only_box(blocks, values, selected)
        apply_state(blocks, values, state or {})
        return action, values

    def submit_view(
        self,
        user_id: str,
        view: Mapping[str, Any] | str,
        values: Mapping[str, Mapping[str, Any]],
    ) -> DriverResponse:
        """Submit a modal with ``{block_id: {action_id: value or [values]}}``; applies the ack."""
        stored = self.standin.get_view(view if isinstance(view, str) else str(view["id"]))
        blocks = list(stored.get("blocks") or [])
        state = initial_state(blocks)
        apply_state(blocks, state, values)
        stored["state"] = {"values": state}
        payload: JSON = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user_ref(user_id),
            "api_app_id": self.standin.app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self.standin.issue_trigger_id(user_id),
            "view": stored,
            "response_urls": [],
            "enterprise": None,
            "is_enterprise_install": False,
        }
        response = self._interactive(payload)
        if response.status == 200:
            self.standin.apply_view_response(str(stored["id"]), response.payload() or None)
        return response

    def close_view(self, user_id: str, view: Mapping[str, Any] | str) -> DriverResponse | None:
        """The person closes a modal (its close button): it and the views above it go away.

        Slack tells the app only when the view asked for it (``notify_on_close``): ``view_closed``.
        """
        stored = self.standin.get_view(view if isinstance(view, str) else str(view["id"]))
        self.standin.apply_view_response(str(stored["id"]), None)
        if not stored.get("notify_on_close"):
            return None
        return self._interactive(
            {
                "type": "view_closed",
                "team": self._team(),
                "user": self._user_ref(user_id),
                "api_app_id": self.standin.app_id,
                "token": VERIFICATION_TOKEN,
                "view": stored,
                "is_cleared": False,
                "enterprise": None,
                "is_enterprise_install": False,
            }
        )

    def user_says(
        self, user_id: str, channel_id: str, text: str, *, thread_ts: str | None = None
    ) -> tuple[str, DriverResponse]:
        """A person posts a message (stored) and the ``message`` event goes to the app."""
        message = self.standin.post_user_message(user_id, channel_id, text, thread_ts=thread_ts)
        channel = self.standin.conversation(channel_id)
        event: JSON = {
            "type": "message",
            "channel": channel["id"],
            "user": user_id,
            "text": text,
            "ts": message["ts"],
            "event_ts": message["ts"],
            "channel_type": _channel_type(channel),
            "team": self.standin.team_id,
            "client_msg_id": message["client_msg_id"],
        }
        if message.get("thread_ts"):
            event["thread_ts"] = message["thread_ts"]
            event["parent_user_id"] = message.get("parent_user_id")
        return str(message["ts"]), self.event(event)

    def user_edits(self, user_id: str, channel_id: str, ts: str, text: str) -> DriverResponse:
        """A person edits their message: ``message_changed``."""
        previous, current = self.standin.edit_user_message(user_id, channel_id, ts, text)
        channel = self.standin.conversation(channel_id)
        event_ts = current["edited"]["ts"]
        return self.event(
            {
                "type": "message",
                "subtype": "message_changed",
                "hidden": True,
                "channel": channel["id"],
                "ts": event_ts,
                "event_ts": event_ts,
                "channel_type": _channel_type(channel),
                "message": current,
                "previous_message": previous,
            }
        )

    def user_deletes(self, user_id: str, channel_id: str, ts: str) -> DriverResponse:
        """A person deletes their message: ``message_deleted``."""
        previous = self.standin.delete_user_message(user_id, channel_id, ts)
        channel = self.standin.conversation(channel_id)
        event_ts = self.standin.next_ts()
        return self.event(
            {
                "type": "message",
                "subtype": "message_deleted",
                "hidden": True,
                "channel": channel["id"],
                "ts": event_ts,
                "deleted_ts": ts,
                "event_ts": event_ts,
                "channel_type": _channel_type(channel),
                "previous_message": previous,
            }
        )

    def react(self, user_id: str, channel_id: str, ts: str, name: str) -> DriverResponse:
        """A person adds a reaction: stored, then ``reaction_added``."""
        message = self.standin.add_reaction(user_id, channel_id, ts, name)
        channel = self.standin.conversation(channel_id)
        return self.event(
            {
                "type": "reaction_added",
                "user": user_id,
                "reaction": name.strip(":"),
                "item_user": message.get("user"),
                "item": {"type": "message", "channel": channel["id"], "ts": ts},
                "event_ts": self.standin.next_ts(),
            }
        )

    def open_home(self, user_id: str) -> DriverResponse:
        """A person opens the App Home tab: ``app_home_opened`` (with the view if published)."""
        event: JSON = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self.standin.dm_channel(user_id),
            "tab": "home",
            "event_ts": self.standin.next_ts(),
        }
        home = self.standin.home(user_id)
        if home is not None:
            event["view"] = home
        return self.event(event)

    def user_changes(self, user_id: str, **changes: Any) -> DriverResponse:
        """A member's account changes (``deleted=True``: deactivated): stored, then
        ``user_change`` with the whole user object, as Slack sends it."""
        self.standin.set_user(user_id, **changes)
        return self.event(
            {
                "type": "user_change",
                "user": self.standin.user(user_id),
                "cache_ts": int(self.standin.now()),
                "event_ts": self.standin.next_ts(),
            }
        )

    def join(self, user_id: str, channel_id: str) -> DriverResponse:
        """A person joins a channel: membership stored, then ``member_joined_channel``."""
        self.standin.add_member(channel_id, user_id)
        channel = self.standin.conversation(channel_id)
        return self.event(
            {
                "type": "member_joined_channel",
                "user": user_id,
                "channel": channel["id"],
                "channel_type": "G" if channel.get("is_private") else "C",
                "team": self.standin.team_id,
                "event_ts": self.standin.next_ts(),
            }
        )


def _channel_type(channel: Mapping[str, Any]) -> str:
    if channel.get("is_im"):
        return "im"
    return "group" if channel.get("is_private") else "channel"
