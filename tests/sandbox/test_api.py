"""The sandbox page's JSON API over HTTP, without a browser: what a person sees and does."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from bot.sandbox.slack import SlackStandIn
from bot.sandbox.world import ADMIN, LEAD, LEARNERS
from tests.sandbox.conftest import RunningSandbox

# One sandbox per module: its tests run on one xdist worker.
pytestmark = pytest.mark.xdist_group("sandbox-api")

PRIYA, JONAS, MAYA = LEARNERS
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(
    running: RunningSandbox,
    path: str,
    body: Mapping[str, Any] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, Any]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    sent = {"Content-Type": "application/json"} if data is not None else {}
    request = urllib.request.Request(
        running.url + path, data=data, headers={**sent, **(headers or {})}
    )
    try:
        with _opener.open(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def state(running: RunningSandbox, user: str, conversation: str = "dm", **extra: str) -> Any:
    query = "&".join(f"{k}={v}" for k, v in {"as": user, "c": conversation, **extra}.items())
    status, body = call(running, f"/api/state?{query}")
    assert status == 200, body
    return body


def say(running: RunningSandbox, user: str, text: str, channel: str = "dm") -> tuple[int, Any]:
    return call(running, "/api/say", {"as": user, "channel": channel, "text": text})


def until(running: RunningSandbox, done: Callable[[SlackStandIn], bool]) -> None:
    """Wait until the bot has done its part: over Socket Mode it works after acknowledging."""
    standin = running.sandbox.parts().world.standin
    assert standin.wait_for(lambda: done(standin), timeout=30)


def channel_id(running: RunningSandbox, name: str) -> str:
    channels = state(running, PRIYA)["channels"]
    return str(next(c["id"] for c in channels if c["name"] == name))


def test_the_workspace_has_learners_in_three_zones_a_lead_an_admin_and_channels(
    running: RunningSandbox,
) -> None:
    seen = state(running, PRIYA)
    roles = {p["id"]: (p["role"], p["tz"]) for p in seen["people"]}
    assert {roles[u][1] for u in LEARNERS} == {"Asia/Kolkata", "Europe/Berlin", "America/New_York"}
    assert roles[LEAD.user_id][0] == "lead"
    assert roles[ADMIN.user_id][0] == "admin"
    assert {c["name"] for c in seen["channels"]} >= {"general", "learning-circle"}
    assert seen["main"]["kind"] == "dm"
    assert seen["lessons"]["problems"] == []
    assert seen["lessons"]["summary"].startswith("3 courses")
    # The admin granted the lead role through the bot, as in a real workspace.
    assert "lead" in state(running, ADMIN.user_id)["main"]["html"]


def test_a_command_reply_is_shown_only_to_the_person_who_typed_it(
    running: RunningSandbox,
) -> None:
    general = channel_id(running, "general")
    status, _ = say(running, JONAS, "/learn help", channel=general)
    assert status == 200
    mine = state(running, JONAS, general)["main"]["html"]
    assert "Only visible to you" in mine
    assert "/learn schedule" in mine  # the help
    theirs = state(running, MAYA, general)["main"]["html"]
    assert "Only visible to you" not in theirs
    assert "/learn schedule" not in theirs


def test_people_only_see_their_own_dm(running: RunningSandbox) -> None:
    priya_dm = state(running, PRIYA)["dm"]
    status, body = call(running, f"/api/state?as={MAYA}&c={priya_dm}")
    assert status == 400
    assert "someone else's DM" in body["error"]


def test_a_message_wakes_a_page_waiting_for_changes(running: RunningSandbox) -> None:
    seen = state(running, MAYA)
    answers: list[Any] = []
    waiting = threading.Thread(
        target=lambda: answers.append(
            call(running, f"/api/state?as={MAYA}&c=dm&v={seen['version']}")
        )
    )
    waiting.start()
    say(running, MAYA, "hello there")
    waiting.join(timeout=30)
    status, body = answers[0]
    assert status == 200
    assert body["version"] != seen["version"]
    assert "hello there" in body["main"]["html"]


def test_scheduling_then_jumping_the_clock_delivers_the_lesson(running: RunningSandbox) -> None:
    status, _ = say(running, LEAD.user_id, "/learn schedule security-basics to @maya at 09:30")
    assert status == 200
    until(
        running,
        lambda slack: any(
            "scheduled" in str(e["text"]) for e in slack.ephemerals(user=LEAD.user_id)
        ),
    )
    status, jump = call(running, "/api/clock", {"as": MAYA, "to": "next"})
    assert status == 200
    assert jump["moved"] is True
    assert "1 sent" in jump["message"]
    after = state(running, MAYA)
    assert "Spot a phishing message before you click" in after["main"]["html"]
    assert "09:30" in after["clock"]["label"]  # Maya's 09:30, in New York
    assert after["clock"]["offset"] != "real time"


def test_clicks_and_forms_reach_the_bot_as_slack_would_send_them(
    running: RunningSandbox,
) -> None:
    status, _ = call(running, "/api/home", {"as": LEAD.user_id})
    assert status == 200
    until(running, lambda slack: slack.home(LEAD.user_id) is not None)
    home = state(running, LEAD.user_id, "home")["main"]["html"]
    assert "Schedule a course" in home
    view_id = home.split('data-view="')[1].split('"')[0]
    status, _ = call(
        running,
        "/api/act",
        {
            "as": LEAD.user_id,
            "container": {"kind": "view", "view_id": view_id},
            "block_id": "x",
            "action_id": "home_schedule",
            "value": "new",
        },
    )
    assert status == 200
    until(running, lambda slack: bool(slack.open_views(LEAD.user_id)))
    modal = state(running, LEAD.user_id, "home")["modal"]
    assert modal["title"] == "Schedule a course"
    status, answer = call(
        running,
        "/api/submit",
        {
            "as": LEAD.user_id,
            "view_id": modal["view_id"],
            "values": {"start": {"start": "2001-01-01"}},
        },
    )
    assert status == 200
    assert answer["errors"]["course"] == "Choose a course."
    assert answer["errors"]["start"] == "That day has passed: pick today or later."
    status, _ = call(running, "/api/close", {"as": LEAD.user_id, "view_id": modal["view_id"]})
    assert status == 200
    assert state(running, LEAD.user_id, "home")["modal"] is None


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        ("/api/say", {"as": "UNOBODY", "channel": "dm", "text": "hi"}, 400, "as must be one of"),
        ("/api/say", {"as": PRIYA, "channel": "dm", "text": ""}, 400, "text must be"),
        ("/api/say", {"as": PRIYA, "channel": "dm", "text": "/frob x"}, 409, "not a valid command"),
        ("/api/say", {"as": PRIYA, "channel": "../etc", "text": "hi"}, 400, "channel must be"),
        ("/api/act", {"as": PRIYA, "container": {"kind": "x"}}, 400, "container must be"),
        (
            "/api/act",
            {
                "as": PRIYA,
                "container": {"kind": "message", "channel": "C0000001", "ts": "1.000001"},
                "block_id": "b",
                "action_id": "a",
            },
            409,
            "Slack would not send that",
        ),
        ("/api/submit", {"as": PRIYA, "view_id": "V9", "values": {}}, 409, "That form is closed"),
        ("/api/submit", {"as": PRIYA, "view_id": "V9", "values": []}, 400, "values must be"),
        ("/api/clock", {"to": "yesterday"}, 400, "to must be"),
        ("/api/teleport", {}, 404, "no action"),
    ],
)
def test_malformed_requests_get_a_clear_4xx(
    running: RunningSandbox, path: str, body: dict[str, Any], status: int, error: str
) -> None:
    got, answer = call(running, path, body)
    assert got == status
    assert error in answer["error"]


def test_only_the_page_itself_may_use_the_api(running: RunningSandbox) -> None:
    body = {"as": PRIYA, "channel": "dm", "text": "hi"}
    assert call(running, "/api/say", body, headers={"Origin": "https://evil.example"})[0] == 403
    assert call(running, "/api/state", headers={"Host": "evil.example"})[0] == 403
    text_plain = {"Content-Type": "text/plain"}
    assert call(running, "/api/say", body, headers=text_plain)[0] == 415
    assert call(running, "/api/say", raw=b"{not json")[0] == 400
    assert call(running, "/api/say", raw=b"[1, 2]")[0] == 400
    assert call(running, "/files/F404")[0] == 404


def test_the_page_and_its_script_are_served_with_a_strict_policy(running: RunningSandbox) -> None:
    with _opener.open(running.url + "/", timeout=10) as response:
        page = response.read().decode()
        policy = response.headers["Content-Security-Policy"]
    assert '<script src="/page/sandbox.js"' in page
    assert "default-src 'self'" in policy
    with _opener.open(running.url + "/page/sandbox.js", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/javascript")
