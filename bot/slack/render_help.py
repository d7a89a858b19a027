"""`/learn help` as Block Kit, and the reply to a subcommand nobody knows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.slack import grammar
from bot.slack.command_table import ADMIN, ANYONE, LEAD, Subcommand

_AUDIENCE_TITLES = {ANYONE: "For everyone", LEAD: "For leads", ADMIN: "For admins"}


def help_message(commands: Iterable[Subcommand]) -> dict[str, Any]:
    """The reply to `/learn` and `/learn help`: every command, grouped by who may use it."""
    rows = list(commands)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "microlearn: /learn commands"}},
    ]
    lines_text: list[str] = []
    for audience, title in _AUDIENCE_TITLES.items():
        lines = [f"`{c.usage}` — {c.summary}" for c in rows if c.audience == audience]
        if not lines:
            continue
        lines_text.extend(lines)
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*{title}*\n" + "\n".join(lines)},
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Only you can see this. " + grammar.TARGETS_HELP,
                }
            ],
        }
    )
    return {
        "response_type": "ephemeral",
        "text": "microlearn commands:\n" + "\n".join(lines_text),
        "blocks": blocks,
    }


def unknown_command(name: str, names: Iterable[str]) -> dict[str, Any]:
    """The reply to a subcommand nobody knows: the ones there are."""
    known = ", ".join(f"`{name}`" for name in names)
    return {
        "response_type": "ephemeral",
        "text": (
            f"I don't know `/learn {name}`. The commands are {known}; `/learn help` explains them."
        ),
    }
