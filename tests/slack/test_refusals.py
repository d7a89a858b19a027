"""A refusal becomes a private reply where the person acted: under the form's first field, in
the command's answer, on top of App Home, or through the click's response URL."""

from __future__ import annotations

import json
from typing import Any, cast

from slack_bolt import BoltContext
from slack_bolt.context.respond import Respond

from bot.services.refused import Refused
from bot.slack.app_home import AppHome
from bot.slack.messenger import SlackMessenger
from bot.slack.refusals import Refusals, shown_on_home


class Slack:
    """Stands in for App Home, the messenger and the response URL; records what each was told."""

    def __init__(self) -> None:
        self.told: list[tuple[str, Any]] = []

    def publish(self, team_id: str, user_id: str, *, note: str | None = None) -> None:
        self.told.append(("home", (team_id, user_id, note)))

    def post(self, team_id: str, channel: str, message: dict[str, Any]) -> None:
        self.told.append(("dm", (team_id, channel, message["text"])))

    def __call__(self, **message: Any) -> None:  # the response URL
        self.told.append(("response_url", message))


def _reply(
    body: dict[str, Any], *, acknowledged: bool, on_home: bool = False
) -> tuple[Any, list[tuple[str, Any]]]:
    slack = Slack()
    refusals = Refusals(home=cast(AppHome, slack), messenger=cast(SlackMessenger, slack))
    context = BoltContext({"team_id": "T1", "user_id": "U1"})
    if on_home:
        shown_on_home(context, lambda: None)
    response = refusals.reply(
        Refused("Only leads can do that in <#C1|general>: see `/learn help`."),
        body=body,
        respond=cast(Respond, slack),
        acknowledged=acknowledged,
        context=context,
    )
    return response, slack.told


def test_a_form_shows_the_refusal_under_its_first_field_in_plain_text() -> None:
    view = {"blocks": [{"type": "section"}, {"type": "input", "block_id": "course"}]}
    response, told = _reply({"type": "view_submission", "view": view}, acknowledged=False)
    assert json.loads(response.body) == {
        "response_action": "errors",
        "errors": {"course": "Only leads can do that in #general: see /learn help."},
    }
    assert told == []


def test_a_form_refused_after_it_closed_says_so_in_the_dm_and_shows_the_home_again() -> None:
    response, told = _reply({"type": "view_submission", "view": {}}, acknowledged=True)
    assert response is None
    assert told == [
        (
            "dm",
            (
                "T1",
                "U1",
                ":no_entry_sign: Only leads can do that in <#C1|general>: see `/learn help`.",
            ),
        ),
        ("home", ("T1", "U1", None)),
    ]


def test_a_command_answers_with_the_refusal() -> None:
    body = {"command": "/learn", "response_url": "https://hooks.slack.test/1"}
    response, told = _reply(body, acknowledged=True)
    assert response is None
    assert told == [
        (
            "response_url",
            {
                "text": ":no_entry_sign: Only leads can do that in <#C1|general>: see "
                "`/learn help`.",
                "response_type": "ephemeral",
                "replace_original": False,
            },
        )
    ]
    response, told = _reply(body, acknowledged=False)  # refused before its acknowledgement
    assert json.loads(response.body)["text"].startswith(":no_entry_sign: Only leads")
    assert told == []


def test_an_app_home_button_shows_the_refusal_on_top_of_the_home() -> None:
    response, told = _reply({"type": "block_actions"}, acknowledged=True, on_home=True)
    assert response is None
    assert told == [
        ("home", ("T1", "U1", "Only leads can do that in <#C1|general>: see `/learn help`."))
    ]


def test_a_message_button_answers_privately_and_acknowledges_if_not_yet_done() -> None:
    body = {"type": "block_actions", "response_url": "https://hooks.slack.test/2"}
    response, told = _reply(body, acknowledged=False)
    assert response.status == 200 and response.body == ""
    assert [(where, message["response_type"]) for where, message in told] == [
        ("response_url", "ephemeral")
    ]


def test_a_button_with_nowhere_to_answer_stays_silent() -> None:
    response, told = _reply({"type": "block_actions"}, acknowledged=True)
    assert response is None
    assert told == []
