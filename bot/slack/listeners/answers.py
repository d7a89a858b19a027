"""Answer clicks (answer buttons and Submit): the ack half, as middleware, then the settling.

What follows the ack runs on the settling threads (bot/slack/settling.py).

The answer is one small insert committed before `ack()`, so a process killed right after the
acknowledgement has lost nothing; feedback and message updates come after it. In a DM the
question is rewritten in place through the response URL (no Web API rate limit); in a channel
the feedback is ephemeral and the shared message only shows how many have answered. The rest
(reviews, completion, the discussion invite, App Home) is one service call:
`services.after_answer.settle`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltResponse
from slack_bolt.context.respond import Respond as BoltRespond

from bot.domain.numbers import number_between
from bot.domain.quiz import Choice
from bot.services import Services
from bot.services.quiz import Answered
from bot.slack import metering, render_answers
from bot.slack.messenger import SlackMessenger
from bot.slack.responses import Respond, ResponseUrls
from bot.slack.reviews import answered_review_message
from bot.slack.settling import Settling
from bot.slack.throttle import Throttle

MAX_OPTION = 10  # a question has at most 10 options
TICK_FIRST = "Tick at least one option, then press Submit."
_ANSWER_BUTTON = re.compile(r"^answer_\d+$")


class AnswerClicks:
    """Takes answer clicks in the request's own thread; settles them after the ack."""

    def __init__(
        self,
        services: Services,
        *,
        messenger: SlackMessenger,
        throttle: Throttle,
        settling: Settling,
        posts: ResponseUrls,
    ) -> None:
        self._services = services
        self._messenger = messenger
        self._throttle = throttle
        self._settling = settling
        self._posts = posts

    def responder(self, body: dict[str, Any], fallback: BoltRespond) -> Respond:
        """Feedback goes to the click's response URL over a kept-alive connection."""
        url = body.get("response_url")
        return self._posts.responder(url) if isinstance(url, str) and url else fallback

    def take(
        self,
        ack: Ack,
        body: dict[str, Any],
        respond: Respond,
        context: BoltContext,
        *,
        ref: str,
        choice: Choice,
        started: float,
    ) -> None:
        """Store the answer, acknowledge, and hand what follows to the settling threads."""
        services = self._services
        container = body.get("container") or {}
        channel = container.get("channel_id")
        user_id = body["user"]["id"]
        answered = services.quiz.answer(  # a Refused goes to bot/slack/refusals.py
            team_id=context.team_id or "",
            user_id=user_id,
            ref=ref,
            choice=choice,
            channel_id=channel,
            message_ts=container.get("message_ts"),
            now=services.clock(),
        )
        ack()  # the answer is committed: a crash from here on loses nothing
        arrived = context.get(metering.RECEIVED)
        services.metrics.answer_acknowledged(
            seconds=time.perf_counter() - (arrived if isinstance(arrived, float) else started)
        )
        in_dm = str(channel or "").startswith("D")
        self._settling.settle(
            partial(self.settle, answered, body=body, respond=respond, user_id=user_id, in_dm=in_dm)
        )

    def settle(
        self,
        answered: Answered,
        *,
        body: dict[str, Any],
        respond: Respond,
        user_id: str,
        in_dm: bool,
    ) -> None:
        """Everything after the acknowledgement: feedback, the shared count, then the rest."""
        feedback = render_answers.feedback_for(answered)
        if in_dm and answered.recorded:
            message = render_answers.answered_message(answered, feedback)
            if answered.ref.item is not None:  # one question of a day's Review message
                message = answered_review_message(
                    body.get("message") or {}, item=answered.ref.item, answered=message
                )
            respond(replace_original=True, **message)
        else:
            respond(response_type="ephemeral", replace_original=False, **feedback)
        if not in_dm and answered.recorded:
            self._count(answered, body)
        services = self._services
        services.after_answer.settle(answered, user_id=user_id, in_dm=in_dm, now=services.clock())

    def _count(self, answered: Answered, body: dict[str, Any]) -> None:
        """A channel's question shows how many have answered (updates paced by the throttle)."""
        channel = body["container"]["channel_id"]
        ts = body["container"]["message_ts"]
        message = body.get("message") or {}

        def update() -> None:
            count = self._services.quiz.answered_on(channel, ts)
            updated = render_answers.answered_count_message(message, count)
            self._messenger.update(answered.ref.team_id, channel, ts, updated)

        self._throttle.mark(channel, ts, update)


def register(app: App, clicks: AnswerClicks) -> None:
    @app.middleware
    def answer_clicks(
        ack: Ack,
        body: dict[str, Any],
        respond: BoltRespond,
        context: BoltContext,
        next: Callable[[], None],  # Bolt passes it by this name
    ) -> BoltResponse | None:
        """Answer buttons and Submit are taken here, in the request's own thread.

        Bolt runs listeners on its executor and has the request's thread look for their ack
        every 10 ms: every click would wait for that poll and for a second thread. Here the
        answer is stored and acknowledged without either; what follows goes to the settling
        threads. Every other request goes on to the listeners.
        """
        started = time.perf_counter()
        click = answer_click(body)
        if click is None:
            next()
            return None
        ref, choice = click
        if choice is None:
            ack()
            respond(response_type="ephemeral", replace_original=False, text=TICK_FIRST)
            return ack.response
        reply = clicks.responder(body, respond)
        clicks.take(ack, body, reply, context, ref=ref, choice=choice, started=started)
        return ack.response


def answer_click(body: dict[str, Any]) -> tuple[str, Choice | None] | None:
    """The question and the choice of an answer button or Submit; None for any other request.

    Submit with nothing ticked has no choice.
    """
    actions = body.get("actions") if body.get("type") == "block_actions" else None
    action = actions[0] if isinstance(actions, list) and actions else None
    action_id = action.get("action_id") if isinstance(action, dict) else None
    if not isinstance(action, dict) or not isinstance(action_id, str):
        return None
    if _ANSWER_BUTTON.match(action_id):
        ref, _, option = str(action.get("value", "")).rpartition(":")
        index = number_between(option, 0, MAX_OPTION)
        return ref, Choice(options=(index,)) if index is not None else Choice()
    if action_id == "answer_submit":
        selected = _selected(body, str(action.get("block_id") or "answer"))
        choice = Choice(options=tuple(sorted(selected))) if selected else None
        return str(action.get("value", "")), choice
    return None


def _selected(body: dict[str, Any], block_id: str) -> set[int]:
    """The ticked options of the Submit button's block, or nothing when the state is not what
    the checkboxes send."""
    values = ((body.get("state") or {}).get("values") or {}).get(block_id)
    element = values.get("answer_choices") if isinstance(values, dict) else None
    chosen = element.get("selected_options") if isinstance(element, dict) else None
    if not isinstance(chosen, list) or len(chosen) > MAX_OPTION:
        return set()
    picked = {
        number_between(str(option.get("value", "")), 0, MAX_OPTION)
        if isinstance(option, dict)
        else None
        for option in chosen
    }
    return set() if None in picked else {index for index in picked if index is not None}
