"""bot.http_server's gunicorn under slow, stalled, pipelined and impatient clients: threads only get
requests that have arrived whole, and a request that does not arrive in time is cut off."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.process import ROOT, free_port

# One server for the module: its tests run on one xdist worker.
pytestmark = pytest.mark.xdist_group("e2e-buffering")

DEADLINE = 1.0  # seconds a request may take to arrive, for this server only
# An echo app on two threads; `/refused` is refused from its headers (as a missing signature is).
SERVER = """
import sys
from bot.http_server import Worker, run_http

def echo(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]

def screen(method, path, headers):
    return ("401 Unauthorized", "Refused") if path == "/refused" else None

run_http(
    lambda: Worker(wsgi=echo, stop=lambda: None, screen=screen),
    host="127.0.0.1", port=int(sys.argv[1]), workers=1, threads=2, log_level="warning",
    request_seconds=float(sys.argv[2]),
)
"""


@dataclass
class Server:
    port: int

    def connect(self) -> socket.socket:
        client = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        return client


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), str(DEADLINE)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for_port(port, process)
        yield Server(port)
    finally:
        process.terminate()
        process.communicate(timeout=15)


def _wait_for_port(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)  # polling a starting process, not waiting for a scheduled event
    raise AssertionError("the server never listened")


def _request(body: bytes, path: str = "/echo", extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode()
        + body
    )


def _read_all(client: socket.socket) -> bytes:
    """Everything until the server closes the connection."""
    data = b""
    while chunk := client.recv(65536):
        data += chunk
    return data


class Responses:
    """Whole responses (headers and Content-Length body), one at a time, from one connection."""

    def __init__(self, client: socket.socket) -> None:
        self._client = client
        self._data = b""

    def next(self) -> bytes:
        while b"\r\n\r\n" not in self._data:
            self._receive()
        head, _, rest = self._data.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        while len(rest) < length:
            self._receive()
            head, _, rest = self._data.partition(b"\r\n\r\n")
        self._data = rest[length:]
        return head + b"\r\n\r\n" + rest[:length]

    def _receive(self) -> None:
        chunk = self._client.recv(65536)
        assert chunk, f"the connection closed after {self._data!r}"
        self._data += chunk


def test_stalled_requests_hold_no_thread_and_are_cut_off_with_408(server: Server) -> None:
    stalled = [server.connect() for _ in range(10)]
    idle = server.connect()  # sends nothing at all
    try:
        for n, client in enumerate(stalled):
            whole = _request(b"0123456789")
            client.sendall(whole[: len(whole) - 5] if n % 2 else whole[:20])  # body or head short
        with server.connect() as client:  # two threads, ten stalled clients: answered at once
            client.sendall(_request(b"hello") + _request(b"again"))  # pipelined
            responses = Responses(client)
            assert responses.next().endswith(b"\r\n\r\nhello")
            assert responses.next().endswith(b"\r\n\r\nagain")
        for client in stalled:
            response = _read_all(client)  # the server answers and closes at the deadline
            assert response.startswith(b"HTTP/1.1 408 Request Timeout"), response
        assert _read_all(idle) == b""  # no request begun: closed without an answer
    finally:
        for client in [*stalled, idle]:
            client.close()


def test_a_kept_alive_connection_that_stalls_on_its_next_request_is_cut_off(
    server: Server,
) -> None:
    with server.connect() as client:
        client.sendall(_request(b"first"))
        assert Responses(client).next().endswith(b"first")
        client.sendall(_request(b"second")[:-3])
        assert _read_all(client).startswith(b"HTTP/1.1 408")


def test_a_refusal_from_the_headers_comes_before_the_body(server: Server) -> None:
    with server.connect() as client:
        client.sendall(_request(b"x" * 1000, path="/refused")[:60])
        # Waiting for the body would have ended in a 408 at the deadline.
        assert client.recv(65536).startswith(b"HTTP/1.1 401 Unauthorized")


def test_expect_100_continue_is_answered_before_the_body(server: Server) -> None:
    with server.connect() as client:
        whole = _request(b"body after 100", extra="Expect: 100-continue\r\n")
        head, _, body = whole.partition(b"\r\n\r\n")
        client.sendall(head + b"\r\n\r\n")
        assert client.recv(65536).startswith(b"HTTP/1.1 100 Continue")
        client.sendall(body)
        answer = b""
        while not answer.endswith(b"body after 100"):
            chunk = client.recv(65536)
            assert chunk, answer
            answer += chunk
        assert b"HTTP/1.1 200 OK" in answer


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n", b"411"),
        (b"POST /echo HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", b"400"),
        (b"POST /echo HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n", b"400"),
        (b"POST /echo HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", b"413"),
        (b"POST /echo HTTP/1.1\r\nX: " + b"a" * 70_000, b"431"),
    ],
    ids=["chunked", "two-lengths", "odd-length", "too-big", "endless-headers"],
)
def test_requests_whose_length_is_unclear_or_too_big_are_refused_unread(
    server: Server, head: bytes, status: bytes
) -> None:
    with server.connect() as client:
        client.sendall(head)
        assert _read_all(client).startswith(b"HTTP/1.1 " + status)
