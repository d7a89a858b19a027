"""Self-tests of the Slack stand-in, through the real slack_sdk client and a real Bolt app."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import Ack, App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from tests.standin import SlackDriver, SlackStandIn, validate_message, validate_view

SECRET = "s3cret"
PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # slack_sdk honours HTTP(S)_PROXY and ignores NO_PROXY.
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as running:
        yield running


@pytest.fixture
def client(standin: SlackStandIn) -> WebClient:
    return WebClient(token=standin.bot_token, base_url=standin.api_url)


def _button(text: str, value: str, action_id: str = "answer") -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "value": value,
        "action_id": action_id,
    }


def test_post_to_user_id_opens_a_stable_dm_with_increasing_ts(
    standin: SlackStandIn, client: WebClient
) -> None:
    alice = standin.add_user("alice", tz="America/New_York")

    first = client.chat_postMessage(channel=alice, text="one")
    second = client.chat_postMessage(channel=alice, text="two")
    opened = client.conversations_open(users=alice)

    assert first["channel"] == second["channel"] == standin.dm_channel(alice)
    assert first["channel"].startswith("D")
    assert opened["channel"]["id"] == first["channel"]
    assert float(second["ts"]) > float(first["ts"])
    assert [m["text"] for m in standin.messages(first["channel"])] == ["one", "two"]
    assert client.users_info(user=alice)["user"]["tz"] == "America/New_York"
    call = standin.calls("chat.postMessage")[0]
    assert call["token_type"] == "bot" and call["params"]["channel"] == alice


def test_errors_for_unknown_private_and_archived_channels(
    standin: SlackStandIn, client: WebClient
) -> None:
    hidden = standin.add_channel("secret", is_private=True, bot_is_member=False)
    outside = standin.add_channel("general", bot_is_member=False)
    archived = standin.add_channel("old", is_archived=True)
    expected = {"C9999999": "channel_not_found", hidden: "channel_not_found"}
    expected |= {outside: "not_in_channel", archived: "is_archived"}

    for channel, error in expected.items():
        with pytest.raises(SlackApiError) as raised:
            client.chat_postMessage(channel=channel, text="hi")
        assert raised.value.response["error"] == error
    with pytest.raises(SlackApiError) as wrong_token:
        WebClient(token="xoxb-wrong", base_url=standin.api_url).auth_test()
    assert wrong_token.value.response["error"] == "invalid_auth"
    assert all(not standin.messages(c) for c in expected if c != "C9999999")


def test_thread_replies_update_the_parent(standin: SlackStandIn, client: WebClient) -> None:
    bob = standin.add_user("bob")
    channel = standin.add_channel("learning", members=[bob])
    parent = client.chat_postMessage(channel=channel, text="Lesson 1")

    reply = client.chat_postMessage(channel=channel, text="Part 2", thread_ts=parent["ts"])
    link = client.chat_getPermalink(channel=channel, message_ts=reply["ts"])["permalink"]

    [top] = standin.messages(channel)
    assert top["reply_count"] == 1 and top["latest_reply"] == reply["ts"]
    assert [m["text"] for m in standin.thread(channel, parent["ts"])] == ["Part 2"]
    assert link.endswith(f"?thread_ts={parent['ts']}&cid={channel}")


def test_response_urls_keep_each_body_and_count_them(standin: SlackStandIn) -> None:
    bob = standin.add_user("bob")
    url = standin.new_response_url(user_id=bob, channel_id=standin.dm_channel(bob))
    hook = WebhookClient(url)

    first = hook.send(text="One")
    count = standin.response_count()
    second = hook.send(text="Two")
    since = standin.responses(since=count)
    texts = [r["body"]["text"] for r in since]
    since[0]["body"]["text"] = "changed by the test"  # a copy: the stand-in keeps its own

    assert first.status_code == second.status_code == 200
    assert count == 1 and standin.response_count() == 2
    assert texts == ["Two"]
    assert [r["body"]["text"] for r in standin.responses()] == ["One", "Two"]


def test_block_kit_limits_and_text_fallback_are_enforced(
    standin: SlackStandIn, client: WebClient
) -> None:
    alice = standin.add_user("alice")
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    cases = {
        "51 blocks": ([section] * 51, "text"),
        "long button": ([{"type": "actions", "elements": [_button("x" * 76, "v")]}], "text"),
        "no text": ([section], None),
    }
    errors = {}
    for name, (blocks, text) in cases.items():
        payload = {"channel": alice, "blocks": blocks} | ({"text": text} if text else {})
        with pytest.raises(SlackApiError) as raised:
            # api_call: chat_postMessage itself only warns about a missing text
            client.api_call("chat.postMessage", json=payload)
        errors[name] = raised.value.response.data

    assert errors["51 blocks"]["error"] == "invalid_blocks"
    assert "51 blocks, at most 50" in errors["51 blocks"]["errors"][0]
    assert errors["long button"]["errors"] == [
        "blocks[0].elements[0].text.text: 76 characters, at most 75 allowed (button text)"
    ]
    assert errors["no text"]["error"] == "no_text"
    assert standin.messages(alice) == []
    assert validate_message({"blocks": [section] * 50}) == []
    assert validate_view(
        {"type": "modal", "title": {"type": "plain_text", "text": "t" * 25}, "blocks": []}
    )


def test_fail_429_reaches_the_client_with_retry_after(
    standin: SlackStandIn, client: WebClient
) -> None:
    alice = standin.add_user("alice")
    standin.fail("chat.postMessage", "ratelimited", retry_after=7)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=alice, text="hi")
    client.chat_postMessage(channel=alice, text="again")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"
    assert [m["text"] for m in standin.messages(alice)] == ["again"]
    assert standin.stats()["chat.postMessage"]["faulted"] == 1


def test_rate_limit_token_bucket_per_workspace() -> None:
    now = [0.0]
    with SlackStandIn(clock=lambda: now[0]) as standin:
        client = WebClient(token=standin.bot_token, base_url=standin.api_url)
        alice = standin.add_user("alice")
        standin.rate_limit("chat.postMessage", per_second=1, burst=2)
        outcomes = []
        for _ in range(3):
            try:
                client.chat_postMessage(channel=alice, text="x")
                outcomes.append("ok")
            except SlackApiError as error:
                outcomes.append(error.response.headers["Retry-After"])
        now[0] += 1.0
        client.chat_postMessage(channel=alice, text="later")

    assert outcomes == ["ok", "ok", "1"]
    assert standin.stats()["chat.postMessage"] | {"calls": 0} == {
        "calls": 0,
        "accepted": 3,
        "rate_limited": 1,
        "faulted": 0,
        "errors": 0,
    }


def test_conversations_members_paginates_with_cursor(
    standin: SlackStandIn, client: WebClient
) -> None:
    users = [standin.add_user(f"user{i}") for i in range(5)]
    channel = standin.add_channel("all", members=users)

    pages, cursor = [], None
    while True:
        page = client.conversations_members(channel=channel, limit=2, cursor=cursor)
        pages.append(page["members"])
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break

    assert [len(p) for p in pages] == [2, 2, 2]
    assert sum(pages, []) == [*users, standin.bot_user_id]


def test_files_upload_v2_lands_in_files(standin: SlackStandIn, client: WebClient) -> None:
    alice = standin.add_user("alice")
    channel = standin.add_channel("reports", members=[alice])

    client.files_upload_v2(
        channel=channel, filename="report.csv", content="a,b\n1,2\n", initial_comment="Weekly"
    )

    [uploaded] = standin.files()
    assert uploaded["name"] == "report.csv" and uploaded["bytes"] == b"a,b\n1,2\n"
    assert uploaded["channel"] == channel and uploaded["initial_comment"] == "Weekly"
    assert standin.messages(channel)[-1]["files"][0]["id"] == uploaded["id"]


def test_views_open_needs_a_driver_issued_trigger(standin: SlackStandIn, client: WebClient) -> None:
    alice = standin.add_user("alice")
    view = {
        "type": "modal",
        "callback_id": "new",
        "title": {"type": "plain_text", "text": "New drip"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {
                "type": "input",
                "block_id": "name",
                "label": {"type": "plain_text", "text": "Name"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }
    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id="123.456.abc", view=view)

    opened = client.views_open(trigger_id=standin.issue_trigger_id(alice), view=view)

    assert raised.value.response["error"] == "invalid_trigger_id"
    assert opened["view"]["id"].startswith("V")
    assert [v["callback_id"] for v in standin.views(alice)] == ["new"]


def _bolt_app(standin: SlackStandIn) -> App:
    app = App(
        client=WebClient(token=standin.bot_token, base_url=standin.api_url),
        signing_secret=SECRET,
        process_before_response=True,
    )

    def learn(ack: Ack, command: dict[str, Any]) -> None:
        ack(f"Hello {command['user_name']}, you said: {command['text']}")

    def answer(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        container = body["container"]
        client.chat_update(
            channel=container["channel_id"],
            ts=container["message_ts"],
            text=f"You chose {body['actions'][0]['value']}",
            blocks=[],
        )

    app.command("/learn")(learn)
    app.action("answer")(answer)
    return app


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - fixed signature
        return


@contextmanager
def _serve_wsgi(app: App) -> Iterator[str]:
    server = make_server(
        "127.0.0.1",
        0,
        SlackRequestHandler(app),
        server_class=_ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_bolt_app_over_http_gets_signed_commands_and_clicks(
    standin: SlackStandIn, client: WebClient
) -> None:
    alice = standin.add_user("alice")
    with _serve_wsgi(_bolt_app(standin)) as url:
        driver = SlackDriver(standin, request_url=url, signing_secret=SECRET)
        answered = driver.command(alice, "start")
        posted = client.chat_postMessage(
            channel=alice,
            text="Pick one",
            blocks=[
                {"type": "actions", "elements": [_button("A", "a"), _button("B", "b", "answer-b")]}
            ],
        )
        clicked = driver.click(
            alice, standin.messages(alice)[-1], channel_id=posted["channel"], value="a"
        )
        body = b"command=%2Flearn&text=hi"
        forged = {**driver.sign(body), "X-Slack-Signature": "v0=" + "0" * 64}
        stale = driver.sign(body, timestamp=int(time.time()) - 600)
        statuses = [
            driver.raw_post(
                body, {**headers, "Content-Type": "application/x-www-form-urlencoded"}
            ).status
            for headers in (forged, stale)
        ]

    assert answered.status == 200 and answered.body == "Hello alice, you said: start"
    assert standin.ephemerals(user=alice)[0]["text"] == answered.body
    assert clicked.status == 200
    assert clicked.request["actions"][0]["value"] == "a"
    [updated] = standin.messages(alice)
    assert updated["text"] == "You chose a" and "edited" in updated
    assert statuses == [401, 401]


def test_driver_events_and_view_submissions_reach_bolt_listeners(standin: SlackStandIn) -> None:
    alice = standin.add_user("alice")
    seen: list[Any] = []
    app = _bolt_app(standin)

    def on_message(event: dict[str, Any], body: dict[str, Any], request: Any) -> None:
        retry = request.headers.get("x-slack-retry-num") or [None]
        seen.append((event["text"], body["event_id"], retry[0]))

    def on_submit(ack: Ack, view: dict[str, Any]) -> None:
        name = view["state"]["values"]["name"]["value"]["value"]
        if name == "":
            ack(response_action="errors", errors={"name": "Say something"})
        else:
            seen.append((name, view["private_metadata"]))
            ack()

    app.event("message")(on_message)
    app.view("drip")(on_submit)
    modal = {
        "type": "modal",
        "callback_id": "drip",
        "private_metadata": "42",
        "title": {"type": "plain_text", "text": "New drip"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {
                "type": "input",
                "block_id": "name",
                "label": {"type": "plain_text", "text": "Name"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }
    client = WebClient(token=standin.bot_token, base_url=standin.api_url)
    view = client.views_open(trigger_id=standin.issue_trigger_id(alice), view=modal)["view"]
    with _serve_wsgi(app) as url:
        driver = SlackDriver(standin, request_url=url, signing_secret=SECRET)
        ts, said = driver.user_says(alice, alice, "hello")
        retried = driver.event(said.request["event"], event_id=said.event_id, retry_num=1)
        rejected = driver.submit_view(alice, view, {"name": {"value": ""}})
        still_open = standin.open_views(alice)
        accepted = driver.submit_view(alice, view, {"name": {"value": "Git basics"}})

    assert said.status == retried.status == 200
    assert seen[:2] == [("hello", said.event_id, None), ("hello", said.event_id, "1")]
    assert standin.messages(alice)[-1]["ts"] == ts
    assert rejected.json() == {"response_action": "errors", "errors": {"name": "Say something"}}
    assert [v["id"] for v in still_open] == [view["id"]]
    assert accepted.status == 200 and seen[2] == ("Git basics", "42")
    assert standin.open_views(alice) == []


def _close_socket_mode(handler: SocketModeHandler, standin: SlackStandIn) -> None:
    """Stop slack_sdk's builtin client without waiting out its 1-3 s blocking reads."""
    client = handler.client
    client.auto_reconnect_enabled = False
    client.closed = True
    client.message_queue.put(None)  # wakes the message processor's 1 s queue wait
    standin.socket_disconnect(hard=True)  # frees the reader blocked on the socket
    assert standin.wait_for(lambda: standin.socket.open_connections() == 0, timeout=2)
    handler.close()  # type: ignore[no-untyped-call]


def test_bolt_app_over_socket_mode_acks_commands_and_reconnects(standin: SlackStandIn) -> None:
    alice = standin.add_user("alice")
    handler = SocketModeHandler(
        _bolt_app(standin),
        standin.app_token,
        web_client=WebClient(token=standin.bot_token, base_url=standin.api_url),
    )
    handler.connect()  # type: ignore[no-untyped-call]
    try:
        driver = SlackDriver(standin, mode="socket")
        first = driver.command(alice, "start")
        standin.socket_disconnect()
        reconnected = standin.wait_for_socket_client(timeout=3, connects=2)
        second = driver.command(alice, "again")
    finally:
        _close_socket_mode(handler, standin)

    assert first.status == 200 and first.json() == {"text": "Hello alice, you said: start"}
    assert reconnected
    assert second.json() == {"text": "Hello alice, you said: again"}
    assert len(standin.calls("apps.connections.open")) == 2
    assert all(c["token_type"] == "app" for c in standin.calls("apps.connections.open"))


def _taking(seen: list[str], name: str) -> Callable[..., None]:
    def learn(ack: Ack, command: dict[str, Any]) -> None:
        seen.append(command["text"])
        ack(f"{name} took {command['text']}")

    return learn


def test_envelopes_are_spread_over_every_open_socket_mode_connection(
    standin: SlackStandIn,
) -> None:
    """Like Slack with an app connected several times (one per process): each envelope goes
    to one connection, and each connection takes its share."""
    alice = standin.add_user("alice")
    seen: dict[str, list[str]] = {"first": [], "second": []}
    handlers = []
    for name in seen:
        app = App(
            client=WebClient(token=standin.bot_token, base_url=standin.api_url),
            signing_secret=SECRET,
            process_before_response=True,
        )

        app.command("/learn")(_taking(seen[name], name))
        handler = SocketModeHandler(
            app,
            standin.app_token,
            web_client=WebClient(token=standin.bot_token, base_url=standin.api_url),
        )
        handler.connect()  # type: ignore[no-untyped-call]
        handlers.append(handler)
    try:
        assert standin.wait_for(lambda: standin.socket.open_connections() == 2, timeout=5)
        driver = SlackDriver(standin, mode="socket")
        replies = [driver.command(alice, f"click {n}").json()["text"] for n in range(6)]
    finally:
        for handler in handlers:
            handler.client.auto_reconnect_enabled = False
            handler.client.closed = True
            handler.client.message_queue.put(None)
        standin.socket_disconnect(hard=True)
        assert standin.wait_for(lambda: standin.socket.open_connections() == 0, timeout=2)
        for handler in handlers:
            handler.close()  # type: ignore[no-untyped-call]

    assert sorted(seen["first"] + seen["second"]) == [f"click {n}" for n in range(6)]
    assert len(seen["first"]) == len(seen["second"]) == 3
    assert replies == [
        f"{'first' if text in seen['first'] else 'second'} took {text}"
        for text in (f"click {n}" for n in range(6))
    ]
    assert sorted(Counter(standin.socket.sent_to().values()).values()) == [3, 3]
