"""Events: people joining channels (for "members of #channel" drips), and people whose Slack
account changed (a deactivated one gets no more lessons)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.services import Services
from bot.slack.messenger import profile_of


def register(app: App, services: Services) -> None:
    @app.event("member_joined_channel")
    def member_joined(event: dict[str, Any], context: BoltContext) -> None:
        services.scheduling.member_joined(
            team_id=context.team_id or event.get("team", ""),
            user_id=event["user"],
            channel_id=event["channel"],
            now=services.clock(),
        )

    @app.event("user_change")
    def profile_changed(event: dict[str, Any], context: BoltContext) -> None:
        services.privacy.profile_changed(
            team_id=context.team_id or str(event["user"].get("team_id") or ""),
            profile=profile_of(event["user"]),
            now=services.clock(),
        )
