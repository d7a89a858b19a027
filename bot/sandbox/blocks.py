"""Block Kit as HTML, the way Slack's client lays it out, with hooks for the page's script.

Interactive elements carry `data-block`, `data-action` and `data-kind`; the script sends what the
person did and the sandbox turns it into the payload Slack would send. Every text is escaped by
bot.sandbox.markup.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.markup import Viewer, mrkdwn, plain

JSON = dict[str, Any]
# What a stateful element holds now, by (block_id, action_id); None: its initial value.
State = Callable[[str, str], Any]


@dataclass(frozen=True)
class Choices:
    """What Slack fills user and conversation selects with."""

    people: Sequence[tuple[str, str]] = ()
    channels: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class Context:
    viewer: Viewer
    choices: Choices = field(default_factory=Choices)
    state: State = lambda _block, _action: None


def render_blocks(blocks: Sequence[Any], context: Context) -> str:
    return "".join(render_block(block, context) for block in blocks if isinstance(block, dict))


def render_block(block: JSON, context: Context) -> str:
    kind = str(block.get("type"))
    render = _BLOCKS.get(kind)
    if render is None:
        return f'<div class="bk-unknown">({html.escape(kind)} block)</div>'
    return render(block, context)


def text_object(value: object, context: Context) -> str:
    """A text object (mrkdwn or plain_text) as HTML."""
    if not isinstance(value, dict):
        return ""
    if value.get("type") == "mrkdwn":
        return mrkdwn(value.get("text"), context.viewer)
    return plain(value.get("text"), emoji=value.get("emoji", True) is not False)


def _header(block: JSON, context: Context) -> str:
    return f'<h3 class="bk-header">{text_object(block.get("text"), context)}</h3>'


def _section(block: JSON, context: Context) -> str:
    parts = []
    if block.get("text"):
        parts.append(f'<div class="bk-text">{text_object(block["text"], context)}</div>')
    fields = [text_object(f, context) for f in block.get("fields") or []]
    if fields:
        cells = "".join(f'<div class="bk-field">{f}</div>' for f in fields)
        parts.append(f'<div class="bk-fields">{cells}</div>')
    accessory = block.get("accessory")
    side = ""
    if isinstance(accessory, dict):
        side = f'<div class="bk-accessory">{element(accessory, block, context)}</div>'
    return f'<div class="bk-section"><div class="bk-main">{"".join(parts)}</div>{side}</div>'


def _context(block: JSON, context: Context) -> str:
    items = []
    for item in block.get("elements") or []:
        if isinstance(item, dict) and item.get("type") == "image":
            items.append(_image_stub(item.get("image_url"), item.get("alt_text"), small=True))
        else:
            items.append(f"<span>{text_object(item, context)}</span>")
    return f'<div class="bk-context">{"".join(items)}</div>'


def _divider(block: JSON, context: Context) -> str:
    return '<hr class="bk-divider">'


def _image(block: JSON, context: Context) -> str:
    title = text_object(block.get("title"), context)
    stub = _image_stub(block.get("image_url") or block.get("slack_file"), block.get("alt_text"))
    caption = f"<figcaption>{title}</figcaption>" if title else ""
    return f'<figure class="bk-image">{caption}{stub}</figure>'


def _image_stub(url: object, alt: object, *, small: bool = False) -> str:
    """An image as its alt text and address: the sandbox loads nothing from outside."""
    label = html.escape(str(alt or "image"))
    if small:
        return f'<span class="bk-img-small" title="{label}">🖼</span>'
    link = ""
    if isinstance(url, str) and url.lower().startswith(("http://", "https://")):
        address = html.escape(url)
        link = f'<a href="{address}" target="_blank" rel="noopener noreferrer">{address}</a>'
    return f'<div class="bk-img" role="img" aria-label="{label}">🖼 {label}<br>{link}</div>'


def _actions(block: JSON, context: Context) -> str:
    items = "".join(element(e, block, context) for e in block.get("elements") or [])
    return f'<div class="bk-actions">{items}</div>'


def _input(block: JSON, context: Context) -> str:
    block_id = str(block.get("block_id", ""))
    label = text_object(block.get("label"), context)
    optional = '<span class="optional">(optional)</span>' if block.get("optional") else ""
    inner = element(block.get("element") or {}, block, context, in_form=True)
    hint = text_object(block.get("hint"), context)
    # The page fills this slot with the app's error for the field when a submission is refused.
    return (
        f'<div class="bk-input" data-input="{_attr(block_id)}">'
        f"<label>{label} {optional}</label>{inner}"
        + (f'<div class="hint">{hint}</div>' if hint else "")
        + '<div class="error" role="alert" hidden></div></div>'
    )


def _rich_text(block: JSON, context: Context) -> str:
    words: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                words.append(node["text"])
            for child in node.get("elements") or []:
                walk(child)

    walk(block)
    return f'<div class="bk-text">{plain("".join(words))}</div>'


def _markdown(block: JSON, context: Context) -> str:
    return f'<div class="bk-text markdown">{plain(block.get("text"), emoji=False)}</div>'


_BLOCKS: Mapping[str, Callable[[JSON, Context], str]] = {
    "header": _header,
    "section": _section,
    "context": _context,
    "divider": _divider,
    "image": _image,
    "actions": _actions,
    "input": _input,
    "rich_text": _rich_text,
    "markdown": _markdown,
}


# -- elements ------------------------------------------------------------------------------


def element(item: Any, block: JSON, context: Context, *, in_form: bool = False) -> str:
    if not isinstance(item, dict):
        return ""
    kind = str(item.get("type"))
    if kind == "image":
        return _image_stub(item.get("image_url"), item.get("alt_text"), small=True)
    hooks = _hooks(item, block, in_form=in_form)
    current = context.state(str(block.get("block_id", "")), str(item.get("action_id", "")))
    if kind == "button":
        return _button(item, hooks, context)
    if kind in ("static_select", "external_select", "overflow"):
        return _select(item, hooks, context, current)
    if kind in ("checkboxes", "radio_buttons", "multi_static_select", "multi_external_select"):
        return _choices(item, hooks, context, current)
    if kind in ("users_select", "conversations_select", "channels_select"):
        return _entity_select(item, hooks, context, current, multi=False)
    if kind in ("multi_users_select", "multi_conversations_select", "multi_channels_select"):
        return _entity_select(item, hooks, context, current, multi=True)
    if kind in _INPUT_TYPES:
        return _text_input(item, hooks, context, current)
    return f'<span class="bk-unknown">({html.escape(kind)})</span>'


_INPUT_TYPES: Mapping[str, str] = {
    "plain_text_input": "text",
    "email_text_input": "email",
    "url_text_input": "url",
    "number_input": "number",
    "datepicker": "date",
    "timepicker": "time",
}


def _attr(value: object) -> str:
    return html.escape(str(value), quote=True)


def _hooks(item: JSON, block: JSON, *, in_form: bool) -> str:
    """The attributes the page's script reads; `data-act` elements act when used."""
    parts = [
        f'data-block="{_attr(block.get("block_id", ""))}"',
        f'data-action="{_attr(item.get("action_id", ""))}"',
        f'data-kind="{_attr(item.get("type", ""))}"',
    ]
    if not in_form:
        parts.append("data-act")
    return " ".join(parts)


def _button(item: JSON, hooks: str, context: Context) -> str:
    style = item.get("style")
    classes = "bk-button" + (f" {style}" if style in ("primary", "danger") else "")
    extra = ""
    if "value" in item:
        extra += f' data-value="{_attr(item["value"])}"'
    if isinstance(item.get("url"), str):
        extra += f' data-url="{_attr(item["url"])}"'
    confirm = item.get("confirm")
    if isinstance(confirm, dict):
        question = {
            key: str((confirm.get(key) or {}).get("text", ""))
            for key in ("title", "text", "confirm", "deny")
        }
        extra += f" data-confirm='{_attr(json.dumps(question))}'"
    label = text_object(item.get("text"), context)
    return f'<button type="button" class="{classes}" {hooks}{extra}>{label}</button>'


def _options(item: JSON) -> list[JSON]:
    options = [o for o in item.get("options") or [] if isinstance(o, dict)]
    for group in item.get("option_groups") or []:
        options += [o for o in (group or {}).get("options") or [] if isinstance(o, dict)]
    return options


def _chosen(item: JSON, current: Any, *, multi: bool) -> set[str]:
    """Values now chosen: what the person picked, or the element's initial option(s)."""
    if current is not None:
        values = current if isinstance(current, list) else [current]
        return {str(v) for v in values}
    if multi:
        return {str(o.get("value")) for o in item.get("initial_options") or []}
    initial = item.get("initial_option")
    return {str(initial.get("value"))} if isinstance(initial, dict) else set()


def _select(item: JSON, hooks: str, context: Context, current: Any) -> str:
    chosen = _chosen(item, current, multi=False)
    placeholder = (
        "⋯"
        if item.get("type") == "overflow"
        else plain((item.get("placeholder") or {}).get("text") or "Choose…")
    )
    options = [f'<option value="">{placeholder}</option>']
    for option in _options(item):
        value = str(option.get("value"))
        selected = " selected" if value in chosen else ""
        label = text_object(option.get("text"), context)
        options.append(f'<option value="{_attr(value)}"{selected}>{label}</option>')
    return f'<select class="bk-select" {hooks}>{"".join(options)}</select>'


def _choices(item: JSON, hooks: str, context: Context, current: Any) -> str:
    radio = item.get("type") == "radio_buttons"
    chosen = _chosen(item, current, multi=not radio)
    kind = "radio" if radio else "checkbox"
    rows = []
    for option in _options(item):
        value = str(option.get("value"))
        checked = " checked" if value in chosen else ""
        label = text_object(option.get("text"), context)
        description = text_object(option.get("description"), context)
        note = f'<span class="description">{description}</span>' if description else ""
        rows.append(
            f'<label class="bk-choice"><input type="{kind}" value="{_attr(value)}"{checked}>'
            f"<span>{label}</span>{note}</label>"
        )
    return f'<div class="bk-choices" role="group" {hooks}>{"".join(rows)}</div>'


def _entity_select(item: JSON, hooks: str, context: Context, current: Any, *, multi: bool) -> str:
    kind = str(item.get("type"))
    people = "users" in kind
    entries = context.choices.people if people else context.choices.channels
    chosen = _entities_chosen(item, current, people=people, multi=multi)
    prefix = "" if people else "#"
    if multi:
        rows = "".join(
            f'<label class="bk-choice"><input type="checkbox" value="{_attr(eid)}"'
            f"{' checked' if eid in chosen else ''}>"
            f"<span>{prefix}{html.escape(name)}</span></label>"
            for eid, name in entries
        )
        return f'<div class="bk-choices entities" role="group" {hooks}>{rows}</div>'
    options = ['<option value="">Choose…</option>'] + [
        f'<option value="{_attr(eid)}"{" selected" if eid in chosen else ""}>'
        f"{prefix}{html.escape(name)}</option>"
        for eid, name in entries
    ]
    return f'<select class="bk-select" {hooks}>{"".join(options)}</select>'


def _entities_chosen(item: JSON, current: Any, *, people: bool, multi: bool) -> set[str]:
    """The ids chosen now, or else those the element starts with (``initial_channel(s)`` too)."""
    initial_key = (
        ("initial_users" if multi else "initial_user")
        if people
        else ("initial_conversations" if multi else "initial_conversation")
    )
    initial = item.get(initial_key) or item.get(initial_key.replace("conversation", "channel"))
    source = current if current is not None else initial
    return {source} if isinstance(source, str) else {str(v) for v in source or []}


def _text_input(item: JSON, hooks: str, context: Context, current: Any) -> str:
    kind = str(item.get("type"))
    initial_key = {"datepicker": "initial_date", "timepicker": "initial_time"}.get(
        kind, "initial_value"
    )
    value = current if current is not None else item.get(initial_key)
    shown = "" if value is None else _attr(value)
    placeholder = _attr((item.get("placeholder") or {}).get("text") or "")
    if kind == "plain_text_input" and item.get("multiline"):
        return (
            f'<textarea class="bk-textarea" rows="4" placeholder="{placeholder}" {hooks}>'
            f"{shown}</textarea>"
        )
    limit = f' maxlength="{int(item["max_length"])}"' if item.get("max_length") else ""
    return (
        f'<input class="bk-field-input" type="{_INPUT_TYPES[kind]}" value="{shown}"'
        f' placeholder="{placeholder}"{limit} {hooks}>'
    )
