"""Events from lesson threads: replies, edits, deletions and reactions (never polled).

Every event the app subscribes to is acknowledged here, including those it does not use, so
Slack never sees a failure and never retries for nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext

from bot.services import Services
from bot.services.ports import SlackError

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    @app.event("message")
    def message(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        outcome = services.discussions.on_message(
            team_id=context.team_id or body.get("team_id", ""),
            event_id=body.get("event_id"),
            event=event,
            now=services.clock(),
        )
        if outcome == "stored":
            try:  # the author's name, for reports
                services.people.learner(context.team_id or "", event["user"], now=services.clock())
            except SlackError as error:
                log.warning("profile of %s not available: %s", event.get("user"), error.code)

    @app.event("reaction_added")
    def reaction_added(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        services.discussions.on_reaction(
            team_id=context.team_id or body.get("team_id", ""),
            event_id=body.get("event_id"),
            item=event.get("item") or {},
            delta=1,
            now=services.clock(),
        )

    @app.event("reaction_removed")
    def reaction_removed(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        services.discussions.on_reaction(
            team_id=context.team_id or body.get("team_id", ""),
            event_id=body.get("event_id"),
            item=event.get("item") or {},
            delta=-1,
            now=services.clock(),
        )

    @app.event("app_uninstalled")
    @app.event("tokens_revoked")
    def uninstalled(event: dict[str, Any], body: dict[str, Any]) -> None:
        log.warning("%s in %s: deliveries to it will fail", event.get("type"), body.get("team_id"))
