"""Anything a stranger can put in a payload gets a 2xx or a 4xx: never a 500, never a traceback.

Real payloads (a click, a form, thread events) are taken as Slack sends them, then any part of
them is replaced by arbitrary JSON or removed, and the result is dispatched to the Bolt app the
way both Socket Mode and the HTTP endpoint hand it a parsed body.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from slack_bolt import BoltRequest

from tests.slack.test_grammar_fuzz import commands
from tests.standin import SlackStandIn
from tests.support.harness import Bot
from tests.support.payloads import kept_payloads

SPOT = "security-basics/spot-phishing"
SUBCOMMANDS = ["", "snooze", "pause", "resume", "cancel", "schedule", "send", "leads add", "join"]
FUZZ = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.sampled_from(["", "²", "1.1:²", "9:5", "25:00", "31-12-2026", "U0000001", "T0OTHER"])
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON document, outermost first."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """`base` with one to three of its parts replaced by arbitrary JSON, or removed."""
    payload = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        places = [path for path in paths(payload) if path]
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent = payload
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(JSON)
    return payload


def dispatch(bot: Bot, payload: dict[str, Any]) -> int:
    return bot.bolt.dispatch(BoltRequest(body=payload, mode="socket_mode")).status


def crashes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.exc_info or r.levelno >= logging.ERROR
    ]


def real_payloads(bot: Bot, standin: SlackStandIn) -> list[dict[str, Any]]:
    """A click on an answer, Done and Home buttons, and the schedule and preferences forms."""
    ann = standin.add_user("ann", real_name="Ann Lee")
    general = standin.add_channel("general", members=[ann, bot.lead])
    assert "Sending" in bot.command(bot.lead, f"send {SPOT} to <@{ann}>")
    bot.tick()
    dm = standin.dm_channel(ann)
    question = [m for m in standin.messages(dm) if str(m["text"]).startswith("Question 1")][0]
    lesson = [m for m in standin.messages(dm) if str(m["text"]).startswith("New lesson")][0]
    bot.driver.open_home(ann)
    bot.driver.click_view(ann, standin.home(ann) or {}, action_id="home_prefs")
    bot.driver.open_home(bot.lead)
    bot.driver.click_view(bot.lead, standin.home(bot.lead) or {}, action_id="home_schedule")
    with kept_payloads(bot.driver) as captured:
        bot.driver.click(ann, question, channel_id=dm, action_id="answer_1")
        bot.driver.click(ann, lesson, channel_id=dm, action_id="lesson_done")
        bot.driver.click_view(ann, standin.home(ann) or {}, action_id="home_snooze_7")
        bot.driver.submit_view(
            ann, standin.open_views(ann)[-1], {"days": {"days": ["mon"]}, "time": {"time": "07:15"}}
        )
        bot.driver.submit_view(
            bot.lead,
            standin.open_views(bot.lead)[-1],
            {
                "course": {"course": "security-basics"},
                "people": {"people": [ann]},
                "channels": {"channels": [general]},
                "time": {"time": "10:00"},
                "start": {"start": "2026-12-01"},
            },
        )
    thread_ts = str(lesson["ts"])
    reply = {
        "type": "message",
        "channel": dm,
        "user": ann,
        "text": "a reply",
        "ts": standin.next_ts(),
        "thread_ts": thread_ts,
    }
    events = [
        reply,
        {"type": "message", "subtype": "message_changed", "channel": dm, "message": reply},
        {"type": "message", "subtype": "message_deleted", "channel": dm, "deleted_ts": reply["ts"]},
        {"type": "reaction_added", "item": {"type": "message", "channel": dm, "ts": reply["ts"]}},
        {"type": "member_joined_channel", "user": ann, "channel": general},
        {"type": "app_home_opened", "user": ann, "tab": "home"},
    ]
    envelopes = [
        {
            "type": "event_callback",
            "team_id": standin.team_id,
            "event_id": f"Ev{number}",
            "event": event,
        }
        for number, event in enumerate(events)
    ]
    command = {
        "command": "/learn",
        "text": "snooze 2",
        "user_id": ann,
        "team_id": standin.team_id,
        "channel_id": dm,
        "response_url": standin.new_response_url(user_id=ann, channel_id=dm),
        "trigger_id": standin.issue_trigger_id(ann),
    }
    return [*captured, *envelopes, command]


# Hundreds of requests each, to the Slack surface: input handling, before anything is stored.
FUZZED_SURFACE = pytest.mark.sqlite_only(
    "Slack surface: payload parsing, answered before any write"
)


@FUZZED_SURFACE
def test_mutated_payloads_get_a_clear_answer(
    bot: Bot, standin: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    bases = real_payloads(bot, standin)
    assert len(bases) == 12
    caplog.set_level(logging.WARNING)

    @FUZZ
    @given(payload=st.sampled_from(bases).flatmap(mutated))
    def check(payload: dict[str, Any]) -> None:
        status = dispatch(bot, payload)
        assert status < 500, (status, payload)
        assert crashes(caplog) == [], payload

    check()


@FUZZED_SURFACE
def test_the_learn_command_answers_any_text(
    bot: Bot, standin: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    ann = standin.add_user("ann", real_name="Ann Lee")
    dm = standin.dm_channel(ann)
    caplog.set_level(logging.WARNING)

    @FUZZ
    @given(
        text=st.tuples(st.sampled_from(SUBCOMMANDS), commands).map(" ".join),
        who=st.sampled_from([ann, bot.lead]),
    )
    @example(text="snooze ²", who=ann)  # the commands that once ended in a traceback
    @example(text="pause ²", who=bot.lead)
    @example(text="pause 99999999999999999999", who=bot.lead)
    @example(text="schedule security-basics to #general from 9999-12-31", who=bot.lead)
    def check(text: str, who: str) -> None:
        command = {
            "command": "/learn",
            "text": text,
            "user_id": who,
            "team_id": standin.team_id,
            "channel_id": dm,
            "response_url": standin.new_response_url(user_id=who, channel_id=dm),
            "trigger_id": standin.issue_trigger_id(who),
        }
        assert dispatch(bot, command) == 200
        assert crashes(caplog) == [], text

    check()
