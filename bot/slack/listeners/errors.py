"""One error handler for every listener and middleware: a refusal becomes the person's private
reply (bot/slack/refusals.py); anything else is logged, the person told privately, Slack
answered 200.

A 500 would only make Slack show its own vague error (or retry an event) on top of ours.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.context.respond import Respond

from bot.services.refused import Refused
from bot.slack.messenger import SlackMessenger
from bot.slack.refusals import Refusals, form_errors, json_response

log = logging.getLogger(__name__)

SORRY = (
    ":warning: Something went wrong on our side and nothing was changed. "
    "Please try again in a minute; if it keeps happening, tell whoever runs microlearn."
)
_FORM_SORRY = "Something went wrong on our side. Please try again in a minute."
_INTERACTIVE = ("block_actions", "view_submission")  # a person clicked: tell them


def register(app: App, refusals: Refusals, messenger: SlackMessenger) -> None:
    @app.error
    def report(
        error: Exception,
        body: dict[str, Any],
        respond: Respond | None,
        response: BoltResponse | None,
        context: BoltContext,
    ) -> BoltResponse | None:
        if isinstance(error, Refused):
            reply = None
            try:
                reply = refusals.reply(
                    error,
                    body=body,
                    respond=respond,
                    acknowledged=context.ack.response is not None,
                    context=context,
                )
            except Exception:
                log.warning("could not tell the user why they were refused", exc_info=True)
            if response is None:  # acknowledged, and Bolt keeps that acknowledgement
                return None
            return reply or BoltResponse(status=200, body="")
        log.error("listener failed: %s", body.get("type") or body.get("command"), exc_info=error)
        if response is not None and body.get("type") == "view_submission":
            return form_errors(
                body, _FORM_SORRY
            )  # not acknowledged yet: the form shows the apology
        if response is not None and "command" in body:
            return json_response({"response_type": "ephemeral", "text": SORRY})
        try:  # the apology is best effort; the error is already logged
            if respond is not None and body.get("response_url"):
                respond(text=SORRY, response_type="ephemeral", replace_original=False)
            elif body.get("type") in _INTERACTIVE and context.user_id:
                messenger.post(context.team_id or "", context.user_id, {"text": SORRY})  # DM
        except Exception:
            log.warning("could not tell the user about the error", exc_info=True)
        # None: acknowledged already, and Bolt keeps that acknowledgement (see guard.py).
        return None if response is None else BoltResponse(status=200, body="")
