"""Many workspaces on one database, installed through Slack's OAuth flow over real HTTP.

The stand-in serves two workspaces behind one URL and routes every Web API call to the
workspace whose token it carries: a lesson posted with the wrong workspace's token would land
in the wrong workspace (or fail there), never in the right DM.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.cli import main
from bot.content.loader import load_catalog
from tests.content.test_checker import make_course
from tests.standin import SlackDriver, SlackStandIn
from tests.support.harness import Bot, running_bot
from tests.support.oauth import CLIENT_ID, OAUTH, Page, fetch, install
from tests.support.process import SIGNING_SECRET

# The tests not marked run on both databases: the statements only they run on PostgreSQL,
# or concurrency, locking and exactly-once that only PostgreSQL can show.
SLACK_SURFACE = pytest.mark.sqlite_only(
    "Slack surface: the install pages, redirects and tokens per workspace"
)

LESSON = """\
---
title: Habits
objective: Name one habit
minutes: 2
quiz:
  - question: Is a 10-minute walk a habit?
    kind: true_false
    options:
      - text: "True"
        correct: true
      - text: "False"
---
Hi {{ learner.first_name }}.
"""


@dataclass
class Workspaces:
    bot: Bot
    acme: SlackStandIn
    globex: SlackStandIn
    base: str  # the bot's public URL

    def driver(self, workspace: SlackStandIn) -> SlackDriver:
        return SlackDriver(
            workspace, request_url=f"{self.base}/slack/events", signing_secret=SIGNING_SECRET
        )

    def install(self, workspace: SlackStandIn) -> Page:
        return install(self.base, workspace)


@pytest.fixture
def lessons(tmp_path: Path) -> Path:
    folder = tmp_path / "lessons"
    make_course(folder, {"01-habits.md": LESSON}, course="habits")
    return folder


@pytest.fixture
def workspaces(standin: SlackStandIn, database_url: str, lessons: Path) -> Iterator[Workspaces]:
    globex = standin.add_workspace(
        team_id="T0002",
        team_name="Globex",
        team_domain="globex",
        bot_token="xoxb-globex",
        bot_user_id="UBOTGLOBEX",
        bot_id="B0002",
    )
    catalog = load_catalog(lessons).catalog
    with running_bot(standin, database_url, lessons=lessons, catalog=catalog, env=OAUTH) as bot:
        base = bot.driver.request_url
        assert base is not None
        base = base.removesuffix("/slack/events")
        standin.oauth_redirect_url = f"{base}/slack/oauth_redirect"
        yield Workspaces(bot, standin, globex, base)


def tokens_used(workspace: SlackStandIn, method: str) -> set[str | None]:
    return {call["token"] for call in workspace.calls(method)}


def test_the_install_flow_stores_the_workspace_token_from_the_install_page_to_the_redirect(
    workspaces: Workspaces,
) -> None:
    installations = workspaces.bot.services.installations
    assert installations is not None
    assert installations.find("T0002") is None

    page = fetch(f"{workspaces.base}/slack/install?team=T0002")
    assert page.status == 200
    [link] = re.findall(r'href="([^"]+/oauth/v2/authorize[^"]*)"', page.body)
    authorize = urlsplit(html.unescape(link))
    query = parse_qs(authorize.query)
    assert f"{authorize.scheme}://{authorize.netloc}" == workspaces.acme.base_url
    assert authorize.path == "/oauth/v2/authorize"
    assert query["client_id"] == [CLIENT_ID]
    assert "chat:write" in query["scope"][0].split(",")
    state = query["state"][0]
    assert f"=={state}" not in page.headers["set-cookie"]
    assert page.headers["set-cookie"].startswith(f"slack-app-oauth-state={state};")

    allowed = fetch(html.unescape(link))
    back = urlsplit(allowed.headers["location"])
    assert back.path == "/slack/oauth_redirect"
    assert parse_qs(back.query)["state"] == [state]
    done = fetch(allowed.headers["location"], cookie=f"slack-app-oauth-state={state}")

    assert done.status == 200, done.body
    stored = installations.find("T0002")
    assert stored is not None
    assert (stored.bot_token, stored.bot_user_id, stored.bot_id) == (
        "xoxb-globex",
        "UBOTGLOBEX",
        "B0002",
    )
    assert stored.team_name == "Globex"
    assert installations.find("T0001") is None  # only the workspace that said "Allow"
    [exchange] = workspaces.acme.calls("oauth.v2.access")
    assert exchange["response"]["ok"] is True
    assert tokens_used(workspaces.globex, "auth.test") == {"xoxb-globex"}


@SLACK_SURFACE
def test_an_install_link_works_once_and_only_in_the_browser_it_was_given_to(
    workspaces: Workspaces,
) -> None:
    installations = workspaces.bot.services.installations
    assert installations is not None
    page = fetch(f"{workspaces.base}/slack/install?team=T0002")
    [link] = re.findall(r'href="([^"]+/oauth/v2/authorize[^"]*)"', page.body)
    cookie = page.headers["set-cookie"].split(";", 1)[0]

    # Another browser (no cookie, or another state's) cannot finish someone else's install.
    stranger = fetch(fetch(html.unescape(link)).headers["location"])
    assert stranger.status == 400
    assert installations.find("T0002") is None
    # A forged state is refused even with a matching cookie.
    forged = fetch(
        f"{workspaces.base}/slack/oauth_redirect?code=x&state=forged",
        cookie="slack-app-oauth-state=forged",
    )
    assert forged.status == 401
    assert installations.find("T0002") is None

    first = fetch(fetch(html.unescape(link)).headers["location"], cookie=cookie)
    assert first.status == 200
    assert installations.find("T0002") is not None
    installations.uninstall("T0002", now=workspaces.bot.clock())
    # The same state a second time (with a fresh code): refused, whichever process sees it.
    again = fetch(fetch(html.unescape(link)).headers["location"], cookie=cookie)
    assert again.status == 401
    assert installations.find("T0002") is None


@SLACK_SURFACE
def test_two_workspaces_each_get_their_own_lessons_tokens_and_reports(
    workspaces: Workspaces,
) -> None:
    acme, globex, bot = workspaces.acme, workspaces.globex, workspaces.bot
    assert workspaces.install(acme).status == 200
    assert workspaces.install(globex).status == 200
    ann = acme.add_user("ann", real_name="Ann Acme", tz="Europe/Berlin")
    gus_lead = globex.add_user("gina", real_name="Gina Globex", tz="Europe/Berlin", is_admin=True)
    gus = globex.add_user("gus", real_name="Gus Globex", tz="America/New_York")
    to_globex = workspaces.driver(globex)
    acme.reset_calls()
    globex.reset_calls()

    assert "Sending" in bot.command(bot.lead, f"send habits/habits to <@{ann}>")
    reply = to_globex.command(gus_lead, f"send habits/habits to <@{gus}>")
    assert reply.status == 200
    bot.tick()

    [ann_lesson] = [m for m in acme.messages(acme.dm_channel(ann)) if "Habits" in str(m["text"])]
    [gus_lesson] = [
        m for m in globex.messages(globex.dm_channel(gus)) if "Habits" in str(m["text"])
    ]
    # Each workspace was only ever called with its own token, by listeners and tick alike.
    assert tokens_used(acme, "chat.postMessage") == {"xoxb-standin"}
    assert tokens_used(globex, "chat.postMessage") == {"xoxb-globex"}
    # (Replies through a response_url carry no token at all.)
    assert {c["token"] for c in globex.calls() if c["method"] != "response_url"} == {"xoxb-globex"}
    assert {c["token"] for c in acme.calls() if c["method"] != "response_url"} == {"xoxb-standin"}

    for workspace, driver, learner in ((acme, bot.driver, ann), (globex, to_globex, gus)):
        channel = workspace.dm_channel(learner)
        [question] = [
            m for m in workspace.messages(channel) if str(m["text"]).startswith("Question 1 of")
        ]
        driver.click(learner, question, channel_id=channel, action_id="answer_0")

    bot.command(bot.lead, "report habits")
    to_globex.command(gus_lead, "report habits")
    acme_rows = _answers(acme)
    globex_rows = _answers(globex)
    assert [r["learner_id"] for r in acme_rows] == [ann]
    assert [r["learner_id"] for r in globex_rows] == [gus]
    assert [r["learner_name"] for r in globex_rows] == ["Gus Globex"]
    assert tokens_used(globex, "files.completeUploadExternal") == {"xoxb-globex"}
    assert gus_lesson["ts"] and ann_lesson["ts"]


def _answers(workspace: SlackStandIn) -> list[dict[str, str]]:
    [data] = [bytes(f["bytes"]) for f in workspace.files() if f["name"] == "habits-answers.csv"]
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_uninstalling_deletes_the_tokens_and_pauses_that_workspaces_drips_only(
    workspaces: Workspaces,
) -> None:
    acme, globex, bot = workspaces.acme, workspaces.globex, workspaces.bot
    installations = bot.services.installations
    assert installations is not None
    workspaces.install(acme)
    workspaces.install(globex)
    ann = acme.add_user("ann", real_name="Ann Acme", tz="Europe/Berlin")
    gina = globex.add_user("gina", real_name="Gina Globex", tz="Europe/Berlin", is_admin=True)
    gus = globex.add_user("gus", real_name="Gus Globex", tz="Europe/Berlin")
    to_globex = workspaces.driver(globex)
    assert "scheduled" in bot.command(bot.lead, f"schedule habits to <@{ann}> every mon-sun")
    to_globex.command(gina, f"schedule habits to <@{gus}> every mon-sun")

    globex.uninstall()
    assert to_globex.event({"type": "app_uninstalled"}).status == 200

    assert installations.find("T0002") is None
    assert installations.find("T0001") is not None
    [globex_drip] = bot.services.drips.list_drips(team_id="T0002", lead_id=gina, now=bot.clock())
    assert globex_drip.status == "paused"  # kept, not deleted
    [acme_drip] = bot.services.drips.list_drips(team_id="T0001", lead_id=bot.lead, now=bot.clock())
    assert acme_drip.status == "active"
    globex.reset_calls()
    bot.tick(bot.clock.advance(hours=3))  # past both drips' first slot, 09:30 in Berlin
    assert globex.calls() == []  # nothing sent, and no call with the revoked token
    assert any("Habits" in str(m["text"]) for m in acme.messages(acme.dm_channel(ann)))

    # A request from the workspace that left is not served with a token it no longer has:
    # the person is told, privately, to install the app again.
    assert to_globex.command(gus, "courses").status == 200
    [told] = [c for c in globex.calls() if c["method"] == "response_url"]
    assert "reinstall" in str(told["params"].get("text"))
    assert [c for c in globex.calls() if c["method"] != "response_url"] == []


@SLACK_SURFACE
def test_a_revoked_bot_token_counts_as_uninstalling_and_a_revoked_user_token_does_not(
    workspaces: Workspaces,
) -> None:
    installations = workspaces.bot.services.installations
    assert installations is not None
    workspaces.install(workspaces.globex)
    to_globex = workspaces.driver(workspaces.globex)
    people = {"type": "tokens_revoked", "tokens": {"oauth": ["UPERSON"]}}
    assert to_globex.event(people).status == 200
    assert installations.find("T0002") is not None
    bot = {"type": "tokens_revoked", "tokens": {"bot": ["UBOTGLOBEX"]}}
    assert to_globex.event(bot).status == 200
    assert installations.find("T0002") is None


@SLACK_SURFACE
def test_without_oauth_settings_there_is_no_install_page_and_the_bot_token_is_used(
    bot: Bot,
) -> None:
    base = (bot.driver.request_url or "").removesuffix("/slack/events")
    assert fetch(f"{base}/slack/install").status == 404
    assert fetch(f"{base}/slack/oauth_redirect?code=x&state=y").status == 404
    assert bot.services.installations is None
    learner = bot.standin.add_user("ann", real_name="Ann", tz="Europe/Berlin")
    assert "Sending" in bot.command(bot.lead, f"send security-basics to <@{learner}>")
    bot.tick()
    assert tokens_used(bot.standin, "chat.postMessage") == {bot.standin.bot_token}


@SLACK_SURFACE
def test_deliver_due_from_cron_sends_with_each_workspaces_stored_token(
    workspaces: Workspaces, lessons: Path, tmp_path: Path
) -> None:
    globex, bot = workspaces.globex, workspaces.bot
    workspaces.install(globex)
    gina = globex.add_user("gina", real_name="Gina Globex", tz="Europe/Berlin", is_admin=True)
    gus = globex.add_user("gus", real_name="Gus Globex", tz="Europe/Berlin")
    workspaces.driver(globex).command(gina, f"send habits/habits to <@{gus}>")
    env_file = tmp_path / ".env"
    env_file.write_text(
        "".join(f"{name}={value}\n" for name, value in OAUTH.items())
        + f"SLACK_API_URL={globex.api_url}\nDATABASE_URL={bot.db.url}\nLESSONS_DIR={lessons}\n",
        encoding="utf-8",
    )
    globex.reset_calls()
    out = io.StringIO()
    assert main(["--env-file", str(env_file), "deliver-due"], out=out) == 0
    assert "sent 1 deliveries" in out.getvalue()
    assert any("Habits" in str(m["text"]) for m in globex.messages(globex.dm_channel(gus)))
    assert tokens_used(globex, "chat.postMessage") == {"xoxb-globex"}
