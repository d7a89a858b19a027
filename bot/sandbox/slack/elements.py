"""Block Kit elements as a person meets them: finding one by id, value or label; their state."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from .blockkit import interactive_elements
from .server import JSON

OPTION_ELEMENTS = frozenset(
    {"static_select", "multi_static_select", "radio_buttons", "checkboxes", "overflow"}
)
MULTI_ELEMENTS = frozenset({"checkboxes", "multi_static_select"})
# Element type -> the state key Slack uses for its value.
STATE_KEYS = {
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
INITIAL_KEYS = {
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


def find_element(
    blocks: list[Any], action_id: str | None, value: str | None, text: str | None
) -> tuple[Mapping[str, Any], Mapping[str, Any], JSON | None]:
    """The one element (with the option chosen, for option elements) that fits the description."""
    matches: list[tuple[Mapping[str, Any], Mapping[str, Any], JSON | None]] = []
    elements = interactive_elements(blocks)
    for block, element in elements:
        if action_id is not None and element.get("action_id") != action_id:
            continue
        fits, option = _fits(element, action_id, value, text)
        if fits:
            matches.append((block, element, option))
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


def _fits(
    element: Mapping[str, Any], action_id: str | None, value: str | None, text: str | None
) -> tuple[bool, JSON | None]:
    kind = element.get("type")
    if kind == "button":
        label = (element.get("text") or {}).get("text")
        fits = (value is None or element.get("value") == value) and (text is None or label == text)
        return fits, None
    if kind in OPTION_ELEMENTS:
        return _option_fits(element, value, text)
    return action_id is not None and text is None, None  # value= is the new value here


def _option_fits(
    element: Mapping[str, Any], value: str | None, text: str | None
) -> tuple[bool, JSON | None]:
    """Fits with no value or text given, or with one option (any, if multi) that fits them."""
    if value is None and text is None:
        return True, None
    options = [
        o
        for o in _all_options(element)
        if (value is None or o.get("value") == value)
        and (text is None or (o.get("text") or {}).get("text") == text)
    ]
    if len(options) == 1 or (options and element.get("type") in MULTI_ELEMENTS):
        return True, copy.deepcopy(options[0])
    return False, None


def choose(
    action: JSON,
    values: JSON,
    found: tuple[Mapping[str, Any], Mapping[str, Any], JSON | None],
    *,
    value: str | None,
    selected: Sequence[str] | None,
) -> None:
    """Fill in what the person chose in ``action`` and in the state ``values`` it leaves."""
    block, element, option = found
    kind = str(element["type"])
    if kind == "button":
        action["text"] = copy.deepcopy(element.get("text"))
        for name in ("value", "style", "url"):
            if name in element:
                action[name] = element[name]
    elif kind in MULTI_ELEMENTS:
        wanted = list(selected) if selected is not None else ([value] if value else [])
        chosen = options_for(element, wanted)
        action["selected_options"] = chosen
        values[block["block_id"]][element["action_id"]]["selected_options"] = chosen
    elif kind in OPTION_ELEMENTS:
        if option is None:
            raise DriverError(f"{kind} {element['action_id']!r}: give the option's value or text")
        action["selected_option"] = option
        if kind != "overflow":
            values[block["block_id"]][element["action_id"]]["selected_option"] = option
    else:
        key = STATE_KEYS.get(kind)
        if key is not None:
            action[key] = value
            values[block["block_id"]][element["action_id"]][key] = value


def select_in_only_box(blocks: list[Any], values: JSON, selected: Sequence[str]) -> None:
    """``selected=`` beside a click elsewhere: tick these in the one checkboxes/multi-select."""
    boxes = [(b, e) for b, e in interactive_elements(blocks) if e.get("type") in MULTI_ELEMENTS]
    if len(boxes) != 1:
        raise DriverError(
            "selected= needs exactly one checkboxes/multi-select element,"
            f" found {len(boxes)}; use state= instead"
        )
    box_block, box = boxes[0]
    values[box_block["block_id"]][box["action_id"]]["selected_options"] = options_for(
        box, list(selected)
    )


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


def options_for(element: Mapping[str, Any], wanted: Sequence[str]) -> list[JSON]:
    options = {str(o.get("value")): o for o in _all_options(element)}
    missing = [w for w in wanted if w not in options]
    if missing:
        raise DriverError(
            f"{element.get('type')} {element.get('action_id')!r} has no option(s) {missing};"
            f" options: {sorted(options)}"
        )
    return [copy.deepcopy(options[w]) for w in wanted]


def initial_state(blocks: list[Any]) -> JSON:
    """``state.values`` for every stateful element, as Slack fills it before any change."""
    values: JSON = {}
    for block, element in interactive_elements(blocks):
        kind = str(element.get("type"))
        key = STATE_KEYS.get(kind)
        if key is None:
            continue
        entry: JSON = {"type": kind}
        initial = element.get(INITIAL_KEYS[key])
        if key.endswith("s") and key.startswith("selected_"):
            entry[key] = copy.deepcopy(initial) if initial is not None else []
        else:
            entry[key] = copy.deepcopy(initial)
        values.setdefault(str(block["block_id"]), {})[str(element["action_id"])] = entry
    return values


def apply_state(blocks: list[Any], values: JSON, changes: Mapping[str, Mapping[str, Any]]) -> None:
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
            key = STATE_KEYS.get(kind)
            if key is None:
                raise DriverError(f"{kind} {block_id}/{action_id} holds no state")
            entry = values.setdefault(block_id, {}).setdefault(action_id, {"type": kind})
            if key == "selected_options" and kind in MULTI_ELEMENTS:
                wanted = [new] if isinstance(new, str) else list(new)
                entry[key] = options_for(element, wanted)
            elif key == "selected_option" and kind in OPTION_ELEMENTS:
                entry[key] = None if new is None else options_for(element, [str(new)])[0]
            else:
                entry[key] = new
