"""Strange input gets a clear private refusal or a 4xx: never a 500, a traceback, or a hang."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.storage.answer_reports import AnswerReports
from tests.standin import SlackStandIn
from tests.support.harness import Bot, module_bot, running_bot
from tests.support.payloads import kept_payloads, post_signed

# The tests not marked run on both databases: the statements only they run on PostgreSQL,
# or concurrency, locking and exactly-once that only PostgreSQL can show.
SLACK_SURFACE = pytest.mark.sqlite_only(
    "Slack surface: strange input refused before anything is stored"
)

SPOT = "security-basics/spot-phishing"


@pytest.fixture
def ann(standin: SlackStandIn) -> str:
    return standin.add_user("ann", real_name="Ann Lee", tz="Europe/Berlin")


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.exc_info or r.levelno >= logging.ERROR
    ]


def answer_click(bot: Bot, learner: str) -> dict[str, Any]:
    """A real click on the first question of a lesson sent to `learner`, kept, not sent."""
    assert "Sending" in bot.command(bot.lead, f"send {SPOT} to <@{learner}>")
    bot.tick()
    dm = bot.standin.dm_channel(learner)
    with kept_payloads(bot.driver) as kept:
        bot.driver.click(learner, question(bot.standin, dm, 1), channel_id=dm, action_id="answer_1")
    return kept[0]


def question(standin: SlackStandIn, channel: str, number: int) -> dict[str, Any]:
    return [
        m for m in standin.messages(channel) if str(m["text"]).startswith(f"Question {number} of")
    ][-1]


@SLACK_SURFACE
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("snooze ²", "Snooze for a number of days from 1 to 90"),
        ("pause ²", "Give the drip's number"),
        ("pause 99999999999999999999", "There is no drip #99999999999999999999"),
        ("resume 2147483648", "There is no drip #2147483648"),
        ("cancel ³", "Give the drip's number"),
    ],
)
def test_strange_numbers_get_a_private_usage_reply(
    bot: Bot, caplog: pytest.LogCaptureFixture, text: str, expected: str
) -> None:
    caplog.set_level(logging.WARNING)
    reply = bot.command(bot.lead, text)
    assert reply.startswith(":no_entry_sign: "), reply
    assert expected in reply, reply
    assert no_tracebacks(caplog) == []


def test_a_drip_id_too_big_for_the_database_is_refused_on_postgresql_too(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    reply = bot.command(bot.lead, "pause 9223372036854775808")
    assert "There is no drip" in reply, reply
    assert no_tracebacks(caplog) == []


BROKEN_CLICKS: dict[str, Callable[[dict[str, Any]], object]] = {
    "no user": lambda p: p.pop("user"),
    "no actions in the list": lambda p: p.update(actions=[]),
    "actions not a list": lambda p: p.update(actions="answer_1"),
    "an action that is null": lambda p: p.update(actions=[None]),
    "a user without an id": lambda p: p.update(user={"name": "ann"}),
    "a user that is a string": lambda p: p.update(user="U1"),
    "an action without an id": lambda p: p["actions"][0].pop("action_id"),
    "an action id that is a number": lambda p: p["actions"][0].update(action_id=7),
    "a team id that is a number": lambda p: p.update(team={"id": 7}),
    "a container that is a string": lambda p: p.update(container="x"),
}


@pytest.fixture(scope="module")
def clicked(
    _sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Bot, dict[str, Any]]]:
    """A workspace where a lesson went out, and a real click on its first question, unsent."""
    with module_bot(_sqlite_template, tmp_path_factory.mktemp("clicks")) as bot:
        ann = bot.standin.add_user("ann", real_name="Ann Lee")
        yield bot, answer_click(bot, ann)


@SLACK_SURFACE
@pytest.mark.parametrize("change", BROKEN_CLICKS.values(), ids=BROKEN_CLICKS.keys())
def test_signed_clicks_missing_their_parts_get_a_4xx_and_change_nothing(
    clicked: tuple[Bot, dict[str, Any]], caplog: pytest.LogCaptureFixture, change: Any
) -> None:
    bot, click = clicked
    payload = copy.deepcopy(click)
    caplog.set_level(logging.WARNING)
    change(payload)
    response = post_signed(bot.driver, payload)
    assert 400 <= response.status < 500, (response.status, response.body)
    assert AnswerReports(bot.db).answer_rows(bot.standin.team_id, "security-basics") == []
    assert no_tracebacks(caplog) == []


@SLACK_SURFACE
@pytest.mark.parametrize("value", ["1.1:²", "1.²:1", "99999999999999999999.1:1"])
def test_strange_answer_values_get_a_private_refusal(
    bot: Bot, standin: SlackStandIn, ann: str, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    payload = answer_click(bot, ann)
    caplog.set_level(logging.WARNING)
    payload["actions"][0]["value"] = value
    response = post_signed(bot.driver, payload)
    assert response.status == 200
    notes = [str((r.get("body") or {}).get("text", "")) for r in standin.responses()]
    assert "no longer available" in notes[-1] or "doesn't fit" in notes[-1], notes[-1]
    assert AnswerReports(bot.db).answer_rows(standin.team_id, "security-basics") == []
    assert no_tracebacks(caplog) == []


@SLACK_SURFACE
@pytest.mark.parametrize("metadata", ["not json", "[]"])
def test_bad_private_metadata_is_refused_on_the_form(
    bot: Bot, standin: SlackStandIn, ann: str, caplog: pytest.LogCaptureFixture, metadata: str
) -> None:
    caplog.set_level(logging.WARNING)
    payload = {
        "type": "view_submission",
        "team": {"id": standin.team_id},
        "user": {"id": ann, "team_id": standin.team_id},
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "open_answer",
            "private_metadata": metadata,
            "state": {"values": {"answer": {"answer": {"type": "plain_text_input", "value": "x"}}}},
        },
    }
    response = post_signed(bot.driver, payload)
    assert response.status == 200
    assert "no longer available" in response.json()["errors"]["answer"]
    assert no_tracebacks(caplog) == []


def test_a_listener_failing_after_its_ack_answers_at_once_and_apologises_privately(
    standin: SlackStandIn, database_url: str, ann: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As `microlearn serve` runs listeners: on Bolt's executor, the request's thread polling
    # for the ack every 10 ms. A failure right after the ack used to take the ack back before
    # the next poll: 3 s, then a 404.
    with running_bot(standin, database_url, process_before_response=False) as bot:

        def broken(**_: Any) -> Any:
            raise RuntimeError("the database went away")

        monkeypatch.setattr(bot.services.self_service, "snooze", broken)
        bot.driver.open_home(ann)
        assert standin.wait_for(lambda: standin.home(ann) is not None)
        response = bot.driver.click_view(ann, standin.home(ann) or {}, action_id="home_snooze_7")
        assert response.status == 200
        assert standin.wait_for(  # a Home button has no response URL: the apology is a DM
            lambda: any(
                "Something went wrong on our side" in str(m.get("text"))
                for m in standin.messages(ann)
            )
        )
