"""A workspace leaves: `app_uninstalled` and `tokens_revoked` delete its tokens and pause its
drips (its data stays). Registered only when the app is installed through OAuth."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.services import Services
from bot.services.installations import Installations


def register(app: App, services: Services, installations: Installations) -> None:
    @app.event("app_uninstalled")
    def uninstalled(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        installations.uninstall(_team(body, context), now=services.clock())

    @app.event("tokens_revoked")
    def revoked(
        ack: Ack, event: dict[str, Any], body: dict[str, Any], context: BoltContext
    ) -> None:
        ack()
        tokens = event.get("tokens") if isinstance(event.get("tokens"), dict) else {}
        if tokens and tokens.get("bot"):  # a person's own (user) token is none of ours
            installations.uninstall(_team(body, context), now=services.clock())


def _team(body: dict[str, Any], context: BoltContext) -> str:
    return str(context.team_id or body.get("team_id") or "")
