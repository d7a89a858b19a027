"""What the sandbox needs of the local Slack beyond the suite: its clock, its changes, closing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs

from slack_sdk import WebClient

from bot.sandbox.slack import SlackDriver, SlackStandIn


def test_message_timestamps_follow_the_clock_and_still_always_grow() -> None:
    now = [1_800_000_000.0]
    with SlackStandIn(ts_clock=lambda: now[0]) as standin:
        client = WebClient(token=standin.bot_token, base_url=standin.api_url)
        ann = standin.add_user("ann")
        first = client.chat_postMessage(channel=ann, text="one")["ts"]
        second = client.chat_postMessage(channel=ann, text="two")["ts"]
        now[0] += 86_400  # the sandbox's clock jumps a day
        third = client.chat_postMessage(channel=ann, text="three")["ts"]
    assert first.startswith("1800000000.")
    assert float(first) < float(second) < float(third)
    assert third.startswith("1800086400.")


def test_every_change_and_a_touch_move_the_version_and_wake_waiters() -> None:
    with SlackStandIn() as standin:
        seen = standin.version
        woke: list[bool] = []
        waiter = threading.Thread(
            target=lambda: woke.append(standin.wait_for(lambda: standin.version != seen, 30))
        )
        waiter.start()
        standin.touch()
        waiter.join(timeout=30)
        assert woke == [True]
        before = standin.version
        standin.add_channel("general")
        assert standin.version > before
        assert [c["name"] for c in standin.channels()] == ["general"]
        standin.add_usergroup("design", [])
        assert [g["handle"] for g in standin.usergroups()] == ["design"]


class _Recorder(BaseHTTPRequestHandler):
    received: list[Any] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(json.loads(parse_qs(body.decode())["payload"][0]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def _app() -> Iterator[tuple[str, list[Any]]]:
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/slack/events", _Recorder.received
    finally:
        server.shutdown()
        server.server_close()


def test_closing_a_modal_removes_it_and_tells_the_app_only_when_asked() -> None:
    app = _app()
    url, received = next(app)
    try:
        with SlackStandIn() as standin:
            driver = SlackDriver(standin, request_url=url, signing_secret="s")
            client = WebClient(token=standin.bot_token, base_url=standin.api_url)
            ann = standin.add_user("ann")
            for notify in (False, True):
                view: dict[str, Any] = {
                    "type": "modal",
                    "title": {"type": "plain_text", "text": "Form"},
                    "blocks": [],
                    "notify_on_close": notify,
                }
                opened = client.views_open(trigger_id=standin.issue_trigger_id(ann), view=view)
                assert len(standin.open_views(ann)) == 1
                driver.close_view(ann, opened["view"]["id"])
                assert standin.open_views(ann) == []
        assert [payload["type"] for payload in received] == ["view_closed"]
        assert received[0]["user"]["id"] == ann
    finally:
        next(app, None)
