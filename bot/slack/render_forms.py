"""The modals App Home and `/learn schedule` open, as Block Kit.

Scheduling a course and a learner's delivery time; bot/slack/forms.py reads what comes back.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from bot.domain.lesson import Course
from bot.domain.schedule import DAY_NAMES, DEFAULT_AT, Days
from bot.slack import blockkit

SCHEDULE_FORM = "schedule_form"
PREFS_FORM = "prefs_form"
CHANNELS_ONLY = {"include": ["public", "private"], "exclude_bot_users": True}
DAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text[:75]}, "value": value}


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {**element, "action_id": block_id},
        "optional": optional,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _days_element(days: Days) -> dict[str, Any]:
    options = [_option(label, name) for label, name in zip(DAY_LABELS, DAY_NAMES, strict=True)]
    return {
        "type": "checkboxes",
        "options": options,
        "initial_options": [options[d] for d in sorted(days.days)],
    }


def schedule_form(courses: tuple[Course, ...]) -> dict[str, Any]:
    course_options = [_option(course.title, course.id) for course in courses[:100]]
    view = {
        "type": "modal",
        "callback_id": SCHEDULE_FORM,
        "title": {"type": "plain_text", "text": "Schedule a course"},
        "submit": {"type": "plain_text", "text": "Schedule"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _input("course", "Course", {"type": "static_select", "options": course_options}),
            _input("people", "People (by DM)", {"type": "multi_users_select"}, optional=True),
            _input(
                "channels",
                "Post in channels",
                {"type": "multi_conversations_select", "filter": CHANNELS_ONLY},
                optional=True,
            ),
            _input(
                "members",
                "Everyone in these channels (by DM)",
                {"type": "multi_conversations_select", "filter": CHANNELS_ONLY},
                optional=True,
            ),
            _input(
                "groups",
                "User groups (by DM)",
                {
                    "type": "plain_text_input",
                    "placeholder": {"type": "plain_text", "text": "@design @support"},
                },
                optional=True,
            ),
            _input("days", "Days", _days_element(Days())),
            _input(
                "time",
                "Time",
                {"type": "timepicker", "initial_time": "09:30"},
                hint="Each person's own time zone for DMs; yours for channel posts.",
            ),
            _input(
                "start",
                "Start on",
                {"type": "datepicker"},
                optional=True,
                hint="Leave empty to start at the next matching day.",
            ),
            _input(
                "discuss",
                "Discussion channel",
                {"type": "conversations_select", "filter": {"include": ["public", "private"]}},
                optional=True,
                hint="A thread per lesson opens here for DM drips.",
            ),
        ],
    }
    blockkit.validate_view(view)
    return view


def prefs_form(days: Days | None, at: time | None) -> dict[str, Any]:
    view = {
        "type": "modal",
        "callback_id": PREFS_FORM,
        "title": {"type": "plain_text", "text": "Delivery time"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            _input("days", "Days", _days_element(days or Days())),
            _input(
                "time",
                "Time (your time zone)",
                {"type": "timepicker", "initial_time": f"{at or DEFAULT_AT:%H:%M}"},
            ),
        ],
    }
    blockkit.validate_view(view)
    return view
