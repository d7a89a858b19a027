"""Events: people joining channels (for "members of #channel" drips)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.services import Services


def register(app: App, services: Services) -> None:
    @app.event("member_joined_channel")
    def member_joined(event: dict[str, Any], context: BoltContext) -> None:
        services.drips.member_joined(
            team_id=context.team_id or event.get("team", ""),
            user_id=event["user"],
            channel_id=event["channel"],
            now=services.clock(),
        )
