"""Slack's Block Kit limits, checked in one place before anything is sent."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
URL = 3000
ACTION_ID = 255
BLOCK_ID = 255
ACTIONS_ELEMENTS = 25
CONTEXT_ELEMENTS = 10
CHOICE_OPTIONS = 10
SELECT_OPTIONS = 100
OPTION_TEXT = 75
OPTION_VALUE = 150
ALT_TEXT = 2000
VIEW_TITLE = 24
PRIVATE_METADATA = 3000
MESSAGE_TEXT = 40000
CONTEXT_TEXT = 3000


class BlockKitError(ValueError):
    """A payload Slack would refuse; the message lists every violation."""


def check_message(message: Mapping[str, Any]) -> list[str]:
    """Every way `message` (text + blocks) breaks Slack's limits; empty when it is fine."""
    errors: list[str] = []
    text = message.get("text")
    blocks = message.get("blocks") or []
    if blocks and not (isinstance(text, str) and text.strip()):
        errors.append("text: a plain-text fallback is required with blocks")
    if isinstance(text, str) and len(text) > MESSAGE_TEXT:
        errors.append(f"text: {len(text)} characters; Slack truncates past {MESSAGE_TEXT}")
    _blocks(blocks, MESSAGE_BLOCKS, errors)
    return errors


def check_view(view: Mapping[str, Any]) -> list[str]:
    """Every way a modal or Home tab breaks Slack's limits."""
    errors: list[str] = []
    if view.get("type") == "modal":
        for key in ("title", "submit", "close"):
            _text(view.get(key), key, VIEW_TITLE, errors, required=key == "title")
    metadata = view.get("private_metadata")
    if isinstance(metadata, str) and len(metadata) > PRIVATE_METADATA:
        errors.append(f"private_metadata: {len(metadata)} characters; at most {PRIVATE_METADATA}")
    _blocks(view.get("blocks") or [], VIEW_BLOCKS, errors)
    return errors


def validate_message(message: Mapping[str, Any]) -> None:
    errors = check_message(message)
    if errors:
        raise BlockKitError("; ".join(errors))


def validate_view(view: Mapping[str, Any]) -> None:
    errors = check_view(view)
    if errors:
        raise BlockKitError("; ".join(errors))


def _blocks(blocks: Sequence[Any], limit: int, errors: list[str]) -> None:
    if len(blocks) > limit:
        errors.append(f"blocks: {len(blocks)} blocks; at most {limit}")
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        path = f"blocks[{index}]"
        if not isinstance(block, Mapping):
            errors.append(f"{path}: not an object")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            _length(block_id, f"{path}.block_id", BLOCK_ID, errors)
            if block_id in seen:
                errors.append(f"{path}.block_id: {block_id!r} is used twice in one message")
            seen.add(block_id)
        _block(block, path, errors)


def _block(block: Mapping[str, Any], path: str, errors: list[str]) -> None:
    kind = block.get("type")
    check = _BLOCK_CHECKS.get(kind) if isinstance(kind, str) else None
    if check is not None:
        check(block, path, errors)
    elif kind not in ("divider", "rich_text", "file", "video"):
        errors.append(f"{path}.type: unknown block type {kind!r}")


def _section(block: Mapping[str, Any], path: str, errors: list[str]) -> None:
    _text(block.get("text"), f"{path}.text", SECTION_TEXT, errors, required="fields" not in block)
    fields = block.get("fields") or []
    if len(fields) > SECTION_FIELDS:
        errors.append(f"{path}.fields: {len(fields)} fields; at most {SECTION_FIELDS}")
    for i, field in enumerate(fields):
        _text(field, f"{path}.fields[{i}]", FIELD_TEXT, errors, required=True)
    if "accessory" in block:
        _element(block["accessory"], f"{path}.accessory", errors)


def _header(block: Mapping[str, Any], path: str, errors: list[str]) -> None:
    _text(block.get("text"), f"{path}.text", HEADER_TEXT, errors, required=True, plain=True)


def _actions(block: Mapping[str, Any], path: str, errors: list[str]) -> None:
    elements = block.get("elements") or []
    if not elements or len(elements) > ACTIONS_ELEMENTS:
        errors.append(f"{path}.elements: {len(elements)} elements; 1 to {ACTIONS_ELEMENTS}")
    _elements(elements, path, errors)


def _context(block: Mapping[str, Any], path: str, errors: list[str]) -> None:
    elements = block.get("elements") or []
    if not elements or len(elements) > CONTEXT_ELEMENTS:
        errors.append(f"{path}.elements: {len(elements)} elements; 1 to {CONTEXT_ELEMENTS}")
    for i, element in enumerate(elements):
        if isinstance(element, Mapping) and element.get("type") == "image":
            _image(element, f"{path}.elements[{i}]", errors)
        else:
            _text(element, f"{path}.elements[{i}]", CONTEXT_TEXT, errors, required=True)


def _image_block(block: Mapping[str, Any], path: str, errors: list[str]) -> None:
    _image(block, path, errors)
    if "title" in block:
        _text(block["title"], f"{path}.title", 2000, errors, plain=True)


def _input(block: Mapping[str, Any], path: str, errors: list[str]) -> None:
    _text(block.get("label"), f"{path}.label", 2000, errors, required=True, plain=True)
    _element(block.get("element"), f"{path}.element", errors)


_BLOCK_CHECKS: dict[str, Callable[[Mapping[str, Any], str, list[str]], None]] = {
    "section": _section,
    "header": _header,
    "actions": _actions,
    "context": _context,
    "image": _image_block,
    "input": _input,
}


def _elements(elements: Sequence[Any], path: str, errors: list[str]) -> None:
    seen: set[str] = set()
    for i, element in enumerate(elements):
        element_path = f"{path}.elements[{i}]"
        _element(element, element_path, errors)
        action_id = element.get("action_id") if isinstance(element, Mapping) else None
        if action_id is not None:
            if action_id in seen:
                errors.append(f"{element_path}.action_id: {action_id!r} repeats within the block")
            seen.add(action_id)


def _element(element: Any, path: str, errors: list[str]) -> None:
    if not isinstance(element, Mapping):
        errors.append(f"{path}: not an object")
        return
    kind = element.get("type")
    if "action_id" in element:
        _length(element["action_id"], f"{path}.action_id", ACTION_ID, errors)
    if kind == "button":
        _text(element.get("text"), f"{path}.text", BUTTON_TEXT, errors, required=True, plain=True)
        if "value" in element:
            _length(element["value"], f"{path}.value", BUTTON_VALUE, errors)
        if "url" in element:
            _length(element["url"], f"{path}.url", URL, errors)
    elif kind in ("checkboxes", "radio_buttons"):
        _options(element.get("options"), path, CHOICE_OPTIONS, errors)
    elif kind == "static_select":
        _options(element.get("options"), path, SELECT_OPTIONS, errors)
    elif kind == "image":
        _image(element, path, errors)
    elif kind == "plain_text_input" and not 1 <= int(element.get("max_length", 3000)) <= 3000:
        errors.append(f"{path}.max_length: must be 1 to 3000")


def _options(options: Any, path: str, limit: int, errors: list[str]) -> None:
    options = options or []
    if not options or len(options) > limit:
        errors.append(f"{path}.options: {len(options)} options; 1 to {limit}")
    for i, option in enumerate(options):
        option_path = f"{path}.options[{i}]"
        _text(option.get("text"), f"{option_path}.text", OPTION_TEXT, errors, required=True)
        _length(option.get("value", ""), f"{option_path}.value", OPTION_VALUE, errors)


def _image(image: Mapping[str, Any], path: str, errors: list[str]) -> None:
    # An uploaded file (`slack_file: {"id": …}`) stands in for a public URL.
    if not isinstance(image.get("slack_file"), Mapping):
        _length(image.get("image_url", ""), f"{path}.image_url", URL, errors, required=True)
    _length(image.get("alt_text", ""), f"{path}.alt_text", ALT_TEXT, errors, required=True)


def _text(
    value: Any,
    path: str,
    limit: int,
    errors: list[str],
    *,
    required: bool = False,
    plain: bool = False,
) -> None:
    if value is None:
        if required:
            errors.append(f"{path}: missing")
        return
    if not isinstance(value, Mapping) or value.get("type") not in ("plain_text", "mrkdwn"):
        errors.append(f"{path}: must be a text object (plain_text or mrkdwn)")
        return
    if plain and value.get("type") != "plain_text":
        errors.append(f"{path}: must be plain_text")
    _length(value.get("text", ""), path, limit, errors, required=required)


def _length(
    value: Any, path: str, limit: int, errors: list[str], *, required: bool = False
) -> None:
    if not isinstance(value, str):
        errors.append(f"{path}: must be a string")
        return
    if required and not value.strip():
        errors.append(f"{path}: empty")
    if len(value) > limit:
        errors.append(f"{path}: {len(value)} characters; at most {limit}")
