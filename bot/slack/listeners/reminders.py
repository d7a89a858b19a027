"""The Resume button of the DM a learner gets when their lessons paused themselves."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_bolt.context.respond import Respond

from bot.domain.numbers import whole_number
from bot.services import Services
from bot.services.reminders import RESUME_ACTION, ReminderService


def register(app: App, services: Services) -> None:
    @app.action(RESUME_ACTION)
    def resume_enrolment(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: Respond,
        context: BoltContext,
    ) -> None:
        """Only the learner the DM was sent to can resume; the reply is private to them."""
        ack()
        enrolment_id = whole_number(str(action.get("value", "")))
        if enrolment_id is None:
            respond(
                response_type="ephemeral",
                replace_original=False,
                text="That button is out of date: `/learn progress` shows your courses.",
            )
            return
        resumed = services.reminders.resume(  # refused: bot/slack/refusals.py says why
            team_id=context.team_id or "",
            user_id=body["user"]["id"],
            enrolment_id=enrolment_id,
            now=services.clock(),
        )
        respond(
            response_type="ephemeral",
            replace_original=False,
            text=ReminderService.resumed_text(resumed),
        )
