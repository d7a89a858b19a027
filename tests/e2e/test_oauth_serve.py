"""`microlearn serve --http` with OAuth: installs in two workspaces, answers each with its token."""

from __future__ import annotations

from pathlib import Path

from tests.standin import SlackDriver, SlackStandIn
from tests.support.oauth import OAUTH, fetch, install
from tests.support.process import SIGNING_SECRET, bot_environment, start_http_bot


def test_serve_installs_in_two_workspaces_and_answers_each_with_its_own_token(
    tmp_path: Path, migrated_sqlite_url: str
) -> None:
    with SlackStandIn() as acme:
        globex = acme.add_workspace(
            team_id="T0002", team_name="Globex", team_domain="globex", bot_token="xoxb-globex"
        )
        env = bot_environment(
            api_url=acme.api_url,
            database_url=migrated_sqlite_url,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            **OAUTH,
        )
        del env["SLACK_BOT_TOKEN"]  # the tokens come from the installs
        bot = start_http_bot(env, cwd=tmp_path)
        try:
            assert bot.url is not None
            acme.oauth_redirect_url = f"{bot.url}/slack/oauth_redirect"
            gus = globex.add_user("gus", real_name="Gus Globex", tz="Europe/Berlin")
            driver = SlackDriver(
                globex, request_url=f"{bot.url}/slack/events", signing_secret=SIGNING_SECRET
            )
            before = driver.command(gus, "help")  # not installed yet: Bolt says so
            assert "microlearn commands" not in before.body

            assert install(bot.url, globex).status == 200
            assert install(bot.url, acme).status == 200

            reply = driver.command(gus, "help")
            assert reply.status == 200
            assert reply.json()["text"].startswith("microlearn commands:")
            assert fetch(f"{bot.url}/slack/install").status == 200
        finally:
            assert bot.stop() == 0
        output = "".join(bot.output)
        assert "install it in a workspace at <your public URL>/slack/install" in output
        assert {c["token"] for c in globex.calls() if c["token"]} <= {"xoxb-globex"}
        assert len(acme.calls("oauth.v2.access")) == 2
