"""Messages people write to the bot in its Messages tab (`message.im`)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.services import Services

SLACKBOT = "USLACKBOT"


def _written_to_me(event: dict[str, Any], context: BoltContext) -> bool:
    """A person's new message in a DM with the bot: not a bot's, not an edit or a deletion."""
    user = event.get("user")
    return (
        event.get("channel_type") == "im"
        and event.get("subtype") in (None, "file_share")
        and not event.get("bot_id")
        and bool(user)
        and user not in (context.bot_user_id, SLACKBOT)
    )


def register(app: App, services: Services) -> None:
    # Registered before the discussion listener: Bolt runs the first listener that matches, and
    # lesson threads (which that one records) are in channels, never in DMs.
    @app.event("message", matchers=[_written_to_me])
    def written_to_me(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        services.inbox.written_to(
            team_id=context.team_id or body.get("team_id", ""),
            user_id=str(event["user"]),
            now=services.clock(),
        )
