"""The quiz's other buttons: ticking a box, the open-answer form, and ✓ Done.

Answer buttons and Submit are taken earlier, by the middleware in answers.py.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_bolt.context.respond import Respond as BoltRespond

from bot.domain.numbers import whole_number
from bot.domain.quiz import Choice
from bot.services import Services
from bot.slack import render_answers
from bot.slack.forms import OpenAnswer, open_answer_text
from bot.slack.listeners.answers import AnswerClicks
from bot.slack.messenger import SlackMessenger


def register(
    app: App, services: Services, *, messenger: SlackMessenger, clicks: AnswerClicks
) -> None:
    buttons = QuizButtons(services, messenger=messenger, clicks=clicks)
    app.action("answer_choices")(buttons.tick_a_box)
    app.action("answer_open")(buttons.open_form)
    app.view("open_answer")(buttons.open_submitted)
    app.action("lesson_done")(buttons.lesson_done)


class QuizButtons:
    """Each parses the click, calls one service, replies."""

    def __init__(
        self, services: Services, *, messenger: SlackMessenger, clicks: AnswerClicks
    ) -> None:
        self._services = services
        self._messenger = messenger
        self._clicks = clicks

    def tick_a_box(self, ack: Ack) -> None:
        ack()  # ticking a checkbox is not an answer yet; Submit is

    def open_form(
        self, ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext
    ) -> None:
        ack()
        ref, team = str(action.get("value", "")), context.team_id or ""
        _lesson, question, _position = self._services.quiz.question_for(
            ref, team_id=team, user_id=body["user"]["id"]
        )
        container = body.get("container") or {}
        metadata = OpenAnswer(
            ref=ref, channel=container.get("channel_id"), ts=container.get("message_ts")
        ).encode()
        self._messenger.open_view(
            team,
            body.get("trigger_id", ""),
            render_answers.open_answer_view(question, metadata=metadata),
        )

    def open_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
    ) -> None:
        text = open_answer_text(view)
        if not text:
            ack(response_action="errors", errors={"answer": "Write an answer first."})
            return
        services = self._services
        meta = OpenAnswer.decode(view.get("private_metadata"))
        team, user_id = context.team_id or "", body["user"]["id"]
        channel, ts = meta.channel, meta.ts
        answered = services.quiz.answer(  # refused: the form says why (bot/slack/refusals.py)
            team_id=team,
            user_id=user_id,
            ref=meta.ref,
            choice=Choice(text=text),
            channel_id=channel,
            message_ts=ts,
            now=services.clock(),
        )
        ack()
        feedback = render_answers.open_feedback_for(answered)
        in_dm = str(channel or "").startswith("D")
        if channel is not None and in_dm and answered.recorded and ts:
            message = render_answers.answered_message(answered, feedback)
            self._messenger.update(team, channel, ts, message)
        elif channel:
            self._messenger.post_ephemeral(team, channel, user_id, feedback)
        services.after_answer.settle(answered, user_id=user_id, in_dm=in_dm, now=services.clock())

    def lesson_done(
        self,
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: BoltRespond,
        context: BoltContext,
    ) -> None:
        ack()
        delivery_id = whole_number(str(action.get("value", "")))
        if delivery_id is None:
            return  # a preview's button
        services = self._services
        reply = self._clicks.responder(body, respond)
        team, user_id = context.team_id or "", body["user"]["id"]
        done = services.quiz.done(
            team_id=team, user_id=user_id, delivery_id=delivery_id, now=services.clock()
        )
        note = f"✓ Done: *{done.lesson.title}*. Nice work."
        if done.in_channel:
            reply(response_type="ephemeral", replace_original=False, text=note)
        else:
            message = render_answers.done_message(body.get("message") or {}, note=note)
            reply(replace_original=True, **message)
        services.after_answer.done(
            done, team_id=team, user_id=user_id, delivery_id=delivery_id, now=services.clock()
        )
