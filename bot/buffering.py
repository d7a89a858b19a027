"""gunicorn's threaded worker, reading every request whole before a thread takes it.

gunicorn's gthread worker hands a connection to one of its threads as soon as it turns readable,
and the thread then blocks on the socket until the request line, the headers and the body are
in. Forty clients that sent headers and two bytes of a body held every thread, and `/learn` and
`/healthz` timed out for over a minute. Here the worker's own event loop (the thread that
accepts connections) reads requests without blocking, as a buffering proxy does, and a thread
only gets a request whose every byte has arrived. A request that has not arrived whole within
`REQUEST_SECONDS` is answered 408 and closed; one the app refuses from its headers alone (no
signature, stale, too big: `HeadScreen`) is answered at once, without waiting for its body.

It extends gunicorn 27's ThreadWorker at the one place every connection passes on its way to a
thread (`enqueue_req`: new, kept-alive, and read-ahead bytes of a next request alike).
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from gunicorn.workers.gthread import ThreadWorker

log = logging.getLogger(__name__)

# Slack needs its answer within 3 s; a request still arriving after this long is not Slack's.
REQUEST_SECONDS = 5.0
MAX_HEAD = 64 * 1024  # request line and headers; Slack's are well under 2 KiB
MAX_BODY = 1_000_000  # as bot.slack.http refuses: far above any Slack payload

Refusal = tuple[str, str]
"""An HTTP status line and a short plain-text body."""

HeadScreen = Callable[[str, str, Mapping[str, str]], Refusal | None]
"""(method, path, lower-cased headers) → why the request is refused before its body, or None."""


@dataclass(frozen=True)
class Head:
    """What a request's head says: where it goes and how many bytes the whole request has."""

    method: str
    path: str
    headers: dict[str, str]
    size: int
    expects_continue: bool


def parse_head(data: bytes | bytearray, *, max_body: int = MAX_BODY) -> Head | Refusal | None:
    """The request head at the start of `data`; a refusal when it is unusable; None while the
    head is still arriving.

    Framing is only taken from a single Content-Length of ASCII digits: anything gunicorn's
    parser could read differently (chunked bodies, repeated or odd lengths) is refused, so the
    thread that parses the request never needs a byte more than `size`.
    """
    end = data.find(b"\r\n\r\n", 0, MAX_HEAD + 4)
    if end < 0:
        return (
            ("431 Request Header Fields Too Large", "Headers too large")
            if (len(data) > MAX_HEAD)
            else None
        )
    lines = bytes(data[:end]).decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return _BAD_REQUEST
    headers: dict[str, str] = {}
    lengths: list[str] = []
    refused = _read_headers(lines[1:], headers, lengths)
    if refused is not None:
        return refused
    if len(lengths) > 1 or (lengths and not (lengths[0].isascii() and lengths[0].isdigit())):
        return _BAD_REQUEST
    length = int(lengths[0]) if lengths else 0
    if length > max_body:
        return "413 Payload Too Large", "Payload Too Large"
    method, target, version = parts
    return Head(
        method=method,
        path=(target if target.startswith("/") else urlsplit(target).path).partition("?")[0],
        headers=headers,
        size=end + 4 + length,
        expects_continue=(
            version == "HTTP/1.1" and headers.get("expect", "").lower() == "100-continue"
        ),
    )


_BAD_REQUEST = ("400 Bad Request", "Bad Request")


def _read_headers(lines: list[str], headers: dict[str, str], lengths: list[str]) -> Refusal | None:
    """Fill `headers` (the first of each name) and `lengths` (every Content-Length); a refusal
    for a line that is no header or a Transfer-Encoding."""
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            return _BAD_REQUEST
        key = name.strip(" \t").lower()
        value = value.strip(" \t")
        if key == "transfer-encoding":
            return "411 Length Required", "Send a Content-Length"
        if key == "content-length":
            lengths.append(value)
        headers.setdefault(key, value)
    return None


@dataclass(eq=False)
class _Arriving:
    """A connection whose next request is still arriving."""

    conn: Any  # gunicorn's TConn
    deadline: float
    data: bytearray = field(default_factory=bytearray)
    head: Head | None = None
    registered: bool = False
    continued: bool = False
    refused: bool = False  # answered; read and dropped until the client closes
    done: bool = False


class BufferingWorker(ThreadWorker):  # type: ignore[misc]
    """gthread, with each request read whole by the event loop before a thread serves it.

    The application may offer `refuse_head` (a `HeadScreen`) and `request_seconds` on the
    gunicorn application object. TLS is the reverse proxy's job: this worker reads plain HTTP.
    """

    def init_process(self) -> None:
        if self.cfg.is_ssl:
            raise RuntimeError("BufferingWorker reads plain HTTP; terminate TLS in front of it")
        self._arriving: deque[_Arriving] = deque()  # in deadline order
        self._request_seconds = float(getattr(self.app, "request_seconds", REQUEST_SECONDS))
        super().init_process()

    def enqueue_req(self, conn: Any) -> None:
        """Every way a connection reaches a thread comes here: read its request first."""
        conn.sock.setblocking(False)
        # Bytes of a next request read together with the last one wait in the parser.
        ahead = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        arriving = _Arriving(conn, time.monotonic() + self._request_seconds, bytearray(ahead))
        if not (ahead and self._advance(arriving)):
            self._read(arriving)  # a kept-alive connection is readable already: no loop turn
        if not arriving.done:
            self._watch(arriving)

    def _watch(self, arriving: _Arriving) -> None:
        if not arriving.registered:
            self.poller.register(
                arriving.conn.sock, selectors.EVENT_READ, partial(self._readable, arriving)
            )
            arriving.registered = True
            self._arriving.append(arriving)

    def _readable(self, arriving: _Arriving, _sock: Any) -> None:
        self._read(arriving)

    def _read(self, arriving: _Arriving) -> None:
        try:
            chunk = arriving.conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(arriving)
            return
        if not chunk:
            self._close(arriving)  # the client went away (or read our refusal and closed)
        elif not arriving.refused:
            arriving.data += chunk
            self._advance(arriving)

    def _advance(self, arriving: _Arriving) -> bool:
        """Hand the request over or refuse it once it can be; True when either happened."""
        if arriving.head is None:
            head = parse_head(arriving.data)
            if head is None:
                return False
            if not isinstance(head, Head):
                self._refuse(arriving, head)
                return True
            arriving.head = head
            refusal = self._screen(head)
            if refusal is not None:
                self._refuse(arriving, refusal)
                return True
        if len(arriving.data) >= arriving.head.size:
            self._hand_over(arriving)
            return True
        if arriving.head.expects_continue and not arriving.continued:
            arriving.continued = True
            _send(arriving.conn.sock, b"HTTP/1.1 100 Continue\r\n\r\n")
        return False

    def _screen(self, head: Head) -> Refusal | None:
        screen: HeadScreen | None = getattr(self.app, "refuse_head", None)
        return None if screen is None else screen(head.method, head.path, head.headers)

    def _hand_over(self, arriving: _Arriving) -> None:
        self._settle(arriving)
        conn = arriving.conn
        if conn.parser is None:
            conn.init()  # plain HTTP: makes the parser, nothing that blocks
        conn.parser.unreader.unread(bytes(arriving.data))
        super().enqueue_req(conn)

    def _refuse(self, arriving: _Arriving, refusal: Refusal) -> None:
        """Answer and stop sending; keep reading until the client closes, so that closing with
        its unread bytes does not reset the connection before the answer is read."""
        status, text = refusal
        body = text.encode()
        _send(
            arriving.conn.sock,
            f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body,
        )
        try:
            arriving.conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(arriving)
            return
        arriving.refused = True
        arriving.data = bytearray()
        self._watch(arriving)

    def _settle(self, arriving: _Arriving) -> None:
        """The connection leaves the arriving state (the deque entry goes at its deadline)."""
        arriving.done = True
        if arriving.registered:
            self.poller.unregister(arriving.conn.sock)
            arriving.registered = False

    def _close(self, arriving: _Arriving) -> None:
        self._settle(arriving)
        self.nr_conns -= 1
        arriving.conn.close()

    def murder_keepalived(self, force: bool = False) -> None:
        """Also close requests past their deadline (the main loop calls this after each wait)."""
        super().murder_keepalived(force)
        now = time.monotonic()
        while self._arriving and (
            self._arriving[0].done or force or self._arriving[0].deadline <= now
        ):
            arriving = self._arriving.popleft()
            if arriving.done:
                continue
            if arriving.data and not arriving.refused:
                log.info("a request did not arrive whole in %.0f s: 408", self._request_seconds)
                _send(arriving.conn.sock, _TIMEOUT)
            self._close(arriving)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        if self._arriving:  # wake up for the first deadline, not a second later
            timeout = max(0.0, min(timeout, self._arriving[0].deadline - time.monotonic()))
        super().wait_for_and_dispatch_events(timeout)


_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 15\r\nConnection: close\r\n\r\nRequest Timeout"
)


def _send(sock: socket.socket, data: bytes) -> None:
    """Best effort, never blocking the event loop: a few hundred bytes fit any send buffer."""
    with contextlib.suppress(OSError):
        sock.send(data)
