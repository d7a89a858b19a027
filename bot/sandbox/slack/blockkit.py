"""Block Kit limit checks, the way Slack rejects payloads (independent of the app's renderer)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import urlsplit

MESSAGE_MAX_BLOCKS: Final = 50
VIEW_MAX_BLOCKS: Final = 100
MESSAGE_MAX_ATTACHMENTS: Final = 100
MESSAGE_TEXT_MAX: Final = 40_000
SECTION_TEXT_MAX: Final = 3_000
SECTION_FIELDS_MAX: Final = 10
SECTION_FIELD_TEXT_MAX: Final = 2_000
HEADER_TEXT_MAX: Final = 150
BUTTON_TEXT_MAX: Final = 75
BUTTON_VALUE_MAX: Final = 2_000
URL_MAX: Final = 3_000
ID_MAX: Final = 255
ACTIONS_ELEMENTS_MAX: Final = 25
CONTEXT_ELEMENTS_MAX: Final = 10
CHOICE_OPTIONS_MAX: Final = 10  # radio_buttons, checkboxes
SELECT_OPTIONS_MAX: Final = 100  # static_select, multi_static_select, per option group too
OVERFLOW_OPTIONS_MAX: Final = 5
OPTION_TEXT_MAX: Final = 75
OPTION_VALUE_MAX: Final = 150
IMAGE_URL_MAX: Final = 3_000
ALT_TEXT_MAX: Final = 2_000
IMAGE_EXTENSIONS: Final = frozenset({"png", "jpg", "jpeg", "gif"})
PLACEHOLDER_MAX: Final = 150
LABEL_MAX: Final = 2_000
MODAL_TITLE_MAX: Final = 24  # also submit and close
PRIVATE_METADATA_MAX: Final = 3_000

# Element types that carry an action_id and report interactions.
INTERACTIVE_ELEMENTS: Final = frozenset(
    {
        "button",
        "checkboxes",
        "radio_buttons",
        "overflow",
        "datepicker",
        "timepicker",
        "datetimepicker",
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
        "plain_text_input",
        "email_text_input",
        "url_text_input",
        "number_input",
        "rich_text_input",
        "file_input",
        "workflow_button",
    }
)
KNOWN_BLOCKS: Final = frozenset(
    {
        "section",
        "divider",
        "image",
        "actions",
        "context",
        "input",
        "header",
        "rich_text",
        "file",
        "video",
        "markdown",
        "call",
        "table",
        "context_actions",
    }
)
_OPTION_LISTS: Final = {
    "checkboxes": CHOICE_OPTIONS_MAX,
    "radio_buttons": CHOICE_OPTIONS_MAX,
    "static_select": SELECT_OPTIONS_MAX,
    "multi_static_select": SELECT_OPTIONS_MAX,
    "overflow": OVERFLOW_OPTIONS_MAX,
}


def validate_message(payload: Mapping[str, Any]) -> list[str]:
    """Return Slack-style errors for a message's blocks and attachments (empty when valid)."""
    checker = _Checker()
    if "blocks" in payload and payload["blocks"] is not None:
        checker.blocks(payload["blocks"], "blocks", MESSAGE_MAX_BLOCKS, "message")
    attachments = payload.get("attachments")
    if isinstance(attachments, list):
        if len(attachments) > MESSAGE_MAX_ATTACHMENTS:
            checker.add(
                "attachments",
                f"{len(attachments)} attachments, at most {MESSAGE_MAX_ATTACHMENTS} allowed",
            )
        for index, attachment in enumerate(attachments):
            if isinstance(attachment, Mapping) and attachment.get("blocks") is not None:
                checker.blocks(
                    attachment["blocks"],
                    f"attachments[{index}].blocks",
                    MESSAGE_MAX_BLOCKS,
                    "message",
                )
    elif attachments is not None:
        checker.add("attachments", "must be a list")
    return checker.errors


def validate_view(view: Mapping[str, Any]) -> list[str]:
    """Return Slack-style errors for a modal or Home tab view (empty when valid)."""
    checker = _Checker()
    view_type = view.get("type")
    if view_type not in ("modal", "home"):
        checker.add("view.type", f"must be 'modal' or 'home', got {view_type!r}")
    blocks = view.get("blocks")
    if blocks is None:
        checker.add("view.blocks", "required")
    else:
        checker.blocks(blocks, "view.blocks", VIEW_MAX_BLOCKS, "modal or home view")
    if view_type == "modal":
        checker.text(view.get("title"), "view.title", MODAL_TITLE_MAX, "modal title", plain=True)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                checker.text(view[key], f"view.{key}", MODAL_TITLE_MAX, f"modal {key}", plain=True)
        has_input = isinstance(blocks, list) and any(
            isinstance(b, Mapping) and b.get("type") == "input" for b in blocks
        )
        if has_input and view.get("submit") is None:
            checker.add("view.submit", "required when the view has input blocks")
    checker.string(view.get("private_metadata"), "view.private_metadata", PRIVATE_METADATA_MAX)
    checker.string(view.get("callback_id"), "view.callback_id", ID_MAX)
    checker.string(view.get("external_id"), "view.external_id", ID_MAX)
    return checker.errors


class _Checker:
    """Walks a Block Kit tree and collects one error string per violation."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, path: str, reason: str) -> None:
        self.errors.append(f"{path}: {reason}")

    def string(self, value: object, path: str, limit: int, *, required: bool = False) -> None:
        if value is None:
            if required:
                self.add(path, "required")
            return
        if not isinstance(value, str):
            self.add(path, "must be a string")
        elif len(value) > limit:
            self.add(path, f"{len(value)} characters, at most {limit} allowed")

    def text(
        self,
        obj: object,
        path: str,
        limit: int,
        what: str,
        *,
        plain: bool = False,
        required: bool = True,
    ) -> None:
        if obj is None:
            if required:
                self.add(path, f"required ({what})")
            return
        if not isinstance(obj, Mapping):
            self.add(path, f"must be a text object ({what})")
            return
        kinds = ("plain_text",) if plain else ("plain_text", "mrkdwn")
        if obj.get("type") not in kinds:
            self.add(f"{path}.type", f"must be {' or '.join(kinds)} ({what})")
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            self.add(f"{path}.text", f"must be a non-empty string ({what})")
        elif len(text) > limit:
            self.add(f"{path}.text", f"{len(text)} characters, at most {limit} allowed ({what})")

    def blocks(self, blocks: object, path: str, limit: int, where: str) -> None:
        if not isinstance(blocks, list):
            self.add(path, "must be a list of blocks")
            return
        if len(blocks) > limit:
            self.add(path, f"{len(blocks)} blocks, at most {limit} allowed in a {where}")
        seen: set[str] = set()
        for index, block in enumerate(blocks):
            block_path = f"{path}[{index}]"
            if not isinstance(block, Mapping):
                self.add(block_path, "must be an object")
                continue
            block_id = block.get("block_id")
            if block_id is not None:
                self.string(block_id, f"{block_path}.block_id", ID_MAX)
                if isinstance(block_id, str):
                    if block_id in seen:
                        self.add(f"{block_path}.block_id", f"duplicate block_id {block_id!r}")
                    seen.add(block_id)
            self.block(block, block_path)

    def block(self, block: Mapping[str, Any], path: str) -> None:
        kind = block.get("type")
        if kind not in KNOWN_BLOCKS:
            self.add(f"{path}.type", f"unknown block type {kind!r}")
            return
        if kind == "section":
            self.section(block, path)
        elif kind == "header":
            self.text(block.get("text"), f"{path}.text", HEADER_TEXT_MAX, "header", plain=True)
        elif kind == "actions":
            self.element_list(block, path, ACTIONS_ELEMENTS_MAX, "actions block")
        elif kind == "context":
            self.element_list(block, path, CONTEXT_ELEMENTS_MAX, "context block")
        elif kind == "image":
            self.image(block, path)
        elif kind == "input":
            self.text(block.get("label"), f"{path}.label", LABEL_MAX, "input label", plain=True)
            self.text(
                block.get("hint"),
                f"{path}.hint",
                LABEL_MAX,
                "input hint",
                plain=True,
                required=False,
            )
            element = block.get("element")
            if element is None:
                self.add(f"{path}.element", "required (input block)")
            else:
                self.element(element, f"{path}.element")

    def section(self, block: Mapping[str, Any], path: str) -> None:
        text = block.get("text")
        fields = block.get("fields")
        if text is None and not fields:
            self.add(path, "a section needs text or fields")
        self.text(text, f"{path}.text", SECTION_TEXT_MAX, "section text", required=False)
        if fields is not None:
            if not isinstance(fields, list):
                self.add(f"{path}.fields", "must be a list")
            else:
                if len(fields) > SECTION_FIELDS_MAX:
                    self.add(
                        f"{path}.fields",
                        f"{len(fields)} fields, at most {SECTION_FIELDS_MAX} allowed",
                    )
                for index, field in enumerate(fields):
                    self.text(
                        field, f"{path}.fields[{index}]", SECTION_FIELD_TEXT_MAX, "section field"
                    )
        accessory = block.get("accessory")
        if accessory is not None:
            self.element(accessory, f"{path}.accessory")

    def element_list(self, block: Mapping[str, Any], path: str, limit: int, what: str) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            self.add(f"{path}.elements", f"must be a non-empty list ({what})")
            return
        if len(elements) > limit:
            self.add(
                f"{path}.elements", f"{len(elements)} elements, at most {limit} allowed ({what})"
            )
        action_ids: set[str] = set()
        for index, element in enumerate(elements):
            element_path = f"{path}.elements[{index}]"
            if block.get("type") == "context":
                self.context_element(element, element_path)
                continue
            self.element(element, element_path)
            action_id = element.get("action_id") if isinstance(element, Mapping) else None
            if isinstance(action_id, str):
                if action_id in action_ids:
                    self.add(f"{element_path}.action_id", f"duplicate action_id {action_id!r}")
                action_ids.add(action_id)

    def context_element(self, element: object, path: str) -> None:
        if not isinstance(element, Mapping):
            self.add(path, "must be an object")
        elif element.get("type") == "image":
            self.image(element, path)
        else:
            self.text(element, path, SECTION_TEXT_MAX, "context text")

    def image(self, obj: Mapping[str, Any], path: str) -> None:
        url = obj.get("image_url")
        if url is None and obj.get("slack_file") is None:
            self.add(f"{path}.image_url", "required (image)")
        elif url is not None:
            self.string(url, f"{path}.image_url", IMAGE_URL_MAX)
            if isinstance(url, str):
                name = urlsplit(url).path.rsplit("/", 1)[-1]
                if "." in name and name.rsplit(".", 1)[1].lower() not in IMAGE_EXTENSIONS:
                    self.add(f"{path}.image_url", "images must be png, jpg, jpeg or gif")
        self.string(obj.get("alt_text"), f"{path}.alt_text", ALT_TEXT_MAX, required=True)
        if obj.get("type") == "image" and obj.get("title") is not None:
            self.text(obj["title"], f"{path}.title", ALT_TEXT_MAX, "image title", plain=True)

    def element(self, element: object, path: str) -> None:
        if not isinstance(element, Mapping):
            self.add(path, "must be an object")
            return
        kind = element.get("type")
        if kind == "image":
            self.image(element, path)
            return
        if kind not in INTERACTIVE_ELEMENTS:
            self.add(f"{path}.type", f"unknown element type {kind!r}")
            return
        self.string(element.get("action_id"), f"{path}.action_id", ID_MAX)
        if element.get("placeholder") is not None:
            self.text(
                element["placeholder"],
                f"{path}.placeholder",
                PLACEHOLDER_MAX,
                "placeholder",
                plain=True,
            )
        if kind == "button":
            self.text(
                element.get("text"), f"{path}.text", BUTTON_TEXT_MAX, "button text", plain=True
            )
            self.string(element.get("value"), f"{path}.value", BUTTON_VALUE_MAX)
            self.string(element.get("url"), f"{path}.url", URL_MAX)
            style = element.get("style")
            if style is not None and style not in ("primary", "danger"):
                self.add(f"{path}.style", "must be 'primary' or 'danger'")
        elif kind in _OPTION_LISTS:
            self.options_of(element, path, kind)

    def options_of(self, element: Mapping[str, Any], path: str, kind: str) -> None:
        limit = _OPTION_LISTS[kind]
        plain = kind in ("static_select", "multi_static_select", "overflow")
        options = element.get("options")
        groups = element.get("option_groups")
        if groups is not None and kind in ("static_select", "multi_static_select"):
            if not isinstance(groups, list) or not groups:
                self.add(f"{path}.option_groups", "must be a non-empty list")
                return
            if len(groups) > SELECT_OPTIONS_MAX:
                self.add(
                    f"{path}.option_groups",
                    f"{len(groups)} groups, at most {SELECT_OPTIONS_MAX} allowed",
                )
            for index, group in enumerate(groups):
                group_path = f"{path}.option_groups[{index}]"
                if not isinstance(group, Mapping):
                    self.add(group_path, "must be an object")
                    continue
                self.text(group.get("label"), f"{group_path}.label", OPTION_TEXT_MAX, "group label")
                self.option_list(group.get("options"), f"{group_path}.options", limit, plain, kind)
            return
        self.option_list(options, f"{path}.options", limit, plain, kind)

    def option_list(self, options: object, path: str, limit: int, plain: bool, kind: str) -> None:
        if not isinstance(options, list) or not options:
            self.add(path, f"must be a non-empty list ({kind})")
            return
        if len(options) > limit:
            self.add(path, f"{len(options)} options, at most {limit} allowed ({kind})")
        for index, option in enumerate(options):
            self.option(option, f"{path}[{index}]", plain=plain)

    def option(self, option: object, path: str, *, plain: bool) -> None:
        if not isinstance(option, Mapping):
            self.add(path, "must be an option object")
            return
        self.text(option.get("text"), f"{path}.text", OPTION_TEXT_MAX, "option text", plain=plain)
        self.string(option.get("value"), f"{path}.value", OPTION_VALUE_MAX, required=True)
        self.text(
            option.get("description"),
            f"{path}.description",
            OPTION_TEXT_MAX,
            "option description",
            plain=plain,
            required=False,
        )
        self.string(option.get("url"), f"{path}.url", URL_MAX)


def interactive_elements(
    blocks: Sequence[Any],
) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """Return (block, element) pairs for every interactive element in a list of blocks."""
    found: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = []
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        candidates: list[Any] = []
        if block.get("type") == "actions":
            candidates = list(block.get("elements") or [])
        elif block.get("type") == "section" and block.get("accessory") is not None:
            candidates = [block["accessory"]]
        elif block.get("type") == "input" and block.get("element") is not None:
            candidates = [block["element"]]
        for element in candidates:
            if isinstance(element, Mapping) and element.get("type") in INTERACTIVE_ELEMENTS:
                found.append((block, element))
    return found
