"""HTTP plumbing: the threaded server, its request handler, and parsing of what clients send."""

from __future__ import annotations

import base64
import contextlib
import contextvars
import email.parser
import email.policy
import json
import queue
import selectors
import socket
import socketserver
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .records import JSON, ApiError, LostAnswer

if TYPE_CHECKING:
    from .standin import SlackStandIn


# Fields that clients may send JSON-encoded inside a form (or a JSON body).
_JSON_FIELDS = frozenset({"blocks", "attachments", "metadata", "files", "view"})


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    lost: LostAnswer | None = None

    @classmethod
    def json(cls, status: int, payload: JSON, headers: Mapping[str, str] | None = None) -> Reply:
        merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, merged, json.dumps(payload).encode("utf-8"))


class PromptShutdown(socketserver.TCPServer):
    """A server whose `shutdown()` returns at once: a wake-up socket beside the listening one
    ends `serve_forever`'s wait, instead of the next time its select times out (every
    `poll_interval`; each test that starts a server stops it once)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake, self._waker = socket.socketpair()
        self._stopping = threading.Event()
        self._stopped = threading.Event()

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._stopped.clear()
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self.socket, selectors.EVENT_READ)
                selector.register(self._wake, selectors.EVENT_READ)
                while not self._stopping.is_set():
                    ready = selector.select(poll_interval)
                    if self._stopping.is_set():
                        break
                    if any(key.fileobj is self.socket for key, _ in ready):
                        self._take_connection()
                    self.service_actions()
        finally:
            self._stopping.clear()
            self._stopped.set()

    def _take_connection(self) -> None:
        """Accept and serve one connection, as socketserver's own loop does once its select
        says one waits (`handle_request()` would build and register a selector of its own)."""
        try:
            request, client_address = self.get_request()
        except OSError:
            return
        if not self.verify_request(request, client_address):
            self.shutdown_request(request)
            return
        try:
            self.process_request(request, client_address)
        except Exception:  # noqa: BLE001 - as socketserver: reported, the server goes on
            self.handle_error(request, client_address)
            self.shutdown_request(request)
        except BaseException:
            self.shutdown_request(request)
            raise

    def shutdown(self) -> None:
        self._stopping.set()
        self._waker.send(b"\0")
        self._stopped.wait()

    def server_close(self) -> None:
        super().server_close()
        self._wake.close()
        self._waker.close()


class ReusedThreads(socketserver.TCPServer):
    """Each connection served on a thread of its own, as `socketserver.ThreadingMixIn` does, from
    a fresh context; but a thread that has served one waits for the next instead of ending, so
    a server that takes a connection per request (urllib closes each) starts few threads. A
    connection never waits for a thread: with none idle, another starts. The threads are daemons
    and end once the server is closed and their connection served."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._connections: queue.SimpleQueue[tuple[Any, Any] | None] = queue.SimpleQueue()
        self._pool_lock = threading.Lock()
        self._idle = 0  # threads waiting for a connection that none has been handed yet
        self._pool_size = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._pool_lock:
            waiting = self._idle > 0
            if waiting:
                self._idle -= 1
            else:
                self._pool_size += 1
        if not waiting:
            threading.Thread(target=self._serve_connections, daemon=True).start()
        self._connections.put((request, client_address))

    def _serve_connections(self) -> None:
        while (taken := self._connections.get()) is not None:
            request, client_address = taken
            contextvars.Context().run(self._serve_connection, request, client_address)

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:  # noqa: BLE001 - as ThreadingMixIn: reported, the thread goes on
            self.handle_error(request, client_address)
        finally:
            with self._pool_lock:  # free before the client sees its connection close
                self._idle += 1
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        with self._pool_lock:
            threads, self._pool_size = self._pool_size, 0
        for _ in range(threads):
            self._connections.put(None)


class StandInHTTPServer(PromptShutdown, ReusedThreads, HTTPServer):
    # Slack takes every connection; a bot with many posts in flight opens them in bursts, which
    # the listen backlog's default of 5 would answer with resets.
    request_queue_size = 256

    def __init__(self, standin: SlackStandIn) -> None:
        super().__init__(("127.0.0.1", 0), RequestHandler)
        self.standin = standin


class RequestHandler(BaseHTTPRequestHandler):
    server: StandInHTTPServer
    # Keep-alive, as Slack's own endpoints: clients that reuse connections are served that way.
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self._serve()

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        reply = self.server.standin._handle_http(self.path, headers, body)
        if reply.lost is not None:
            if reply.lost.how == "drop":
                self.close_connection = True  # closed with no answer: the client sees a reset
                return
            reply.lost.released.wait(timeout=30)  # until the test lets the answer go
        try:
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):  # a late answer to a client that left
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature is fixed
        return


def basic_credentials(headers: Mapping[str, str]) -> tuple[str, str] | None:
    value = headers.get("authorization", "")
    if not value.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(value[6:].strip()).decode("utf-8")
    except ValueError:
        return None
    user, _, password = decoded.partition(":")
    return user, password


def bearer_token(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization", "")
    if value.lower().startswith("bearer "):
        return value[7:].strip() or None
    return None


def parse_params(content_type: str, query: str, body: bytes) -> JSON:
    """Merge query string and body (JSON, form or multipart), decoding JSON-in-string fields."""
    params: JSON = dict(parse_qsl(query, keep_blank_values=True))
    kind = content_type.split(";")[0].strip().lower()
    if body:
        if kind == "application/json":
            try:
                decoded = json.loads(body.decode("utf-8"))
            except ValueError:
                raise ApiError("invalid_json") from None
            if not isinstance(decoded, dict):
                raise ApiError("invalid_json")
            params.update(decoded)
        elif kind == "multipart/form-data":
            params.update(parse_multipart(content_type, body))
        else:
            try:
                params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            except UnicodeDecodeError:
                raise ApiError("invalid_form_data") from None
    for key in _JSON_FIELDS & params.keys():
        value = params[key]
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            # Undecodable JSON stays a string: the method answers with its own format error.
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params


def parse_multipart(content_type: str, body: bytes) -> JSON:
    """Form fields as strings, file parts as bytes."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: JSON = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_param("filename", header="content-disposition"):
            fields[name] = data
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields


def parse_response_body(content_type: str, body: bytes) -> JSON:
    text = body.decode("utf-8")
    if content_type.startswith("application/x-www-form-urlencoded") and not text.startswith("{"):
        text = dict(parse_qsl(text)).get("payload", "{}")
    decoded = json.loads(text or "{}")
    if not isinstance(decoded, dict):
        raise ValueError("response body must be a JSON object")
    return decoded
