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
    @app.action("answer_choices")
    def tick_a_box(ack: Ack) -> None:
        ack()  # ticking a checkbox is not an answer yet; Submit is

    @app.action("answer_open")
    def open_form(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext
    ) -> None:
        ack()
        ref, team = str(action.get("value", "")), context.team_id or ""
        _lesson, question, _position = services.quiz.question_for(
            ref, team_id=team, user_id=body["user"]["id"]
        )
        container = body.get("container") or {}
        metadata = OpenAnswer(
            ref=ref, channel=container.get("channel_id"), ts=container.get("message_ts")
        ).encode()
        messenger.open_view(
            team,
            body.get("trigger_id", ""),
            render_answers.open_answer_view(question, metadata=metadata),
        )

    @app.view("open_answer")
    def open_submitted(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
    ) -> None:
        text = open_answer_text(view)
        if not text:
            ack(response_action="errors", errors={"answer": "Write an answer first."})
            return
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
            messenger.update(team, channel, ts, render_answers.answered_message(answered, feedback))
        elif channel:
            messenger.post_ephemeral(team, channel, user_id, feedback)
        services.after_answer.settle(answered, user_id=user_id, in_dm=in_dm, now=services.clock())

    @app.action("lesson_done")
    def lesson_done(
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
        reply = clicks.responder(body, respond)
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
