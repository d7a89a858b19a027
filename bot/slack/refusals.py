"""The one place a `Refused` (a use case saying no) becomes the person's private reply.

Whichever listener or middleware raised it, bot/slack/listeners/errors.py hands it here.

Where the reply goes depends on what the person did: a form shows it under its first field, a
slash command answers with it, an App Home button (registered with `middleware=[ON_HOME]`) shows
it on top of the Home, any other button answers privately through its response URL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext, BoltResponse
from slack_bolt.context.respond import Respond

from bot.services.refused import Refused
from bot.slack.app_home import AppHome
from bot.slack.messenger import SlackMessenger

NO_ENTRY = ":no_entry_sign: "
_ON_HOME = "refusals_on_home"


def shown_on_home(context: BoltContext, next: Callable[[], None]) -> None:  # noqa: A002
    """Listener middleware: this listener's refusals are shown on top of the person's Home."""
    context[_ON_HOME] = True
    next()


ON_HOME = [shown_on_home]


class Refusals:
    """Turns a refusal into a private reply; a response when Slack is not acknowledged yet."""

    def __init__(self, *, home: AppHome, messenger: SlackMessenger) -> None:
        self._home = home
        self._messenger = messenger

    def reply(
        self,
        refused: Refused,
        *,
        body: dict[str, Any],
        respond: Respond | None,
        acknowledged: bool,
        context: BoltContext,
    ) -> BoltResponse | None:
        """`acknowledged`: the listener acknowledged before it was refused; when not, the
        returned response acknowledges (and, for a form or command, carries the reply)."""
        text = str(refused)
        team, user = context.team_id or "", context.user_id or ""
        kind = body.get("type")
        if kind == "view_submission":
            if not acknowledged:
                return form_errors(body, text)
            # The form is gone (only scheduling works after its ack): say it in the DM.
            self._messenger.post(team, user, {"text": NO_ENTRY + text})
            self._home.publish(team, user)
            return None
        if "command" in body:
            if not acknowledged:
                return json_response({"response_type": "ephemeral", "text": NO_ENTRY + text})
            if respond is not None:
                respond(text=NO_ENTRY + text, response_type="ephemeral", replace_original=False)
            return None
        if context.get(_ON_HOME):
            self._home.publish(team, user, note=text)
        elif respond is not None and body.get("response_url"):
            respond(response_type="ephemeral", replace_original=False, text=text)
        return None if acknowledged else BoltResponse(status=200, body="")


def form_errors(body: dict[str, Any], text: str) -> BoltResponse:
    """`text` under the form's first field, the form still open."""
    view = body.get("view") or {}
    blocks = view.get("blocks") or []
    inputs = [b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("type") == "input"]
    if not inputs:  # a view without its blocks: the fields it sent values for
        inputs = list(((view.get("state") or {}).get("values") or {}).keys())
    if not inputs or not isinstance(inputs[0], str):
        return BoltResponse(status=200, body="")
    return json_response({"response_action": "errors", "errors": {inputs[0]: plain(text)}})


def plain(text: str) -> str:
    """Form errors are plain text: drop Slack's mention markup."""
    text = re.sub(r"<#(\w+)(?:\|([^>]*))?>", lambda m: "#" + (m.group(2) or "that channel"), text)
    return text.replace("`", "")[:150]


def json_response(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200, body=json.dumps(payload), headers={"content-type": "application/json"}
    )
