"""The parts of Slack's envelopes that Bolt reads without checking their type.

Bolt indexes into a payload as Slack shapes it (`body["actions"][0]`, `body["view"].get(…)`,
`body["event"]["type"]`, a listener's pattern matched against `action_id`); a signed payload of
another shape raises inside Bolt's dispatch, before any listener or error handler, as a 500.
Slack never sends such shapes, so a payload that has them is refused as malformed instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Each name, where present: the types Slack sends for it (None for JSON null).
_ENVELOPE: dict[str, tuple[type[Any] | None, ...]] = {
    "type": (str,),
    "callback_id": (str,),
    "view": (dict,),
    "container": (dict,),
    "message": (dict,),
    "state": (dict,),
    "workflow_step": (dict,),
    "team": (dict, None),
    "channel": (dict, None),
    "enterprise": (dict, None),
    "user": (dict, str, None),
}
_EVENT: dict[str, tuple[type[Any] | None, ...]] = {
    "type": (str,),
    "subtype": (str, None),
    "message": (dict,),
    "previous_message": (dict,),
}
_ACTION: dict[str, tuple[type[Any] | None, ...]] = {"action_id": (str,), "block_id": (str,)}
_VIEW: dict[str, tuple[type[Any] | None, ...]] = {"callback_id": (str,), "type": (str,)}


def well_formed(payload: Mapping[str, Any]) -> bool:
    """Whether Bolt can route this payload (the envelope, its event, actions, view)."""
    if not _fits(payload, _ENVELOPE):
        return False
    if "event" in payload and not (
        isinstance(payload["event"], dict) and _fits(payload["event"], _EVENT)
    ):
        return False
    if "view" in payload and not _fits(payload["view"], _VIEW):
        return False
    actions = payload.get("actions", [{}])
    if not (isinstance(actions, list) and actions):
        return False
    if not all(isinstance(action, dict) and _fits(action, _ACTION) for action in actions):
        return False
    authorizations = payload.get("authorizations", [])
    return isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)


def _fits(part: Mapping[str, Any], shapes: dict[str, tuple[type[Any] | None, ...]]) -> bool:
    for name, kinds in shapes.items():
        if name in part:
            value = part[name]
            if not any(
                value is None if kind is None else isinstance(value, kind) for kind in kinds
            ):
                return False
    return True
