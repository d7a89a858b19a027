"""Reading submitted forms: every value checked before it is used or stored.

Slack's widgets only send well-formed values, but a submission is just a signed request: a
forged or buggy one can carry anything, and a value stored unchecked (a time of `9:5`) breaks
whatever reads it later. Each reader returns the values, or the problem to show next to each
field (Slack shows at most 150 characters there).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from bot.domain.schedule import DAY_NAMES, MAX_START_AHEAD, Days, Target, TargetKind
from bot.services.scheduling import ScheduleRequest
from bot.slack.payloads import SLACK_ID

DEFAULT_TIME = time(9, 30)
MAX_PICKED = 100  # people or channels picked in one field
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_HANDLE = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
_MAX_GROUPS_TEXT = 1000
_PICK_CHANNELS = "Choose channels from the list."
_TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,8}")


class _Values:
    """The `state.values` of a submission, read defensively: one element per input block."""

    def __init__(self, values: Any) -> None:
        self._values = values if isinstance(values, dict) else {}

    def get(self, block: str, key: str) -> Any:
        element = self._values.get(block)
        element = element.get(block) if isinstance(element, dict) else None
        return element.get(key) if isinstance(element, dict) else None


@dataclass(frozen=True)
class Preferences:
    days: Days
    at: time


def read_prefs_form(values: Any) -> tuple[Preferences | None, dict[str, str]]:
    """The learner's days and time, or the problems with them."""
    state = _Values(values)
    errors: dict[str, str] = {}
    days = _days(state.get("days", "selected_options"), errors)
    at = _clock(state.get("time", "selected_time"), errors)
    if errors or days is None or at is None:
        return None, errors
    return Preferences(days, at), {}


def read_schedule_form(
    values: Any, *, today: date, courses: Collection[str]
) -> tuple[ScheduleRequest | None, dict[str, str]]:
    """The form's values as a request, or the problems to show next to each field."""
    state = _Values(values)
    errors: dict[str, str] = {}
    course = _course(state, courses, errors)
    targets = _targets(state, errors)
    days = _days(state.get("days", "selected_options"), errors)
    at = _clock(state.get("time", "selected_time"), errors)
    start = _start(state.get("start", "selected_date"), today, errors)
    discuss = state.get("discuss", "selected_conversation")
    if discuss is not None and not _is_id(discuss):
        errors["discuss"] = "Choose a channel from the list."
    if errors or course is None or days is None or at is None:
        return None, errors
    request = ScheduleRequest(
        course=course,
        targets=tuple(targets),
        days=days,
        at=at,
        start_on=start,
        discuss_in=Target(TargetKind.CHANNEL, discuss) if discuss else None,
    )
    return request, {}


def _course(state: _Values, courses: Collection[str], errors: dict[str, str]) -> str | None:
    course = _option(state.get("course", "selected_option"))
    if course is None:
        errors["course"] = "Choose a course."
    elif course not in courses:
        errors["course"] = "That course is no longer available: choose another."
    return course


def _targets(state: _Values, errors: dict[str, str]) -> list[Target]:
    """People, channels, members of channels and user groups: at least one of them."""
    targets: list[Target] = []
    for block, key, kind, wrong in (
        ("people", "selected_users", TargetKind.USER, "Choose each person from the list."),
        ("channels", "selected_conversations", TargetKind.CHANNEL, _PICK_CHANNELS),
        ("members", "selected_conversations", TargetKind.MEMBERS, _PICK_CHANNELS),
    ):
        ids = _ids(state.get(block, key))
        if ids is None:
            errors[block] = wrong
        else:
            targets += [Target(kind, ident) for ident in ids]
    groups = _handles(state.get("groups", "value"))
    if groups is None:
        errors["groups"] = "Write user group handles, like @design @support."
    else:
        targets += [Target(TargetKind.USERGROUP, None, handle) for handle in groups]
    if not targets and not errors.keys() & {"people", "channels", "members", "groups"}:
        errors["people"] = "Choose at least one person, channel or group."
    return targets


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and SLACK_ID.fullmatch(value) is not None


def _ids(value: Any) -> list[str] | None:
    """Picked people or channels; None when the value is not a list of Slack ids."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_PICKED or not all(map(_is_id, value)):
        return None
    return list(value)


def _option(value: Any) -> str | None:
    chosen = value.get("value") if isinstance(value, dict) else None
    return chosen if isinstance(chosen, str) and len(chosen) <= 150 else None


def _handles(value: Any) -> list[str] | None:
    if value is None:
        return []
    if not isinstance(value, str) or len(value) > _MAX_GROUPS_TEXT:
        return None
    handles = [word.lstrip("@").lower() for word in value.replace(",", " ").split()]
    return handles if all(_HANDLE.fullmatch(handle) for handle in handles) else None


def _days(value: Any, errors: dict[str, str]) -> Days | None:
    if not value:
        errors["days"] = "Pick at least one day."
        return None
    names = [_option(option) for option in value] if isinstance(value, list) else [None]
    if not all(name in DAY_NAMES for name in names):
        errors["days"] = "Pick days from the list."
        return None
    return Days(frozenset(DAY_NAMES.index(str(name)) for name in names))


def _clock(value: Any, errors: dict[str, str]) -> time | None:
    if value is None:
        return DEFAULT_TIME
    match = _CLOCK.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        errors["time"] = "That is not a time: pick one, like 09:30."
        return None
    return time(int(match[1]), int(match[2]))


def _start(value: Any, today: date, errors: dict[str, str]) -> date | None:
    if value is None:
        return None
    try:
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        start = date.fromisoformat(value)
    except ValueError:
        errors["start"] = "That is not a date: pick one from the calendar."
        return None
    if start < today:
        errors["start"] = "That day has passed: pick today or later."
    elif start > today + MAX_START_AHEAD:
        errors["start"] = "Pick a start date within a year from today."
    return start


@dataclass(frozen=True)
class OpenAnswer:
    """The open-answer form's `private_metadata`: the question, and the message that asked it."""

    ref: str
    channel: str | None = None
    ts: str | None = None

    def encode(self) -> str:
        return json.dumps({"ref": self.ref, "channel": self.channel, "ts": self.ts})

    @classmethod
    def decode(cls, metadata: Any) -> OpenAnswer:
        """The metadata as written by `encode`; anything else points at no question."""
        try:
            found = json.loads(metadata) if isinstance(metadata, str) else None
        except ValueError:
            found = None
        if not isinstance(found, dict):
            return cls(ref="")
        ref, channel, ts = found.get("ref"), found.get("channel"), found.get("ts")
        if (
            not isinstance(ref, str)
            or not (channel is None or _is_id(channel))
            or not (ts is None or (isinstance(ts, str) and _TS.fullmatch(ts)))
        ):
            return cls(ref="")
        return cls(ref=ref, channel=channel, ts=ts)


def open_answer_text(view: Any) -> str:
    """The typed answer of the open-answer form, stripped; empty when there is none."""
    state = _Values(((view or {}).get("state") or {}).get("values"))
    value = state.get("answer", "value")
    return value.strip() if isinstance(value, str) else ""
