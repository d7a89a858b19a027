"""Markdown → Slack mrkdwn, as a list of paragraph-sized pieces so long lessons split cleanly."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

BULLETS = ("•", "◦", "▪")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")


@dataclass(frozen=True)
class Piece:
    """One paragraph, heading, list item, quote or code block, already in mrkdwn."""

    text: str
    line: int  # 0-based line in the Markdown it came from
    joins_previous: bool = False  # list items after the first stay on adjacent lines


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("strikethrough")


def escape(text: str) -> str:
    """Slack's three control characters, escaped as Slack requires."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_pieces(markdown: str) -> list[Piece]:
    """Convert Markdown to mrkdwn pieces, in order."""
    root = SyntaxTreeNode(_parser().parse(markdown))
    pieces: list[Piece] = []
    for node in root.children:
        _block(node, pieces, depth=0)
    return [piece for piece in pieces if piece.text.strip()]


@lru_cache(maxsize=4096)  # the same question, option and feedback texts come back all day
def to_mrkdwn(markdown: str) -> str:
    """Convert Markdown to one mrkdwn string (for short texts: feedback, practice, questions)."""
    out: list[str] = []
    for piece in to_pieces(markdown):
        if out:
            out.append("\n" if piece.joins_previous else "\n\n")
        out.append(piece.text)
    return "".join(out)


def _line(node: SyntaxTreeNode) -> int:
    return node.map[0] if node.map else 0


def _block(node: SyntaxTreeNode, pieces: list[Piece], *, depth: int) -> None:
    kind = node.type
    if kind == "paragraph":
        pieces.append(Piece(_inline_of(node), _line(node)))
    elif kind == "heading":
        text = _inline_of(node, plain=True)
        pieces.append(Piece(f"*{text}*", _line(node)))
    elif kind in ("bullet_list", "ordered_list"):
        _list(node, pieces, depth=depth)
    elif kind == "blockquote":
        inner: list[Piece] = []
        for child in node.children:
            _block(child, inner, depth=depth)
        text = "\n>\n".join("\n".join(f"> {line}" for line in p.text.split("\n")) for p in inner)
        pieces.append(Piece(text, _line(node)))
    elif kind in ("fence", "code_block"):
        code = node.content.rstrip("\n")
        pieces.append(Piece(f"```\n{escape(code)}\n```", _line(node)))
    elif kind == "hr":
        pieces.append(Piece("───────────", _line(node)))
    else:  # html_block and anything the parser adds later: show the text, never markup
        pieces.append(Piece(escape(node.content.strip()), _line(node)))


def _list(node: SyntaxTreeNode, pieces: list[Piece], *, depth: int) -> None:
    ordered = node.type == "ordered_list"
    start = int(node.attrs.get("start", 1) or 1) if ordered else 1
    indent = "    " * depth
    for index, item in enumerate(node.children):
        marker = f"{start + index}." if ordered else BULLETS[min(depth, len(BULLETS) - 1)]
        texts: list[str] = []
        nested: list[Piece] = []
        for child in item.children:
            if child.type in ("bullet_list", "ordered_list"):
                _list(child, nested, depth=depth + 1)
            else:
                sub: list[Piece] = []
                _block(child, sub, depth=depth + 1)
                texts.extend(piece.text for piece in sub)
        body = "\n".join(texts).replace("\n", "\n" + indent + "   ")
        joins = index > 0 or depth > 0
        pieces.append(Piece(f"{indent}{marker} {body}", _line(item), joins_previous=joins))
        pieces.extend(nested)


def _inline_of(node: SyntaxTreeNode, *, plain: bool = False) -> str:
    return (
        "".join(_inline(child, plain=plain) for child in node.children[0].children)
        if (node.children and node.children[0].type == "inline")
        else ""
    )


def _inline(node: SyntaxTreeNode, *, plain: bool) -> str:
    kind = node.type
    if kind == "text":
        return escape(node.content)
    if kind == "softbreak":
        return " "
    if kind == "hardbreak":
        return "\n"
    if kind == "code_inline":
        return f"`{escape(node.content)}`"
    inner = "".join(_inline(child, plain=plain) for child in node.children)
    if kind in ("strong", "em", "s"):
        if plain or not inner.strip():
            return inner
        mark = {"strong": "*", "em": "_", "s": "~"}[kind]
        return f"{mark}{inner}{mark}"
    if kind in ("link", "image"):
        href = str(node.attrs.get("href") or node.attrs.get("src") or "")
        label = inner
        if not href.startswith(_SAFE_SCHEMES):
            return label
        label = label.replace("|", "¦") or escape(href)
        return f"<{href.replace('|', '%7C').replace('>', '%3E')}|{label}>"
    return escape(node.content) if node.content else inner
