"""`/learn`: one slash command, many subcommands; the table below is also the help text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot.services import Services

ANYONE = "anyone"
LEAD = "lead"
ADMIN = "admin"
_AUDIENCE_TITLES = {ANYONE: "For everyone", LEAD: "For leads", ADMIN: "For admins"}


@dataclass(frozen=True)
class Invocation:
    """What someone typed, and where."""

    team_id: str
    user_id: str
    channel_id: str
    name: str
    args: str
    trigger_id: str
    ack: Ack
    respond: Respond
    client: WebClient
    services: Services


Handler = Callable[[Invocation], None]


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    audience: str
    run: Handler


class CommandTable:
    """Subcommands by name, in the order they are listed in help."""

    def __init__(self) -> None:
        self._by_name: dict[str, Subcommand] = {}

    def add(self, name: str, usage: str, audience: str = ANYONE) -> Callable[[Handler], Handler]:
        """Register a subcommand; the handler's docstring is its one-line help."""

        def decorate(run: Handler) -> Handler:
            summary = (run.__doc__ or "").strip().splitlines()[0]
            self._by_name[name] = Subcommand(name, usage, summary, audience, run)
            return run

        return decorate

    def find(self, name: str) -> Subcommand | None:
        return self._by_name.get(name)

    def __iter__(self) -> Any:
        return iter(self._by_name.values())


COMMANDS = CommandTable()


def register(app: App, services: Services) -> None:
    @app.command("/learn")
    def learn(
        ack: Ack,
        command: dict[str, Any],
        respond: Respond,
        client: WebClient,
        context: BoltContext,
    ) -> None:
        name, _, args = (command.get("text") or "").strip().partition(" ")
        invocation = Invocation(
            team_id=context.team_id or command.get("team_id", ""),
            user_id=command["user_id"],
            channel_id=command.get("channel_id", ""),
            name=name.lower() or "help",
            args=args.strip(),
            trigger_id=command.get("trigger_id", ""),
            ack=ack,
            respond=respond,
            client=client,
            services=services,
        )
        subcommand = COMMANDS.find(invocation.name)
        if subcommand is None:
            ack(**unknown_command(name))
            return
        subcommand.run(invocation)


def help_message() -> dict[str, Any]:
    """The reply to `/learn` and `/learn help`: every command, grouped by who may use it."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "microlearn: /learn commands"}},
    ]
    lines_text: list[str] = []
    for audience, title in _AUDIENCE_TITLES.items():
        lines = [f"`{c.usage}` — {c.summary}" for c in COMMANDS if c.audience == audience]
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
                    "text": "Only you can see this. Lessons arrive by DM or in channels.",
                }
            ],
        }
    )
    return {
        "response_type": "ephemeral",
        "text": "microlearn commands:\n" + "\n".join(lines_text),
        "blocks": blocks,
    }


def unknown_command(name: str) -> dict[str, Any]:
    known = ", ".join(f"`{c.name}`" for c in COMMANDS)
    return {
        "response_type": "ephemeral",
        "text": (
            f"I don't know `/learn {name}`. The commands are {known}; `/learn help` explains them."
        ),
    }


@COMMANDS.add("help", "/learn help")
def show_help(invocation: Invocation) -> None:
    """List these commands."""
    invocation.ack(**help_message())
