"""Sends the app what Slack sends: signed HTTP requests, or envelopes over Socket Mode."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from .blockkit import interactive_elements
from .server import JSON, SlackStandIn

VERIFICATION_TOKEN = "standin-verification-token"
_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
_OPTION_ELEMENTS = frozenset(
    {"static_select", "multi_static_select", "radio_buttons", "checkboxes", "overflow"}
)
_MULTI_ELEMENTS = frozenset({"checkboxes", "multi_static_select"})
# Element type -> the state key Slack uses for its value.
_STATE_KEYS = {
    "plain_text_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "number_input": "value",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "external_select": "selected_option",
    "multi_external_select": "selected_options",
    "static_select": "selected_option",
    "radio_buttons": "selected_option",
    "multi_static_select": "selected_options",
    "checkboxes": "selected_options",
    "rich_text_input": "rich_text_value",
}
_INITIAL_KEYS = {
    "value": "initial_value",
    "selected_date": "initial_date",
    "selected_time": "initial_time",
    "selected_date_time": "initial_date_time",
    "selected_user": "initial_user",
    "selected_users": "initial_users",
    "selected_conversation": "initial_conversation",
    "selected_conversations": "initial_conversations",
    "selected_channel": "initial_channel",
    "selected_channels": "initial_channels",
    "selected_option": "initial_option",
    "selected_options": "initial_options",
    "rich_text_value": "initial_value",
}


class DriverError(LookupError):
    """The driver could not build the request (element not found, ambiguous, bad values)."""


@dataclass
class DriverResponse:
    """What the app answered: HTTP status/headers/body, or the Socket Mode ack payload."""

    status: int
    headers: dict[str, str]
    body: str
    request: JSON = field(default_factory=dict)
    event_id: str | None = None
    ack: JSON | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def payload(self) -> JSON:
        """The body as a message/response dict: JSON, or ``{"text": body}`` for plain text."""
        if not self.body:
            return {}
        try:
            decoded = json.loads(self.body)
        except ValueError:
            return {"text": self.body}
        return decoded if isinstance(decoded, dict) else {"text": self.body}


class SlackDriver:
    """Plays Slack towards the app under test, over HTTP (signed) or Socket Mode."""

    def __init__(
        self,
        standin: SlackStandIn,
        *,
        request_url: str | None = None,
        signing_secret: str | None = None,
        mode: Literal["http", "socket"] = "http",
        timeout: float = 10.0,
        ack_timeout: float = 5.0,
    ) -> None:
        if mode == "http" and (not request_url or signing_secret is None):
            raise ValueError("HTTP mode needs request_url and signing_secret")
        self.standin = standin
        self.request_url = request_url
        self.signing_secret = signing_secret
        self.mode = mode
        self.timeout = timeout
        self.ack_timeout = ack_timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._signed_at: dict[bytes, int] = {}  # body digest → the last timestamp signed

    # -- signing and raw HTTP --------------------------------------------------------------

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Slack's signature headers for ``body`` (timestamp defaults to the wall clock).

        Slack signs every delivery anew, and a retry comes seconds later: by default the same
        body is never signed twice with the same timestamp (the app refuses a replayed signature).
        """
        if self.signing_secret is None:
            raise ValueError("no signing secret")
        stamp = int(time.time()) if timestamp is None else timestamp
        if timestamp is None:
            key = hashlib.sha256(body).digest()
            stamp = max(stamp, self._signed_at.get(key, stamp - 1) + 1)
            self._signed_at[key] = stamp
        base = b"v0:" + str(stamp).encode() + b":" + body
        digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": str(stamp), "X-Slack-Signature": f"v0={digest}"}

    def raw_post(self, body: bytes, headers: Mapping[str, str]) -> DriverResponse:
        """POST exactly these bytes and headers to the app's request URL."""
        if not self.request_url:
            raise ValueError("no request_url (socket mode driver)")
        request = urllib.request.Request(
            self.request_url, data=body, headers=dict(headers), method="POST"
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return DriverResponse(
                    status=response.status,
                    headers=dict(response.headers.items()),
                    body=response.read().decode("utf-8", "replace"),
                )
        except urllib.error.HTTPError as error:
            return DriverResponse(
                status=error.code,
                headers=dict(error.headers.items()) if error.headers else {},
                body=error.read().decode("utf-8", "replace"),
            )

    def _post(
        self, body: bytes, content_type: str, extra: Mapping[str, str] | None = None
    ) -> DriverResponse:
        headers = {"Content-Type": content_type, "User-Agent": _USER_AGENT, **self.sign(body)}
        headers.update(extra or {})
        return self.raw_post(body, headers)

    def _socket(self, envelope_type: str, payload: JSON, **kwargs: Any) -> DriverResponse:
        ack = self.standin.socket_send(envelope_type, payload, timeout=self.ack_timeout, **kwargs)
        body = json.dumps(ack["payload"]) if "payload" in ack else ""
        return DriverResponse(status=200, headers={}, body=body, ack=ack)

    def _interactive(self, payload: JSON) -> DriverResponse:
        if self.mode == "socket":
            response = self._socket("interactive", payload)
        else:
            body = urlencode({"payload": json.dumps(payload)}).encode()
            response = self._post(body, "application/x-www-form-urlencoded")
        response.request = payload
        return response

    # -- building blocks -------------------------------------------------------------------

    def _user_ref(self, user_id: str) -> JSON:
        user = self.standin.user(user_id)
        return {
            "id": user_id,
            "username": user["name"],
            "name": user["name"],
            "team_id": self.standin.team_id,
        }

    def _team(self) -> JSON:
        return {"id": self.standin.team_id, "domain": self.standin.team_domain}

    def _channel_name(self, channel_id: str) -> str:
        info = self.standin.conversation(channel_id)
        return "directmessage" if info.get("is_im") else str(info.get("name", ""))

    # -- slash commands --------------------------------------------------------------------

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

    # -- block actions ---------------------------------------------------------------------

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
        block, element, option = _find_element(blocks, action_id, value, text)
        kind = str(element["type"])
        action: JSON = {
            "type": kind,
            "block_id": block["block_id"],
            "action_id": element["action_id"],
            "action_ts": self.standin.next_ts(),
        }
        values = _initial_state(blocks)
        if kind == "button":
            action["text"] = copy.deepcopy(element.get("text"))
            for name in ("value", "style", "url"):
                if name in element:
                    action[name] = element[name]
        elif kind in _MULTI_ELEMENTS:
            wanted = list(selected) if selected is not None else ([value] if value else [])
            chosen = _options_for(element, wanted)
            action["selected_options"] = chosen
            values[block["block_id"]][element["action_id"]]["selected_options"] = chosen
        elif kind in _OPTION_ELEMENTS:
            if option is None:
                raise DriverError(
                    f"{kind} {element['action_id']!r}: give the option's value or text"
                )
            action["selected_option"] = option
            if kind != "overflow":
                values[block["block_id"]][element["action_id"]]["selected_option"] = option
        else:
            key = _STATE_KEYS.get(kind)
            if key is not None:
                action[key] = value
                values[block["block_id"]][element["action_id"]][key] = value
        if selected is not None and kind not in _MULTI_ELEMENTS:
            boxes = [
                (b, e) for b, e in interactive_elements(blocks) if e.get("type") in _MULTI_ELEMENTS
            ]
            if len(boxes) != 1:
                raise DriverError(
                    "selected= needs exactly one checkboxes/multi-select element,"
                    f" found {len(boxes)}; use state= instead"
                )
            box_block, box = boxes[0]
            values[box_block["block_id"]][box["action_id"]]["selected_options"] = _options_for(
                box, list(selected)
            )
        _apply_state(blocks, values, state or {})
        return action, values

    # -- view submissions ------------------------------------------------------------------

    def submit_view(
        self,
        user_id: str,
        view: Mapping[str, Any] | str,
        values: Mapping[str, Mapping[str, Any]],
    ) -> DriverResponse:
        """Submit a modal with ``{block_id: {action_id: value or [values]}}``; applies the ack."""
        stored = self.standin.get_view(view if isinstance(view, str) else str(view["id"]))
        blocks = list(stored.get("blocks") or [])
        state = _initial_state(blocks)
        _apply_state(blocks, state, values)
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

    # -- events ----------------------------------------------------------------------------

    def event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        event_time: int | None = None,
    ) -> DriverResponse:
        """Deliver an Events API ``event_callback`` (the same event_id on retries)."""
        eid = event_id or self.standin.new_id("Ev")
        envelope: JSON = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.standin.team_id,
            "context_team_id": self.standin.team_id,
            "api_app_id": self.standin.app_id,
            "event": dict(event),
            "type": "event_callback",
            "event_id": eid,
            "event_time": event_time if event_time is not None else int(self.standin.now()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.standin.team_id,
                    "user_id": self.standin.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        if self.mode == "socket":
            response = self._socket(
                "events_api",
                envelope,
                retry_attempt=retry_num or 0,
                retry_reason=retry_reason if retry_num else "",
            )
        else:
            extra = {}
            if retry_num is not None:
                extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
            response = self._post(json.dumps(envelope).encode(), "application/json", extra)
        response.request = envelope
        response.event_id = eid
        return response

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


def _describe(element: Mapping[str, Any]) -> str:
    label = element.get("text", {}).get("text") if isinstance(element.get("text"), dict) else None
    return (
        f"{element.get('type')}(action_id={element.get('action_id')!r}, "
        f"value={element.get('value')!r}, text={label!r})"
    )


def _all_options(element: Mapping[str, Any]) -> list[JSON]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def _find_element(
    blocks: list[Any], action_id: str | None, value: str | None, text: str | None
) -> tuple[Mapping[str, Any], Mapping[str, Any], JSON | None]:
    matches: list[tuple[Mapping[str, Any], Mapping[str, Any], JSON | None]] = []
    elements = interactive_elements(blocks)
    for block, element in elements:
        if action_id is not None and element.get("action_id") != action_id:
            continue
        kind = element.get("type")
        if kind == "button":
            label = (element.get("text") or {}).get("text")
            if value is not None and element.get("value") != value:
                continue
            if text is not None and label != text:
                continue
            matches.append((block, element, None))
        elif kind in _OPTION_ELEMENTS:
            options = [
                o
                for o in _all_options(element)
                if (value is None or o.get("value") == value)
                and (text is None or (o.get("text") or {}).get("text") == text)
            ]
            if value is None and text is None:
                matches.append((block, element, None))
            elif len(options) == 1 or (options and kind in _MULTI_ELEMENTS):
                matches.append((block, element, copy.deepcopy(options[0])))
        elif action_id is not None and text is None:
            matches.append((block, element, None))  # value= is the new value here
    if not matches:
        found = ", ".join(_describe(e) for _, e in elements) or "none"
        raise DriverError(
            f"no element matches action_id={action_id!r} value={value!r} text={text!r};"
            f" interactive elements: {found}"
        )
    if len(matches) > 1:
        found = ", ".join(_describe(e) for _, e, _ in matches)
        raise DriverError(f"ambiguous: {len(matches)} elements match: {found}")
    return matches[0]


def _options_for(element: Mapping[str, Any], wanted: Sequence[str]) -> list[JSON]:
    options = {str(o.get("value")): o for o in _all_options(element)}
    missing = [w for w in wanted if w not in options]
    if missing:
        raise DriverError(
            f"{element.get('type')} {element.get('action_id')!r} has no option(s) {missing};"
            f" options: {sorted(options)}"
        )
    return [copy.deepcopy(options[w]) for w in wanted]


def _initial_state(blocks: list[Any]) -> JSON:
    """``state.values`` for every stateful element, as Slack fills it before any change."""
    values: JSON = {}
    for block, element in interactive_elements(blocks):
        kind = str(element.get("type"))
        key = _STATE_KEYS.get(kind)
        if key is None:
            continue
        entry: JSON = {"type": kind}
        initial = element.get(_INITIAL_KEYS[key])
        if key.endswith("s") and key.startswith("selected_"):
            entry[key] = copy.deepcopy(initial) if initial is not None else []
        else:
            entry[key] = copy.deepcopy(initial)
        values.setdefault(str(block["block_id"]), {})[str(element["action_id"])] = entry
    return values


def _apply_state(blocks: list[Any], values: JSON, changes: Mapping[str, Mapping[str, Any]]) -> None:
    """Set ``values[block_id][action_id]`` from plain values (option values for selects)."""
    index = {(str(b["block_id"]), str(e["action_id"])): e for b, e in interactive_elements(blocks)}
    for block_id, actions in changes.items():
        for action_id, new in actions.items():
            element = index.get((block_id, action_id))
            if element is None:
                raise DriverError(
                    f"no input {block_id}/{action_id}; inputs: {sorted('/'.join(k) for k in index)}"
                )
            kind = str(element["type"])
            key = _STATE_KEYS.get(kind)
            if key is None:
                raise DriverError(f"{kind} {block_id}/{action_id} holds no state")
            entry = values.setdefault(block_id, {}).setdefault(action_id, {"type": kind})
            if key == "selected_options" and kind in _MULTI_ELEMENTS:
                wanted = [new] if isinstance(new, str) else list(new)
                entry[key] = _options_for(element, wanted)
            elif key == "selected_option" and kind in _OPTION_ELEMENTS:
                entry[key] = None if new is None else _options_for(element, [str(new)])[0]
            else:
                entry[key] = new
