"""What a learner sees around an answer, as Block Kit.

The feedback, the question rewritten once answered, a channel's answer count, a lesson
marked done, and the open-answer form.
"""

from __future__ import annotations

from typing import Any

from bot.domain.lesson import Question
from bot.services.quiz import Answered
from bot.slack import blockkit
from bot.slack.mrkdwn import to_mrkdwn
from bot.slack.render import Message, answered_question_message, feedback_message


def feedback_for(answered: Answered) -> Message:
    """The feedback on a button or Submit answer (a repeated click says the first one stands)."""
    return feedback_message(
        answered.question,
        choice=answered.choice.options,
        text=answered.choice.text,
        correct=answered.correct,
        already=not answered.recorded,
        review=answered.review,
        distribution=dict(answered.distribution) if answered.distribution is not None else None,
        order=answered.order,
    )


def open_feedback_for(answered: Answered) -> Message:
    """The feedback on a written (open) answer."""
    return feedback_message(
        answered.question,
        choice=(),
        text=answered.choice.text,
        correct=None,
        already=not answered.recorded,
        review=answered.review,
    )


def answered_message(answered: Answered, feedback: Message) -> Message:
    """The question message as it reads once answered, in the order it was shown."""
    return answered_question_message(
        answered.question,
        answered.lesson,
        number=answered.ref.position,
        review=answered.review,
        feedback=feedback,
        order=answered.order,
    )


def answered_count_message(message: Message, count: int) -> Message:
    """A channel's question message with how many have answered (people see their own result)."""
    blocks = [b for b in message.get("blocks", []) if b.get("block_id") != "answered"]
    who = "person has" if count == 1 else "people have"
    note = f"{count} {who} answered · each person's result is shown only to them"
    blocks.append(
        {"type": "context", "block_id": "answered", "elements": [{"type": "mrkdwn", "text": note}]}
    )
    return {"text": message.get("text") or "Quiz question", "blocks": blocks}


def done_message(message: Message, *, note: str) -> Message:
    """A lesson message once the learner pressed Done: the button becomes a note."""
    blocks = [
        {"type": "context", "block_id": "done", "elements": [{"type": "mrkdwn", "text": note}]}
        if block.get("block_id") == "done"
        else block
        for block in message.get("blocks", [])
    ]
    return {"text": message.get("text") or "Lesson", "blocks": blocks}


def open_answer_view(question: Question, *, metadata: str) -> dict[str, Any]:
    """The form for an open question."""
    view = {
        "type": "modal",
        "callback_id": "open_answer",
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "Your answer"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": to_mrkdwn(question.text)[:3000]},
            },
            {
                "type": "input",
                "block_id": "answer",
                "label": {"type": "plain_text", "text": "Answer"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "answer",
                    "multiline": True,
                    "max_length": 3000,
                },
            },
        ],
    }
    blockkit.validate_view(view)
    return view
