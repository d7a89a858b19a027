"""The stand-in serves several workspaces behind one URL, and plays Slack's side of OAuth."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.standin import SlackStandIn

REDIRECT = "https://app.example/slack/oauth_redirect"


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandIn]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    with SlackStandIn() as server:
        yield server


def client(standin: SlackStandIn, token: str | None = None) -> WebClient:
    return WebClient(token=token, base_url=standin.api_url)


def allow(standin: SlackStandIn, **query: str) -> tuple[int, str]:
    """The person clicks "Allow": the stand-in's redirect (status, Location)."""
    parts = urlsplit(standin.base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        connection.request("GET", f"/oauth/v2/authorize?{urlencode(query)}")
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location") or ""
    finally:
        connection.close()


def test_each_call_goes_to_the_workspace_whose_token_it_carries(standin: SlackStandIn) -> None:
    globex = standin.add_workspace(
        team_id="T0002", team_name="Globex", team_domain="globex", bot_token="xoxb-globex"
    )
    ann = standin.add_user("ann")
    gus = globex.add_user("gus")
    assert ann != gus  # ids are unique across workspaces
    assert globex.api_url == standin.api_url

    assert client(standin, standin.bot_token).auth_test()["team_id"] == "T0001"
    assert client(standin, "xoxb-globex").auth_test()["team_id"] == "T0002"
    client(standin, "xoxb-globex").chat_postMessage(channel=gus, text="hello Gus")
    assert [m["text"] for m in globex.messages(gus)] == ["hello Gus"]
    with pytest.raises(SlackApiError) as wrong:  # Ann is not in Globex
        client(standin, "xoxb-globex").chat_postMessage(channel=ann, text="hello Ann")
    assert wrong.value.response["error"] == "channel_not_found"
    assert standin.calls("chat.postMessage") == []
    assert [c["token"] for c in globex.calls("chat.postMessage")] == ["xoxb-globex"] * 2


def test_oauth_trades_a_one_time_code_for_the_chosen_workspaces_token(
    standin: SlackStandIn,
) -> None:
    standin.add_workspace(
        team_id="T0002", team_name="Globex", team_domain="globex", bot_token="xoxb-globex"
    )
    assert allow(standin, client_id="nope", state="s")[0] == 400
    status, location = allow(
        standin,
        client_id=standin.client_id,
        scope="chat:write",
        state="s1",
        team="T0002",
        redirect_uri=REDIRECT,
    )
    assert status == 302
    assert location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["s1"]
    code = query["code"][0]

    anonymous = client(standin)
    with pytest.raises(SlackApiError) as bad_secret:
        anonymous.oauth_v2_access(
            client_id=standin.client_id, client_secret="wrong", code=code, redirect_uri=REDIRECT
        )
    assert bad_secret.value.response["error"] == "bad_client_secret"
    status, location = allow(
        standin, client_id=standin.client_id, state="s2", team="T0002", redirect_uri=REDIRECT
    )
    code = parse_qs(urlsplit(location).query)["code"][0]
    granted = anonymous.oauth_v2_access(
        client_id=standin.client_id,
        client_secret=standin.client_secret,
        code=code,
        redirect_uri=REDIRECT,
    )
    assert granted["access_token"] == "xoxb-globex"
    assert granted["team"] == {"id": "T0002", "name": "Globex"}
    with pytest.raises(SlackApiError) as reused:
        anonymous.oauth_v2_access(
            client_id=standin.client_id,
            client_secret=standin.client_secret,
            code=code,
            redirect_uri=REDIRECT,
        )
    assert reused.value.response["error"] == "invalid_code"
    recorded = standin.calls("oauth.v2.access")
    assert all(standin.client_secret not in str(call) for call in recorded)  # not kept


def test_an_uninstalled_workspaces_token_is_revoked_until_it_installs_again(
    standin: SlackStandIn,
) -> None:
    standin.oauth_redirect_url = REDIRECT
    standin.uninstall()
    with pytest.raises(SlackApiError) as revoked:
        client(standin, standin.bot_token).auth_test()
    assert revoked.value.response["error"] == "token_revoked"
    _, location = allow(standin, client_id=standin.client_id, state="s")
    code = parse_qs(urlsplit(location).query)["code"][0]
    client(standin).oauth_v2_access(
        client_id=standin.client_id, client_secret=standin.client_secret, code=code
    )
    assert client(standin, standin.bot_token).auth_test()["ok"]
