"""A day's reviews as one message: its questions one under another, each answered in place.

Every block of question k carries the block id `r<k>.<i>`, so answering one question rewrites
only its own blocks and leaves the others as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain.lesson import Lesson, Question
from bot.services.ports import Message
from bot.slack import blockkit
from bot.slack.render import Order, RenderProblem, question_message

# Questions per message: each takes up to 5 blocks once answered, and a message holds 50.
PER_MESSAGE = 8


def review_messages(items: Sequence[tuple[Question, Lesson, int, str, Order]]) -> list[Message]:
    """The Review message(s) for (question, its lesson, its position, answer ref, the order
    of its options as the learner sees them) items."""
    messages = []
    for first in range(0, len(items), PER_MESSAGE):
        chunk = items[first : first + PER_MESSAGE]
        messages.append(_message(chunk, start=first + 1, total=len(items)))
    return messages


def _message(
    items: Sequence[tuple[Question, Lesson, int, str, Order]], *, start: int, total: int
) -> Message:
    count = f"{total} question{'s' if total != 1 else ''}"
    intro = (
        f":repeat: *Review* · {count} from earlier lessons, to keep what you learned. "
        "A right answer brings a question back less often; a wrong one, sooner."
    )
    blocks: list[dict[str, Any]] = []
    if start == 1:
        blocks.append({"type": "section", "block_id": "review", "text": _mrkdwn(intro)})
    texts = []
    for number, (question, lesson, position, ref, order) in enumerate(items, start=start):
        message = question_message(
            question, lesson, number=position, ref=ref, review=True, order=order
        )
        texts.append(str(message["text"]).removeprefix("Review: "))
        blocks += _tagged([{"type": "divider"}, *message["blocks"]], number)
    result = {"text": "Review: " + " · ".join(texts), "blocks": blocks}
    _check(result)
    return result


def answered_review_message(message: Message, *, item: int, answered: Message) -> Message:
    """`message` (a Review message as Slack holds it) with question `item` answered in place."""
    prefix = f"r{item}."
    blocks = list(message.get("blocks") or [])
    at = next(
        (i for i, block in enumerate(blocks) if str(block.get("block_id", "")).startswith(prefix)),
        len(blocks),
    )
    kept = [b for b in blocks if not str(b.get("block_id", "")).startswith(prefix)]
    before = [b for b in blocks[:at] if b in kept]
    after = kept[len(before) :]
    new = _tagged([{"type": "divider"}, *answered["blocks"]], item)
    result = {"text": message.get("text") or answered["text"], "blocks": before + new + after}
    _check(result)
    return result


def _tagged(blocks: list[dict[str, Any]], item: int) -> list[dict[str, Any]]:
    return [{**block, "block_id": f"r{item}.{i}"} for i, block in enumerate(blocks)]


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _check(message: Message) -> None:
    errors = blockkit.check_message(message)
    if errors:
        raise RenderProblem(None, "; ".join(errors))
