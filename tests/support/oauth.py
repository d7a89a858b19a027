"""A browser's side of Slack's OAuth install, against the bot and the stand-in."""

from __future__ import annotations

import html
import http.client
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from tests.standin import SlackStandIn

# The stand-in's app credentials (SlackStandIn.client_id, .client_secret).
CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "standin-client-secret"
OAUTH = {
    "SLACK_CLIENT_ID": CLIENT_ID,
    "SLACK_CLIENT_SECRET": CLIENT_SECRET,
    "SLACK_STATE_SECRET": "a-state-secret-for-the-tests-0123456789",
}


@dataclass
class Page:
    status: int
    headers: dict[str, str]
    body: str


def fetch(url: str, *, cookie: str | None = None) -> Page:
    """One GET, redirects not followed (a browser's single step)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", target, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        return Page(
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read().decode("utf-8", "replace"),
        )
    finally:
        connection.close()


def install(base: str, workspace: SlackStandIn) -> Page:
    """Open the bot's install page, click "Add to Slack" and "Allow", come back to the bot."""
    page = fetch(f"{base}/slack/install?team={workspace.team_id}")
    assert page.status == 200, page.body
    [link] = re.findall(r'href="([^"]+/oauth/v2/authorize[^"]*)"', page.body)
    cookie = page.headers["set-cookie"].split(";", 1)[0]
    allowed = fetch(html.unescape(link))
    assert allowed.status == 302, allowed.body
    return fetch(allowed.headers["location"], cookie=cookie)
