"""The permission matrix: every lead and admin command, button and form, tried by a learner,
by an admin demoted in Slack, and with another workspace's ids, is refused and changes nothing:
the database is as it was, and Slack saw nothing but the refusal (and the role lookup)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.domain.schedule import Target, TargetKind
from bot.services.people import ROLE_MAX_AGE
from bot.services.scheduling import ScheduleRequest
from bot.storage.models import metadata
from tests.standin import DriverResponse
from tests.support.harness import Bot, module_bot
from tests.support.payloads import post_signed

OTHER_TEAM = "T0OTHER"
# What Slack may see when a request is refused: the role lookup, and the refusal told to the
# person alone (through the response URL, their own Home redrawn, or their DM).
HARMLESS_CALLS = {"users.info", "auth.test", "views.publish", "chat.postMessage"}
PROFILE_CACHE = {"name", "first_name", "tz", "tz_checked_at", "is_admin", "deactivated"}


@dataclass
class World:
    bot: Bot
    ann: str  # a learner
    bob: str  # an admin until Slack demotes him
    home_drip: int  # a drip of this workspace
    other_drip: int  # a drip of another workspace, scheduled by this workspace's lead
    form: str  # a schedule form the lead opened


@pytest.fixture(scope="module")
def world(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One workspace for the whole matrix (each case checks that it changed nothing)."""
    with module_bot(_sqlite_template, tmp_path_factory.mktemp("matrix")) as bot:
        standin = bot.standin
        ann = standin.add_user("ann", real_name="Ann Lee")
        bob = standin.add_user("bob", real_name="Bob Ray", is_admin=True)
        standin.add_user("carl", real_name="Carl Cox")
        standin.add_channel("general", members=[ann, bob, bot.lead])
        assert "Drip #1 scheduled" in bot.command(bot.lead, f"schedule security-basics to <@{ann}>")
        other = bot.services.scheduling.schedule(
            team_id=OTHER_TEAM,
            lead_id=bot.lead,
            request=ScheduleRequest("security-basics", (Target(TargetKind.USER, ann),)),
            now=bot.clock(),
        )
        assert "*#1*" in bot.command(bob, "schedules")  # his admin role is known
        standin.set_user(bob, is_admin=False)
        bot.clock.advance(seconds=ROLE_MAX_AGE.total_seconds() + 1)
        for person in (ann, bob, bot.lead):
            bot.driver.open_home(person)
        bot.driver.click_view(bot.lead, standin.home(bot.lead) or {}, action_id="home_schedule")
        form = str(standin.open_views(bot.lead)[-1]["id"])
        yield World(bot, ann, bob, 1, other.drip_id, form)


def database(bot: Bot) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, leaving out the cached Slack profile of each person and the
    record of accepted request signatures (every signed request adds one, refused or not)."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with bot.db.engine.connect() as connection:
        for table in metadata.sorted_tables:
            if table.name == "accepted_request":
                continue
            columns = [
                c.name
                for c in table.columns
                if not (table.name == "learner" and c.name in PROFILE_CACHE)
            ]
            result = connection.exec_driver_sql(
                f"SELECT {', '.join(columns)} FROM {table.name} ORDER BY id"
            )
            rows[table.name] = [tuple(row) for row in result]
    return rows


def button(world: World, user: str, action_id: str, value: str, team: str) -> DriverResponse:
    bot = world.bot
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": team},
        "user": {"id": user, "team_id": team},
        "trigger_id": bot.standin.issue_trigger_id(user),
        "actions": [{"type": "button", "action_id": action_id, "value": value}],
    }
    home = bot.standin.home(user)
    if home is not None and team == bot.standin.team_id:  # a Home view names its workspace
        payload.update(container={"type": "view", "view_id": home["id"]}, view=home)
    return post_signed(bot.driver, payload)


def command(world: World, user: str, text: str, team: str) -> DriverResponse:
    standin = world.bot.standin
    channel = standin.dm_channel(user)
    fields = {
        "command": "/learn",
        "text": text,
        "team_id": team,
        "user_id": user,
        "channel_id": channel,
        "response_url": standin.new_response_url(user_id=user, channel_id=channel),
        "trigger_id": standin.issue_trigger_id(user),
    }
    body = urlencode(fields).encode()
    headers = {**world.bot.driver.sign(body), "Content-Type": "application/x-www-form-urlencoded"}
    return world.bot.driver.raw_post(body, headers)


def schedule_form(world: World, user: str, team: str) -> DriverResponse:
    form = copy.deepcopy(world.bot.standin.get_view(world.form))
    form["state"] = {
        "values": {
            "course": {"course": {"selected_option": {"value": "security-basics"}}},
            "people": {"people": {"selected_users": [world.ann]}},
            "days": {"days": {"selected_options": [{"value": "mon"}]}},
            "time": {"time": {"selected_time": "10:00"}},
        }
    }
    return post_signed(
        world.bot.driver,
        {
            "type": "view_submission",
            "team": {"id": team},
            "user": {"id": user, "team_id": team},
            "view": form,
        },
    )


Attempt = Callable[[World, str, str], DriverResponse]


def _command(text: str) -> Attempt:
    return lambda world, user, team: command(world, user, text.format(w=world), team)


def _button(action_id: str, value: str) -> Attempt:
    return lambda world, user, team: button(world, user, action_id, value.format(w=world), team)


ACTIONS: dict[str, Attempt] = {
    "/learn schedule (command)": _command("schedule security-basics to #general"),
    "/learn schedule (form)": _command("schedule"),
    "/learn send": _command("send security-basics to #general"),
    "/learn schedules": _command("schedules"),
    "/learn pause": _command("pause {w.home_drip}"),
    "/learn resume": _command("resume {w.home_drip}"),
    "/learn cancel": _command("cancel {w.home_drip}"),
    "/learn report": _command("report security-basics"),
    "/learn leads add": _command("leads add @carl"),
    "/learn leads remove": _command("leads remove @lena"),
    "Schedule a course button": _button("home_schedule", "new"),
    "Pause button": _button("drip_pause", "{w.home_drip}"),
    "Cancel button": _button("drip_cancel", "{w.home_drip}"),
    "Resume button": _button("drip_resume", "{w.home_drip}"),
    "schedule form": lambda world, user, team: schedule_form(world, user, team),
}
ON_THIS_WORKSPACE: dict[str, Attempt] = {
    "/learn pause": _command("pause {w.home_drip}"),
    "/learn cancel": _command("cancel {w.home_drip}"),
    "Pause button": _button("drip_pause", "{w.home_drip}"),
    "Cancel button": _button("drip_cancel", "{w.home_drip}"),
}
BY_ID: dict[str, Attempt] = {
    "/learn pause": _command("pause {w.other_drip}"),
    "/learn cancel": _command("cancel {w.other_drip}"),
    "Pause button": _button("drip_pause", "{w.other_drip}"),
    "Cancel button": _button("drip_cancel", "{w.other_drip}"),
}


def attempt(world: World, act: Attempt, user: str, team: str) -> None:
    bot, standin = world.bot, world.bot.standin
    before, calls, responses = database(bot), len(standin.calls()), len(standin.responses())
    opened = len(standin.open_views(user))
    response = act(world, user, team)
    assert response.status == 200, response.body
    assert database(bot) == before
    made = [call for call in standin.calls()[calls:] if call["method"] != "response_url"]
    assert {call["method"] for call in made} <= HARMLESS_CALLS, made
    replies = standin.responses()[responses:]
    assert {reply["user"] for reply in replies} <= {user}
    for call in made:
        if call["method"] in ("views.publish", "chat.postMessage"):
            assert user in (call["params"].get("user_id"), call["params"].get("channel")), call
    told = (
        [response.body]
        + [json.dumps(r["body"]) for r in replies]
        + [json.dumps(c["params"]) for c in made if c["method"] != "users.info"]
    )
    assert any(("Only leads" in t or "Only admins" in t or "no drip" in t) for t in told), told
    assert len(standin.open_views(user)) == opened  # no form opened for them


@pytest.mark.parametrize("act", ACTIONS.values(), ids=ACTIONS.keys())
def test_a_learner_is_refused_everything_a_lead_or_admin_does(world: World, act: Attempt) -> None:
    attempt(world, act, world.ann, world.bot.standin.team_id)


@pytest.mark.parametrize("act", ACTIONS.values(), ids=ACTIONS.keys())
def test_an_admin_demoted_in_slack_is_refused_within_minutes(world: World, act: Attempt) -> None:
    attempt(world, act, world.bob, world.bot.standin.team_id)


@pytest.mark.parametrize("act", BY_ID.values(), ids=BY_ID.keys())
def test_a_lead_cannot_touch_another_workspaces_drip(world: World, act: Attempt) -> None:
    attempt(world, act, world.bot.lead, world.bot.standin.team_id)


@pytest.mark.parametrize("act", ON_THIS_WORKSPACE.values(), ids=ON_THIS_WORKSPACE.keys())
def test_a_request_from_another_workspace_cannot_touch_this_ones_drip(
    world: World, act: Attempt
) -> None:
    attempt(world, act, world.bot.lead, OTHER_TEAM)
