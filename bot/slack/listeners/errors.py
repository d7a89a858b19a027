"""One error handler for every listener and middleware: a refusal becomes the person's private
reply (bot/slack/refusals.py); anything else is logged, the person told privately, Slack
answered 200.

A 500 would only make Slack show its own vague error (or retry an event) on top of ours.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot.services.refused import Refused
from bot.slack.refusals import Refusals

log = logging.getLogger(__name__)

SORRY = (
    ":warning: Something went wrong on our side and nothing was changed. "
    "Please try again in a minute; if it keeps happening, tell whoever runs microlearn."
)
_FORM_SORRY = "Something went wrong on our side. Please try again in a minute."
_INTERACTIVE = ("block_actions", "view_submission")  # a person clicked: tell them


def register(app: App, refusals: Refusals) -> None:
    @app.error
    def report(
        error: Exception,
        body: dict[str, Any],
        respond: Respond | None,
        response: BoltResponse | None,
        client: WebClient,
        context: BoltContext,
    ) -> BoltResponse | None:
        if isinstance(error, Refused):
            reply = refusals.reply(
                error,
                body=body,
                respond=respond,
                acknowledged=context.ack.response is not None,
                context=context,
            )
            if response is None:  # acknowledged, and Bolt keeps that acknowledgement
                return None
            return reply or BoltResponse(status=200, body="")
        log.error("listener failed: %s", body.get("type") or body.get("command"), exc_info=error)
        if response is not None and body.get("type") == "view_submission":
            return _form_error(body)  # not acknowledged yet: the form shows the apology
        if response is not None and "command" in body:
            return _json({"response_type": "ephemeral", "text": SORRY})
        try:  # the apology is best effort; the error is already logged
            if respond is not None and body.get("response_url"):
                respond(text=SORRY, response_type="ephemeral", replace_original=False)
            elif body.get("type") in _INTERACTIVE and context.user_id:
                client.chat_postMessage(channel=context.user_id, text=SORRY)  # their DM
        except Exception:
            log.warning("could not tell the user about the error", exc_info=True)
        # None: acknowledged already, and Bolt keeps that acknowledgement (see guard.py).
        return None if response is None else BoltResponse(status=200, body="")


def _form_error(body: dict[str, Any]) -> BoltResponse:
    blocks = (body.get("view") or {}).get("blocks") or []
    inputs = [b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("type") == "input"]
    if not inputs or not isinstance(inputs[0], str):
        return BoltResponse(status=200, body="")
    return _json({"response_action": "errors", "errors": {inputs[0]: _FORM_SORRY}})


def _json(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200, body=json.dumps(payload), headers={"content-type": "application/json"}
    )
