"""The shape of what Slack sends, checked before any listener reads it.

Listeners index payloads directly (`body["user"]["id"]`); a signed payload of another shape
would otherwise end in a KeyError and a traceback. Only the parts the listeners read are
checked, and only their types and sizes: what the values mean is checked where they are used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

SLACK_ID = re.compile(r"[A-Z0-9]{1,32}")
SLACK_TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,8}")  # a message's timestamp, like 1700000000.000300
MAX_TEXT = 40_000  # Slack's own limit for a message's text

Check = Callable[[Any], bool]


def slack_id(value: Any) -> bool:
    return isinstance(value, str) and SLACK_ID.fullmatch(value) is not None


def timestamp(value: Any) -> bool:
    return isinstance(value, str) and SLACK_TS.fullmatch(value) is not None


def short(value: Any) -> bool:
    """A short token: an event id, a trigger id, a type."""
    return isinstance(value, str) and len(value) <= 64


def text(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TEXT


def flag(value: Any) -> bool:
    return isinstance(value, bool)


def mapping(value: Any) -> bool:
    return isinstance(value, dict)


def optional(check: Check) -> Check:
    return lambda value: value is None or check(value)


def shaped(fields: Mapping[str, Check], *, required: tuple[str, ...] = ()) -> Check:
    """A dict whose `required` fields are present and whose known fields pass their check."""

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        if any(name not in value for name in required):
            return False
        return all(name not in value or ok(value[name]) for name, ok in fields.items())

    return check


def list_of(check: Check, *, least: int = 0, most: int = 100) -> Check:
    return lambda value: (
        isinstance(value, list) and least <= len(value) <= most and all(map(check, value))
    )


_USER = shaped({"id": slack_id, "team_id": optional(slack_id)}, required=("id",))
_TEAM = optional(shaped({"id": optional(slack_id)}))
_ACTION = shaped(
    {
        "action_id": text,
        "block_id": optional(text),
        "value": optional(text),
        "selected_option": optional(mapping),
        "selected_options": optional(list_of(mapping)),
    },
    required=("action_id",),
)
_STATE = optional(shaped({"values": optional(mapping)}))
_VIEW_FIELDS: dict[str, Check] = {
    "type": text,
    "id": optional(text),
    "callback_id": optional(text),
    "private_metadata": optional(text),
    "state": _STATE,
}
_VIEW = shaped(_VIEW_FIELDS)
# Bolt itself reads a submitted view's `type` and `callback_id`.
_SUBMITTED = shaped({**_VIEW_FIELDS, "callback_id": text}, required=("type", "callback_id"))
_CONTAINER = shaped({"channel_id": optional(slack_id), "message_ts": optional(timestamp)})
_COMMON = {
    "user": _USER,
    "team": _TEAM,
    "trigger_id": optional(text),
    "response_url": optional(text),
    "container": optional(_CONTAINER),
    "channel": optional(mapping),
    "message": optional(mapping),
    "view": optional(_VIEW),
    "state": _STATE,
}
_INTERACTIVE: dict[str, Check] = {
    "block_actions": shaped(
        {**_COMMON, "actions": list_of(_ACTION, least=1)}, required=("user", "actions")
    ),
    "view_submission": shaped({**_COMMON, "view": _SUBMITTED}, required=("user", "view")),
    "view_closed": shaped({**_COMMON, "view": _SUBMITTED}, required=("user", "view")),
}
_COMMAND = shaped(
    {
        "command": text,
        "text": optional(text),
        "user_id": slack_id,
        "team_id": optional(slack_id),
        "channel_id": optional(slack_id),
        "trigger_id": optional(text),
        "response_url": optional(text),
    },
    required=("command", "user_id"),
)
_MESSAGE_FIELDS: dict[str, Check] = {
    "channel": optional(slack_id),
    "user": optional(slack_id),
    "ts": optional(timestamp),
    "thread_ts": optional(timestamp),
    "deleted_ts": optional(timestamp),
    "subtype": optional(short),
    "text": optional(text),
    "bot_id": optional(text),
}
_ITEM = shaped({"type": optional(short), "channel": optional(slack_id), "ts": optional(timestamp)})
_EVENTS: dict[str, Check] = {
    "message": shaped(
        {
            **_MESSAGE_FIELDS,
            "message": optional(shaped(_MESSAGE_FIELDS)),
            "previous_message": optional(shaped(_MESSAGE_FIELDS)),
        },
        required=("channel",),
    ),
    "member_joined_channel": shaped(
        {"user": slack_id, "channel": slack_id}, required=("user", "channel")
    ),
    "app_home_opened": shaped({"user": slack_id, "tab": optional(text)}, required=("user",)),
    # A workspace member's profile changed; `deleted` when their account was deactivated.
    "user_change": shaped(
        {
            "user": shaped(
                {
                    "id": slack_id,
                    "team_id": optional(slack_id),
                    "deleted": optional(flag),
                    "is_bot": optional(flag),
                    "is_admin": optional(flag),
                    "is_owner": optional(flag),
                    "name": optional(text),
                    "real_name": optional(text),
                    "tz": optional(text),
                    "profile": optional(mapping),
                },
                required=("id",),
            )
        },
        required=("user",),
    ),
    "reaction_added": shaped({"item": optional(_ITEM)}),
    "reaction_removed": shaped({"item": optional(_ITEM)}),
}
_ENVELOPE = shaped(
    {
        "event": shaped({"type": short}, required=("type",)),
        "team_id": optional(slack_id),
        "event_id": optional(short),
    },
    required=("event",),
)


def problem(body: Mapping[str, Any]) -> str | None:
    """What is wrong with the payload's shape, in a few words; None when nothing is."""
    kind = body.get("type")
    if kind is not None and not isinstance(kind, str):
        return "a payload whose type is not a word"
    if "command" in body:
        return None if _COMMAND(body) else "a slash command without its fields"
    if kind in _INTERACTIVE:
        return None if _INTERACTIVE[kind](body) else f"a {kind} payload of the wrong shape"
    if kind == "event_callback":
        if not _ENVELOPE(body):
            return "an event envelope of the wrong shape"
        event = body["event"]
        check = _EVENTS.get(event["type"])
        if check is not None and not check(event):
            return f"a {event['type']} event of the wrong shape"
    return None
