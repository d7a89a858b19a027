"""The `/learn` table: Invocation (what someone typed) and the subcommands, in help order.

Each subcommand's handler docstring is its one-line help.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import Ack
from slack_bolt.context.respond import Respond

from bot.services import Services
from bot.slack.app_home import AppHome
from bot.slack.messenger import SlackMessenger

ANYONE = "anyone"
LEAD = "lead"
ADMIN = "admin"


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
    services: Services
    messenger: SlackMessenger
    home: AppHome

    @property
    def now(self) -> datetime:
        return self.services.clock()

    def refresh_home(self) -> None:
        """After join, snooze and resume: an App Home on screen shows the change."""
        self.home.refresh(self.team_id, self.user_id)

    def reply(self, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """A private answer through the response URL (after the acknowledgement)."""
        self.respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


Handler = Callable[[Invocation], None]


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    audience: str
    run: Handler | None
    slow: bool = True


class CommandTable:
    """Subcommands by name, in the order they are listed in help."""

    def __init__(self) -> None:
        self._rows: list[Subcommand] = []
        self._by_name: dict[str, Subcommand] = {}

    def add(
        self, name: str, usage: str, audience: str = ANYONE, *, slow: bool = True
    ) -> Callable[[Handler], Handler]:
        """Register a subcommand; the handler's docstring is its one-line help."""

        def decorate(run: Handler) -> Handler:
            summary = (run.__doc__ or "").strip().splitlines()[0]
            row = Subcommand(name, usage, summary, audience, run, slow)
            self._rows.append(row)
            self._by_name[name] = row
            return run

        return decorate

    def document(self, name: str, usage: str, summary: str, audience: str) -> None:
        """A help line for a form of a subcommand registered elsewhere."""
        self._rows.append(Subcommand(name, usage, summary, audience, None))

    def find(self, name: str) -> Subcommand | None:
        return self._by_name.get(name)

    def __iter__(self) -> Iterator[Subcommand]:
        return iter(self._rows)

    def names(self) -> list[str]:
        return list(self._by_name)


COMMANDS = CommandTable()
