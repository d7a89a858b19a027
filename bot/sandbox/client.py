"""What a person does in the page, sent to the bot exactly as Slack's client and servers would."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.sandbox.slack import DriverError, DriverResponse, SlackDriver, SlackStandIn
from bot.sandbox.slack.socket_mode import SocketAckTimeoutError, SocketNotConnectedError

JSON = dict[str, Any]
COMMANDS = ("/learn",)


def as_slack_text(typed: str, handles: Mapping[str, str]) -> str:
    """What Slack's client sends for typed text: &, < and > escaped, `@name` as a mention."""
    escaped = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(
        r"(?<![\w@])@([a-z0-9._-]+)",
        lambda m: f"<@{handles[m.group(1)]}>" if m.group(1) in handles else m.group(0),
        escaped,
    )


class Refusal(Exception):
    """What Slack's client would tell the person instead of sending anything (a 4xx)."""


@dataclass(frozen=True)
class Container:
    """Where an element sits: a message, an ephemeral message, or a view (modal, App Home)."""

    kind: str  # message | ephemeral | view
    channel: str = ""
    ts: str = ""
    view_id: str = ""

    @property
    def key(self) -> str:
        return self.view_id if self.kind == "view" else f"{self.kind}:{self.channel}:{self.ts}"


class PersonClient:
    """Plays Slack's client for whichever person the page acts as."""

    def __init__(self, standin: SlackStandIn, driver: SlackDriver) -> None:
        self._standin = standin
        self._driver = driver
        self._lock = threading.Lock()
        # Checkboxes and selects in messages keep their state in Slack's client until a button
        # sends it along; here, per person and message.
        self._state: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}

    def element_state(self, user: str, container: Container, block_id: str, action_id: str) -> Any:
        with self._lock:
            return self._state.get((user, container.key), {}).get(block_id, {}).get(action_id)

    def say(self, user: str, channel: str, text: str, *, thread_ts: str | None = None) -> JSON:
        """A message from the composer: a slash command, or a message (a thread reply)."""
        text = text.strip()
        if not text:
            raise Refusal("Type a message or a /learn command.")
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            if command not in COMMANDS:
                raise Refusal(f"{command} is not a valid command. In this workspace: /learn.")
            response = self._send(lambda: self._driver.command(user, rest, channel_id=channel))
            return {"status": response.status}
        typed = as_slack_text(text, self._handles())
        self._send(lambda: self._driver.user_says(user, channel, typed, thread_ts=thread_ts))
        return {"status": 200}

    def _handles(self) -> dict[str, str]:
        return {
            str(self._standin.user(uid)["name"]): uid
            for uid in {m for c in self._standin.channels() for m in c["members"]}
        }

    def act(
        self,
        user: str,
        container: Container,
        *,
        block_id: str,
        action_id: str,
        value: str | None = None,
        selected: Sequence[str] | None = None,
    ) -> JSON:
        """A click, a pick or a tick on an element of a message, ephemeral or view."""
        if selected is not None:
            with self._lock:
                entry = self._state.setdefault((user, container.key), {})
                entry.setdefault(block_id, {})[action_id] = list(selected)
        elif value is not None and container.kind != "view":
            self._remember_pick(user, container, block_id, action_id, value)
        state = self._message_state(user, container)
        arguments: JSON = {"action_id": action_id}
        if selected is not None:
            arguments["selected"] = list(selected)
        elif value is not None:
            arguments["value"] = value
        if container.kind == "view":
            response = self._send(
                lambda: self._driver.click_view(user, container.view_id, **arguments)
            )
        elif container.kind == "ephemeral":
            ephemeral = self._ephemeral(user, container)
            response = self._send(
                lambda: self._driver.click_ephemeral(user, ephemeral, state=state, **arguments)
            )
        else:
            message = {"ts": container.ts}
            response = self._send(
                lambda: self._driver.click(
                    user, message, channel_id=container.channel, state=state, **arguments
                )
            )
        return {"status": response.status}

    def submit(self, user: str, view_id: str, values: Mapping[str, Mapping[str, Any]]) -> JSON:
        """A modal's submit button; the app may answer with errors to show next to the inputs."""
        self._own_view(user, view_id)
        response = self._send(lambda: self._driver.submit_view(user, view_id, values))
        body = response.payload()
        errors = body.get("errors") if body.get("response_action") == "errors" else None
        return {"status": response.status, "errors": errors or {}}

    def close(self, user: str, view_id: str) -> JSON:
        self._own_view(user, view_id)
        self._send(lambda: self._driver.close_view(user, view_id))
        return {"status": 200}

    def open_home(self, user: str) -> JSON:
        response = self._send(lambda: self._driver.open_home(user))
        return {"status": response.status}

    def join(self, user: str, channel: str) -> JSON:
        response = self._send(lambda: self._driver.join(user, channel))
        return {"status": response.status}

    def _remember_pick(
        self, user: str, container: Container, block_id: str, action_id: str, value: str
    ) -> None:
        """A select's choice stays shown (buttons have no state)."""
        element = self._find_element(container, block_id, action_id)
        if element is not None and element.get("type") != "button":
            with self._lock:
                entry = self._state.setdefault((user, container.key), {})
                entry.setdefault(block_id, {})[action_id] = value

    def _find_element(self, container: Container, block_id: str, action_id: str) -> JSON | None:
        message = self._standin.find_message(container.channel, container.ts)
        for block in (message or {}).get("blocks") or []:
            if block.get("block_id") != block_id:
                continue
            elements = list(block.get("elements") or []) + [block.get("accessory")]
            for element in elements:
                if isinstance(element, dict) and element.get("action_id") == action_id:
                    return element
        return None

    def _message_state(self, user: str, container: Container) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {
                block: dict(actions)
                for block, actions in self._state.get((user, container.key), {}).items()
            }

    def _ephemeral(self, user: str, container: Container) -> JSON:
        for ephemeral in self._standin.ephemerals(container.channel, user):
            if ephemeral["message_ts"] == container.ts:
                return ephemeral
        raise Refusal("That message is gone.")

    def _own_view(self, user: str, view_id: str) -> None:
        if view_id not in {view["id"] for view in self._standin.open_views(user)}:
            raise Refusal("That form is closed.")

    @staticmethod
    def _send(call: Any) -> DriverResponse:
        """Run one driver call; what Slack's client would refuse becomes a Refusal."""
        try:
            response: DriverResponse | None = call()
        except (DriverError, KeyError) as error:
            raise Refusal(f"Slack would not send that: {error}") from error
        except PermissionError as error:
            raise Refusal(f"You can't post there: {error}") from error
        except (SocketAckTimeoutError, SocketNotConnectedError) as error:
            raise Refusal(f"The bot did not answer: {error}") from error
        if response is None:
            return DriverResponse(status=200, headers={}, body="")
        return response
