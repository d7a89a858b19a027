"""Quiz answers, the Done button and open answers.

The answer is one small insert committed before `ack()`, so a process killed right after the
acknowledgement has lost nothing; feedback and message updates come after it. In a DM the
question is rewritten in place through the response URL (no Web API rate limit); in a channel
the feedback is ephemeral and the shared message only shows how many have answered.
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltResponse
from slack_bolt.context.respond import Respond as BoltRespond
from slack_sdk import WebClient

from bot.domain.numbers import number_between, whole_number
from bot.domain.quiz import Choice
from bot.services import Services
from bot.services.quiz import Answered
from bot.services.refused import Refused
from bot.slack import metering, render
from bot.slack.forms import OpenAnswer, open_answer_text
from bot.slack.listeners import home
from bot.slack.responses import Respond, ResponseUrls
from bot.slack.reviews import answered_review_message
from bot.slack.throttle import Throttle

log = logging.getLogger(__name__)


def register(
    app: App,
    services: Services,
    *,
    throttle: Throttle,
    settle_threads: int = 0,
) -> None:
    """`settle_threads`: how many threads do the work after an answer is acknowledged
    (feedback, reviews, completion); 0 does it in the request's own thread, after the ack and
    before the response (tests: everything has happened when the request returns)."""
    posts = ResponseUrls()
    # Settling threads do what follows the ack, apart from the request threads that acknowledge:
    # an acknowledgement does not wait for Slack to take a feedback post. When they fall behind
    # (more than SETTLE_BACKLOG answers waiting per thread), the request settles its own answer
    # before it responds: acknowledgements slow down (Slack sees the load) instead of feedback
    # falling minutes behind for a few.
    settling = _Settling(settle_threads) if settle_threads else None

    def responder(body: dict[str, Any], fallback: BoltRespond) -> Respond:
        """Feedback goes to the click's response URL over a kept-alive connection."""
        url = body.get("response_url")
        return posts.responder(url) if isinstance(url, str) and url else fallback

    def settle(
        answered: Answered,
        *,
        body: dict[str, Any],
        respond: Respond,
        client: WebClient,
        user_id: str,
        in_dm: bool,
    ) -> None:
        """Everything after the acknowledgement."""
        feedback = render.feedback_message(
            answered.question,
            choice=answered.choice.options,
            text=answered.choice.text,
            correct=answered.correct,
            already=not answered.recorded,
            review=answered.review,
            distribution=dict(answered.distribution) if answered.distribution is not None else None,
            order=answered.order,
        )
        if in_dm and answered.recorded:
            message = render.answered_question_message(
                answered.question,
                answered.lesson,
                number=answered.ref.position,
                review=answered.review,
                feedback=feedback,
                order=answered.order,
            )
            if answered.ref.item is not None:  # one question of a day's Review message
                message = answered_review_message(
                    body.get("message") or {}, item=answered.ref.item, answered=message
                )
            respond(replace_original=True, **message)
        else:
            respond(response_type="ephemeral", replace_original=False, **feedback)
        if not in_dm and answered.recorded:
            channel = body["container"]["channel_id"]
            ts = body["container"]["message_ts"]
            message = body.get("message") or {}

            def update() -> None:
                count = services.quiz.answered_on(channel, ts)
                updated = render.answered_count_message(message, count)
                client.chat_update(channel=channel, ts=ts, **updated)

            throttle.mark(channel, ts, update)
        finish(answered, client=client, user_id=user_id, in_dm=in_dm)

    def finish(answered: Answered, *, client: WebClient, user_id: str, in_dm: bool) -> None:
        """Reviews and completion; a completed DM lesson opens its discussion to the learner."""
        completed = services.quiz.after_answer(answered, user_id=user_id, now=services.clock())
        if completed and in_dm and answered.ref.drip_id is not None:  # sent lessons have none
            services.discussions.invite(
                team_id=answered.ref.team_id,
                user_id=user_id,
                delivery_id=answered.ref.delivery_id,
                now=services.clock(),
            )
        if answered.recorded:
            home.refresh(services, client, answered.ref.team_id, user_id)

    def take(
        ack: Ack,
        body: dict[str, Any],
        bolt_respond: BoltRespond,
        client: WebClient,
        context: BoltContext,
        *,
        ref: str,
        choice: Choice,
        started: float,
    ) -> None:
        container = body.get("container") or {}
        channel = container.get("channel_id")
        user_id = body["user"]["id"]
        respond = responder(body, bolt_respond)
        try:
            answered = services.quiz.answer(
                team_id=context.team_id or "",
                user_id=user_id,
                ref=ref,
                choice=choice,
                channel_id=channel,
                message_ts=container.get("message_ts"),
                now=services.clock(),
            )
        except Refused as refused:
            ack()
            respond(response_type="ephemeral", replace_original=False, text=str(refused))
            return
        ack()  # the answer is committed: a crash from here on loses nothing
        arrived = context.get(metering.RECEIVED)
        services.metrics.answer_acknowledged(
            seconds=time.perf_counter() - (arrived if isinstance(arrived, float) else started)
        )
        in_dm = str(channel or "").startswith("D")
        work = partial(
            settle,
            answered,
            body=body,
            respond=respond,
            client=client,
            user_id=user_id,
            in_dm=in_dm,
        )
        if settling is None or not settling.offer(work):
            _settle_now(work)

    @app.middleware
    def answer_clicks(
        ack: Ack,
        body: dict[str, Any],
        respond: BoltRespond,
        client: WebClient,
        context: BoltContext,
        next: Callable[[], None],  # Bolt passes it by this name
    ) -> BoltResponse | None:
        """Answer buttons and Submit are taken here, in the request's own thread.

        Bolt runs listeners on its executor and has the request's thread look for their ack
        every 10 ms: every click would wait for that poll and for a second thread. Here the
        answer is stored and acknowledged without either; what follows goes to the settling
        threads as before. Every other request goes on to the listeners.
        """
        started = time.perf_counter()
        actions = body.get("actions") if body.get("type") == "block_actions" else None
        action = actions[0] if isinstance(actions, list) and actions else None
        action_id = action.get("action_id") if isinstance(action, dict) else None
        if not isinstance(action, dict) or not isinstance(action_id, str):
            next()
            return None
        if _ANSWER_BUTTON.match(action_id):
            ref, _, option = str(action.get("value", "")).rpartition(":")
            index = number_between(option, 0, MAX_OPTION)
            choice = Choice(options=(index,)) if index is not None else Choice()
        elif action_id == "answer_submit":
            selected = _selected(body, str(action.get("block_id") or "answer"))
            if not selected:
                ack()
                respond(
                    response_type="ephemeral",
                    replace_original=False,
                    text="Tick at least one option, then press Submit.",
                )
                return ack.response
            ref, choice = str(action.get("value", "")), Choice(options=tuple(sorted(selected)))
        else:
            next()
            return None
        take(ack, body, respond, client, context, ref=ref, choice=choice, started=started)
        return ack.response

    @app.action("answer_choices")
    def tick_a_box(ack: Ack) -> None:
        ack()  # ticking a checkbox is not an answer yet; Submit is

    @app.action("answer_open")
    def open_form(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        respond: BoltRespond,
        context: BoltContext,
    ) -> None:
        ack()
        ref = str(action.get("value", ""))
        try:
            _lesson, question, _position = services.quiz.question_for(
                ref, team_id=context.team_id or "", user_id=body["user"]["id"]
            )
        except Refused as refused:
            respond(response_type="ephemeral", replace_original=False, text=str(refused))
            return
        container = body.get("container") or {}
        metadata = OpenAnswer(
            ref=ref, channel=container.get("channel_id"), ts=container.get("message_ts")
        ).encode()
        client.views_open(
            trigger_id=body.get("trigger_id", ""),
            view=render.open_answer_view(question, metadata=metadata),
        )

    @app.view("open_answer")
    def open_submitted(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        text = open_answer_text(view)
        if not text:
            ack(response_action="errors", errors={"answer": "Write an answer first."})
            return
        meta = OpenAnswer.decode(view.get("private_metadata"))
        user_id = body["user"]["id"]
        channel, ts = meta.channel, meta.ts
        try:
            answered = services.quiz.answer(
                team_id=context.team_id or "",
                user_id=user_id,
                ref=meta.ref,
                choice=Choice(text=text),
                channel_id=channel,
                message_ts=ts,
                now=services.clock(),
            )
        except Refused as refused:
            ack(response_action="errors", errors={"answer": str(refused)[:150]})
            return
        ack()
        feedback = render.feedback_message(
            answered.question,
            choice=(),
            text=answered.choice.text,
            correct=None,
            already=not answered.recorded,
            review=answered.review,
        )
        if channel is not None and channel.startswith("D") and answered.recorded and ts:
            client.chat_update(
                channel=channel,
                ts=ts,
                **render.answered_question_message(
                    answered.question,
                    answered.lesson,
                    number=answered.ref.position,
                    review=answered.review,
                    feedback=feedback,
                    order=answered.order,
                ),
            )
        elif channel:
            client.chat_postEphemeral(channel=channel, user=user_id, **feedback)
        finish(answered, client=client, user_id=user_id, in_dm=str(channel or "").startswith("D"))

    @app.action("lesson_done")
    def lesson_done(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: BoltRespond,
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        delivery_id = whole_number(str(action.get("value", "")))
        if delivery_id is None:
            return  # a preview's button
        reply = responder(body, respond)
        user_id = body["user"]["id"]
        try:
            done = services.quiz.done(
                team_id=context.team_id or "",
                user_id=user_id,
                delivery_id=delivery_id,
                now=services.clock(),
            )
        except Refused as refused:
            reply(response_type="ephemeral", replace_original=False, text=str(refused))
            return
        note = f"✓ Done: *{done.lesson.title}*. Nice work."
        if done.in_channel:
            reply(response_type="ephemeral", replace_original=False, text=note)
            home.refresh(services, client, context.team_id or "", user_id)
            return
        reply(replace_original=True, **render.done_message(body.get("message") or {}, note=note))
        if not done.lesson.quiz:  # with a quiz, the discussion opens once it is answered
            services.discussions.invite(
                team_id=context.team_id or "",
                user_id=user_id,
                delivery_id=delivery_id,
                now=services.clock(),
            )
        home.refresh(services, client, context.team_id or "", user_id)


SETTLE_BACKLOG = 8  # answers waiting per settling thread before requests settle their own


class _Settling:
    """A few threads that do what follows acknowledged answers, with a bounded backlog."""

    def __init__(self, threads: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="settle")
        self._limit = threads * (SETTLE_BACKLOG + 1)
        self._pending = 0
        self._lock = threading.Lock()

    def offer(self, work: Callable[[], None]) -> bool:
        """Queue the work; False (nothing queued) when the threads are too far behind."""
        with self._lock:
            if self._pending >= self._limit:
                return False
            self._pending += 1
        # In a copy of this request's context: the settling logs carry its ids.
        self._pool.submit(contextvars.copy_context().run, self._run, work)
        return True

    def _run(self, work: Callable[[], None]) -> None:
        try:
            _settle_now(work)
        finally:
            with self._lock:
                self._pending -= 1


_ANSWER_BUTTON = re.compile(r"^answer_\d+$")
MAX_OPTION = 10  # a question has at most 10 options


def _settle_now(work: Callable[[], None]) -> None:
    """Settle in this thread, after the ack: a failure is logged, the stored answer stands."""
    try:
        work()
    except Exception:
        log.exception("settling an answer failed")


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
