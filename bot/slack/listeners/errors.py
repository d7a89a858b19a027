"""One error handler for every listener: log it, and tell the person privately."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_bolt.context.respond import Respond

log = logging.getLogger(__name__)

SORRY = (
    ":warning: Something went wrong on our side and nothing was changed. "
    "Please try again in a minute; if it keeps happening, tell whoever runs microlearn."
)


def register(app: App) -> None:
    @app.error
    def report(error: Exception, body: dict[str, Any], respond: Respond | None) -> None:
        log.error("listener failed: %s", body.get("type") or body.get("command"), exc_info=error)
        if respond is not None and body.get("response_url"):
            try:
                respond(text=SORRY, response_type="ephemeral", replace_original=False)
            except Exception:  # the apology is best effort; the error is already logged
                log.warning("could not tell the user about the error", exc_info=True)
