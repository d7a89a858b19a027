"""Response URL posts reuse one connection per thread and survive the server closing it."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.slack.responses import ResponseUrls


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0
        self.posts: list[tuple[str, Any]] = []
        self.drop_after_next = False  # close the connection silently after the next response
        self.status = 200


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append((self.path, json.loads(body)))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        if self.server.drop_after_next:  # as a server closing an idle keep-alive connection
            self.server.drop_after_next = False
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    running = _Server()
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    yield running
    running.shutdown()
    running.server_close()


def _url(server: _Server, path: str = "/actions/T1/1/abc") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_posts_from_one_thread_share_one_connection(server: _Server) -> None:
    responses = ResponseUrls()
    respond = responses.responder(_url(server))
    for number in range(3):
        assert respond(text=f"post {number}", blocks=None, replace_original=True) == 200
    assert server.connections == 1
    assert server.posts == [
        ("/actions/T1/1/abc", {"text": f"post {number}", "replace_original": True})
        for number in range(3)
    ]


def test_a_connection_the_server_closed_is_replaced_and_the_post_sent_once(
    server: _Server,
) -> None:
    responses = ResponseUrls()
    server.drop_after_next = True
    assert responses.post(_url(server), {"text": "first"}) == 200
    assert responses.post(_url(server), {"text": "second"}) == 200
    assert server.connections == 2
    assert [post["text"] for _path, post in server.posts] == ["first", "second"]


def test_an_error_status_is_returned_and_logged(
    server: _Server, caplog: pytest.LogCaptureFixture
) -> None:
    server.status = 404
    assert ResponseUrls().post(_url(server), {"text": "gone"}) == 404
    assert "response URL answered HTTP 404" in caplog.text


def test_a_server_that_is_down_is_an_error_not_a_silent_loss() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        ResponseUrls(timeout=2).post(f"http://127.0.0.1:{port}/actions/x", {"text": "lost?"})


def test_only_http_urls_are_posted_to() -> None:
    with pytest.raises(ValueError, match="not a response URL"):
        ResponseUrls().post("file:///etc/passwd", {"text": "no"})
