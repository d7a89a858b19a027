"""The page's JSON API: read the state one person sees, and do what a person (or the clock) does.

Every field is checked before anything is sent: a malformed request gets a 400 naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from bot.sandbox.client import Container, Refusal
from bot.sandbox.markup import when
from bot.sandbox.page import Where
from bot.sandbox.world import PEOPLE

if TYPE_CHECKING:
    from bot.sandbox.run import Sandbox

JSON = dict[str, Any]
MAX_TEXT = 4_000
PEOPLE_IDS = frozenset(p.user_id for p in PEOPLE)
CONTAINER_KINDS = ("message", "ephemeral", "view")


class BadRequest(Exception):
    """The request cannot be done as asked; the message says why."""

    def __init__(self, message: str, *, status: int = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(message)
        self.status = status


class Api:
    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def state(self, query: Mapping[str, str], *, wait: float = 0.0) -> JSON:
        """What `as` sees; with `v` (the version last seen), waits up to `wait` s for a change."""
        user = _person(query.get("as") or PEOPLE[0].user_id)
        where = Where(
            user=user,
            conversation=_id(query.get("c") or "dm", "c"),
            thread=_ts(query.get("t"), "t") if query.get("t") else None,
        )
        parts = self._sandbox.parts()
        seen = query.get("v")
        if seen is not None and wait > 0:
            standin = parts.world.standin
            standin.wait_for(lambda: str(standin.version) != seen, timeout=wait)
        try:
            return parts.page.build(where)
        except (Refusal, KeyError) as error:
            raise BadRequest(f"cannot show that: {error}") from error

    def file(self, file_id: str) -> tuple[str, bytes] | None:
        for record in self._sandbox.parts().world.standin.files():
            if record["id"] == file_id and record["bytes"] is not None:
                return str(record["name"]), bytes(record["bytes"])
        return None

    def post(self, action: str, body: Mapping[str, Any]) -> JSON:
        handler = {
            "say": self._say,
            "act": self._act,
            "submit": self._submit,
            "close": self._close,
            "home": self._home,
            "join": self._join,
            "clock": self._clock,
            "reset": self._reset,
        }.get(action)
        if handler is None:
            raise BadRequest(f"no action {action!r}", status=HTTPStatus.NOT_FOUND)
        # What a person does next sees the lessons as they are on disk now, not a second ago.
        self._sandbox.parts().world.refresh_lessons()
        try:
            return handler(body)
        except Refusal as refusal:
            raise BadRequest(str(refusal), status=HTTPStatus.CONFLICT) from refusal

    # -- what a person does ----------------------------------------------------------------

    def _say(self, body: Mapping[str, Any]) -> JSON:
        user = _person(body.get("as"))
        parts = self._sandbox.parts()
        channel = _id(body.get("channel"), "channel")
        if channel == "dm":
            channel = parts.world.standin.dm_channel(user)
        text = _text(body.get("text"), "text")
        thread = body.get("thread_ts")
        return parts.client.say(
            user, channel, text, thread_ts=_ts(thread, "thread_ts") if thread else None
        )

    def _act(self, body: Mapping[str, Any]) -> JSON:
        user = _person(body.get("as"))
        raw = body.get("container")
        if not isinstance(raw, dict) or raw.get("kind") not in CONTAINER_KINDS:
            raise BadRequest(f"container must be an object with kind in {CONTAINER_KINDS}")
        kind = str(raw["kind"])
        if kind == "view":
            container = Container(kind="view", view_id=_id(raw.get("view_id"), "view_id"))
        else:
            container = Container(
                kind=kind,
                channel=_id(raw.get("channel"), "channel"),
                ts=_ts(raw.get("ts"), "ts"),
            )
        selected = body.get("selected")
        if selected is not None and not (
            isinstance(selected, list) and all(isinstance(v, str) for v in selected)
        ):
            raise BadRequest("selected must be a list of strings")
        value = body.get("value")
        if value is not None and not isinstance(value, str):
            raise BadRequest("value must be a string")
        return self._sandbox.parts().client.act(
            user,
            container,
            block_id=_text(body.get("block_id"), "block_id", limit=255),
            action_id=_text(body.get("action_id"), "action_id", limit=255),
            value=value,
            selected=selected,
        )

    def _submit(self, body: Mapping[str, Any]) -> JSON:
        user = _person(body.get("as"))
        values = body.get("values")
        if not isinstance(values, dict) or not all(
            isinstance(actions, dict) for actions in values.values()
        ):
            raise BadRequest("values must be {block_id: {action_id: value}}")
        return self._sandbox.parts().client.submit(
            user, _id(body.get("view_id"), "view_id"), values
        )

    def _close(self, body: Mapping[str, Any]) -> JSON:
        user = _person(body.get("as"))
        return self._sandbox.parts().client.close(user, _id(body.get("view_id"), "view_id"))

    def _home(self, body: Mapping[str, Any]) -> JSON:
        return self._sandbox.parts().client.open_home(_person(body.get("as")))

    def _join(self, body: Mapping[str, Any]) -> JSON:
        user = _person(body.get("as"))
        return self._sandbox.parts().client.join(user, _id(body.get("channel"), "channel"))

    # -- what the sandbox does -------------------------------------------------------------

    def _clock(self, body: Mapping[str, Any]) -> JSON:
        to = body.get("to")
        if to not in ("next", "day"):
            raise BadRequest('to must be "next" (the next due delivery) or "day"')
        world = self._sandbox.parts().world
        jump = world.jump(to_next=to == "next")
        if jump.report is None:
            return {"moved": False, "message": "Nothing is scheduled yet."}
        drained = jump.report.drain
        tz = _person_tz(body.get("as"))
        return {
            "moved": True,
            "now": jump.now.isoformat(),
            "message": f"Now {when(jump.now, tz)} ({tz}): {drained.sent} sent.",
        }

    def _reset(self, body: Mapping[str, Any]) -> JSON:
        self._sandbox.reset()
        return {"reset": True}


def _person(value: object) -> str:
    if not isinstance(value, str) or value not in PEOPLE_IDS:
        raise BadRequest(f"as must be one of {sorted(PEOPLE_IDS)}")
    return value


def _person_tz(value: object) -> str:
    return next((p.tz for p in PEOPLE if p.user_id == value), "UTC")


def _text(value: object, name: str, *, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise BadRequest(f"{name} must be a non-empty string of at most {limit} characters")
    return value


def _id(value: object, name: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 64 or not value.isalnum():
        raise BadRequest(f"{name} must be a Slack id")
    return value


def _ts(value: object, name: str) -> str:
    text = value if isinstance(value, str) else ""
    seconds, dot, micros = text.partition(".")
    if not (seconds.isdigit() and dot and micros.isdigit()):
        raise BadRequest(f"{name} must be a message timestamp like 1700000000.000100")
    return text
