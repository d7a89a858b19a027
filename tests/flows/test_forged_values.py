"""Values from forms and buttons are checked before anything is stored; bad stored ones are
survived. Slack's own widgets never send these values: a forged (or buggy) request does."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.storage.drips import DripRepository
from bot.storage.enrolments import EnrolmentRepository
from bot.storage.learners import LearnerRepository
from tests.flows.test_home import home_text
from tests.standin import DriverResponse, SlackStandIn
from tests.support.harness import Bot, module_bot
from tests.support.payloads import post_signed

# The tests not marked run on both databases: the statements only they run on PostgreSQL,
# or concurrency, locking and exactly-once that only PostgreSQL can show.
SLACK_SURFACE = pytest.mark.sqlite_only(
    "Slack surface: forged form and button values refused before anything is stored"
)


@pytest.fixture
def ann(standin: SlackStandIn) -> str:
    return standin.add_user("ann", real_name="Ann Lee", tz="Europe/Berlin")


def forged_submit(
    bot: Bot, user_id: str, form: dict[str, Any], values: dict[str, dict[str, dict[str, Any]]]
) -> DriverResponse:
    """Submit a form whose state carries exactly these raw values (as a forger would)."""
    view = copy.deepcopy(bot.standin.get_view(str(form["id"])))
    state: dict[str, dict[str, dict[str, Any]]] = {}
    for block in view["blocks"]:
        if block.get("type") == "input":
            element = block["element"]
            state[block["block_id"]] = {element["action_id"]: {"type": element["type"]}}
    for block_id, actions in values.items():
        for action_id, raw in actions.items():
            state.setdefault(block_id, {}).setdefault(action_id, {}).update(raw)
    view["state"] = {"values": state}
    payload = {
        "type": "view_submission",
        "team": {"id": bot.standin.team_id, "domain": bot.standin.team_domain},
        "user": {"id": user_id, "team_id": bot.standin.team_id},
        "api_app_id": bot.standin.app_id,
        "trigger_id": bot.standin.issue_trigger_id(user_id),
        "view": view,
    }
    return post_signed(bot.driver, payload)


def prefs_form(bot: Bot, user_id: str) -> dict[str, Any]:
    bot.driver.open_home(user_id)
    bot.driver.click_view(user_id, bot.standin.home(user_id) or {}, action_id="home_prefs")
    return bot.standin.open_views(user_id)[-1]


def schedule_form(bot: Bot) -> dict[str, Any]:
    bot.driver.open_home(bot.lead)
    bot.driver.click_view(bot.lead, bot.standin.home(bot.lead) or {}, action_id="home_schedule")
    return bot.standin.open_views(bot.lead)[-1]


@dataclass
class Forms:
    """One workspace where a learner and a lead opened their forms (each case changes nothing)."""

    bot: Bot
    ann: str
    prefs: dict[str, Any]
    schedule: dict[str, Any]


@pytest.fixture(scope="module")
def forms(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Forms]:
    with module_bot(_sqlite_template, tmp_path_factory.mktemp("forms")) as bot:
        ann = bot.standin.add_user("ann", real_name="Ann Lee", tz="Europe/Berlin")
        bot.command(ann, "join security-basics")
        yield Forms(bot, ann, prefs_form(bot, ann), schedule_form(bot))


def drip_count(bot: Bot) -> int:
    return len(DripRepository(bot.db).drips(bot.standin.team_id))


WEEKDAYS = [
    {"value": day, "text": {"type": "plain_text", "text": day}}
    for day in ("mon", "tue", "wed", "thu", "fri")
]


@SLACK_SURFACE
@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"time": {"time": {"selected_time": "9:5"}}}, "time"),
        ({"time": {"time": {"selected_time": "25:00"}}}, "time"),
        ({"time": {"time": {"selected_time": ["09:30"]}}}, "time"),
        ({"days": {"days": {"selected_options": [{"value": "funday"}]}}}, "days"),
        ({"days": {"days": {"selected_options": "mon"}}}, "days"),
    ],
)
def test_forged_preferences_are_refused_and_nothing_is_stored(
    forms: Forms, values: dict[str, Any], field: str
) -> None:
    bot, ann = forms.bot, forms.ann
    full: dict[str, Any] = {
        "days": {"days": {"selected_options": WEEKDAYS}},
        "time": {"time": {"selected_time": "08:00"}},
    }
    full.update(values)
    response = forged_submit(bot, ann, forms.prefs, full)
    assert response.status == 200
    assert response.json()["response_action"] == "errors"
    assert set(response.json()["errors"]) == {field}
    learner = LearnerRepository(bot.db).learner(bot.standin.team_id, ann)
    assert learner is None or (learner.pref_at is None and learner.pref_days is None)


def test_a_bad_preference_stored_earlier_breaks_nothing(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    general = standin.add_channel("general", members=[ann, bot.lead])
    bot.driver.open_home(ann)  # her profile is stored
    LearnerRepository(bot.db).set_learner_prefs(
        standin.team_id, ann, days="mon,funday", at_time="9:5"
    )
    reply = bot.command(bot.lead, f"schedule security-basics to members of <#{general}|general>")
    assert "Drip #1 scheduled" in reply, reply
    [enrolment] = [
        e for e in EnrolmentRepository(bot.db).enrolments(standin.team_id) if e.recipient == ann
    ]
    assert (enrolment.days, enrolment.at_time) == ("mon,tue,wed,thu,fri", "09:30")
    bot.driver.open_home(ann)
    assert "Delivery: the drip's days, the drip's time" in home_text(standin, ann)
    bot.driver.click_view(ann, standin.home(ann) or {}, action_id="home_prefs")
    [form] = standin.open_views(ann)
    assert "9:5" not in json.dumps(form)


@SLACK_SURFACE
@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"start": {"start": {"selected_date": "31-12-2026"}}}, "start", "not a date"),
        ({"start": {"start": {"selected_date": "9999-12-31"}}}, "start", "within a year"),
        ({"time": {"time": {"selected_time": "25:00"}}}, "time", "not a time"),
        ({"course": {"course": {"selected_option": {"value": "no-such"}}}}, "course", "course"),
        ({"people": {"people": {"selected_users": ["U1", "<script>"]}}}, "people", "person"),
        ({"people": {"people": {"selected_users": "U1"}}}, "people", "person"),
        ({"discuss": {"discuss": {"selected_conversation": {"id": "C1"}}}}, "discuss", ""),
        ({"groups": {"groups": {"value": "@" * 3001}}}, "groups", ""),
        ({"days": {"days": {"selected_options": [{"value": "mon"}, {"no": 1}]}}}, "days", "day"),
    ],
)
def test_forged_schedule_form_values_are_refused_next_to_their_field(
    forms: Forms, values: dict[str, Any], field: str, message: str
) -> None:
    bot, ann = forms.bot, forms.ann
    full: dict[str, Any] = {
        "course": {"course": {"selected_option": {"value": "security-basics"}}},
        "people": {"people": {"selected_users": [ann]}},
        "days": {"days": {"selected_options": WEEKDAYS}},
        "time": {"time": {"selected_time": "10:00"}},
    }
    full.update(values)
    response = forged_submit(bot, bot.lead, forms.schedule, full)
    assert response.status == 200
    errors = response.json()["errors"]
    assert field in errors and message in errors[field], errors
    assert drip_count(bot) == 1  # the drip ann joined, and no other


@SLACK_SURFACE
def test_a_schedule_that_fails_while_planning_leaves_no_drip_behind(
    bot: Bot, standin: SlackStandIn, ann: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    general = standin.add_channel("general", members=[ann, bot.lead])

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a learner's settings could not be read")

    monkeypatch.setattr("bot.services.scheduling.dm_plan", broken)
    reply = bot.command(bot.lead, f"schedule security-basics to members of <#{general}|general>")
    assert "Something went wrong on our side and nothing was changed" in reply, reply
    assert drip_count(bot) == 0


@SLACK_SURFACE
def test_a_start_date_years_ahead_is_refused_with_the_form(bot: Bot, ann: str) -> None:
    reply = bot.command(bot.lead, f"schedule security-basics to <@{ann}> from 9999-12-31")
    assert reply.startswith(":no_entry_sign: "), reply
    assert "within a year" in reply
    assert "The form is `/learn schedule <course> to <targets>" in reply
    assert drip_count(bot) == 0


def click_with_value(bot: Bot, user_id: str, action_id: str, value: str) -> DriverResponse:
    bot.driver.open_home(user_id)
    home = bot.standin.home(user_id) or {}
    payload = {
        "type": "block_actions",
        "team": {"id": bot.standin.team_id, "domain": bot.standin.team_domain},
        "user": {"id": user_id, "team_id": bot.standin.team_id},
        "api_app_id": bot.standin.app_id,
        "trigger_id": bot.standin.issue_trigger_id(user_id),
        "container": {"type": "view", "view_id": home.get("id")},
        "view": home,
        "actions": [
            {"type": "button", "action_id": action_id, "block_id": "x", "value": value},
        ],
    }
    return post_signed(bot.driver, payload)


@SLACK_SURFACE
@pytest.mark.parametrize("value", ["²", "99999999999999999999", "-3", "0", "1e3", ""])
def test_forged_snooze_buttons_change_nothing(forms: Forms, value: str) -> None:
    bot, ann = forms.bot, forms.ann
    response = click_with_value(bot, ann, "home_snooze_7", value)
    assert response.status == 200
    learner = LearnerRepository(bot.db).learner(bot.standin.team_id, ann)
    assert learner is not None and learner.snoozed_until is None


@SLACK_SURFACE
@pytest.mark.parametrize("value", ["²", "99999999999999999999", "1.5", "#1", ""])
def test_forged_drip_buttons_change_nothing(
    bot: Bot, standin: SlackStandIn, ann: str, value: str
) -> None:
    bot.command(bot.lead, f"schedule security-basics to <@{ann}>")
    for action in ("drip_pause", "drip_cancel"):
        response = click_with_value(bot, bot.lead, action, value)
        assert response.status == 200
    [drip] = DripRepository(bot.db).drips(standin.team_id)
    assert drip.status == "active"
