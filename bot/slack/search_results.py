"""`/learn search` results as blocks, each lesson with an **Open** button that sends it."""

from __future__ import annotations

from typing import Any

from bot.domain.lesson import Lesson

OPEN_ACTION = "open_lesson"  # + `_<n>`: action ids stay unique within the message


def search_blocks(heading: str, lessons: list[Lesson]) -> list[dict[str, Any]]:
    """Search results with an **Open** button per lesson (its value: the lesson's address)."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "block_id": "heading", "text": {"type": "mrkdwn", "text": heading}}
    ]
    for number, lesson in enumerate(lessons):
        blocks.append(
            {
                "type": "section",
                "block_id": f"lesson_{number}",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*{lesson.title}* (`{lesson.key}`): {lesson.objective}"[:3000],
                },
                "accessory": {
                    "type": "button",
                    "action_id": f"{OPEN_ACTION}_{number}",
                    "text": {"type": "plain_text", "text": "Open"},
                    "value": lesson.key,
                },
            }
        )
    return blocks
