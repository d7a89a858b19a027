"""The Socket Mode side of the stand-in: a WebSocket server that sends envelopes and awaits acks."""

from __future__ import annotations

import contextlib
import copy
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

JSON = dict[str, Any]

# Slack's envelope types; only interactive requests and commands may carry a response payload.
ENVELOPE_TYPES = ("slash_commands", "interactive", "events_api")


class SocketNotConnectedError(RuntimeError):
    """No Socket Mode client is connected to the stand-in."""


class SocketAckTimeoutError(TimeoutError):
    """The app did not acknowledge an envelope in time."""


@dataclass
class _Pending:
    done: threading.Event = field(default_factory=threading.Event)
    ack: JSON | None = None


@dataclass
class _Client:
    number: int
    websocket: ServerConnection
    ticket: str


class SocketModeServer:
    """WebSocket endpoint handed out by ``apps.connections.open``; thread-safe."""

    def __init__(self, *, app_id: str, on_change: Callable[[], None] | None = None) -> None:
        self._app_id = app_id
        self._on_change = on_change
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._tickets: set[str] = set()
        self._clients: list[_Client] = []
        self._retiring: list[_Client] = []
        self._connects = 0
        self._turn = 0  # envelopes sent so far: the next goes to connection turn % open ones
        self._pending: dict[str, _Pending] = {}
        self._received: list[JSON] = []
        self._sent: list[JSON] = []
        self._sent_to: dict[str, int] = {}  # envelope id → the connection it went to
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Bind 127.0.0.1 on a free port and serve in a background thread."""
        self._server = serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._check_ticket,
            compression=None,
            ping_interval=None,  # the client pings us; we answer (websockets pongs automatically)
            close_timeout=1,
            max_size=None,
        )
        self._port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="standin-socket-mode", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Close every connection and the listening socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._changed:
            for pending in self._pending.values():
                pending.done.set()
            self._pending.clear()
            self._clients.clear()
            self._changed.notify_all()

    @property
    def port(self) -> int:
        return self._port

    # -- handshake -------------------------------------------------------------------------

    def issue_url(self) -> str:
        """Return a fresh ``ws://`` URL with a ticket, as ``apps.connections.open`` does."""
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self._port}/link/?ticket={ticket}"

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        ticket = parse_qs(parts.query).get("ticket", [""])[0]
        with self._lock:
            known = parts.path.rstrip("/") == "/link" and ticket in self._tickets
        if known:
            return None
        return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid ticket\n")

    def _handle(self, websocket: ServerConnection) -> None:
        ticket = parse_qs(urlsplit(websocket.request.path if websocket.request else "").query).get(
            "ticket", [""]
        )[0]
        with self._changed:
            self._connects += 1
            number = self._connects
            open_now = len(self._clients) + 1
        hello = {
            "type": "hello",
            "num_connections": open_now,
            "debug_info": {
                "host": "applink-standin",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self._app_id},
        }
        try:
            websocket.send(json.dumps(hello))
        except ConnectionClosed:
            return
        client = _Client(number=number, websocket=websocket, ticket=ticket)
        with self._changed:
            self._clients.append(client)
            retired, self._retiring = self._retiring, []
            self._changed.notify_all()
        self._notify()
        for old in retired:
            # Like Slack: once the client has reconnected, the connection it was told to leave
            # is closed (which also frees a client blocked reading the old socket).
            threading.Thread(target=_close_quietly, args=(old.websocket,), daemon=True).start()
        try:
            for raw in websocket:
                self._receive(raw)
        except ConnectionClosed:
            pass
        finally:
            with self._changed:
                if client in self._clients:
                    self._clients.remove(client)
                if client in self._retiring:
                    self._retiring.remove(client)
                self._changed.notify_all()
            self._notify()

    def _receive(self, raw: str | bytes) -> None:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        try:
            message = json.loads(text)
        except ValueError:
            message = {"unparsed": text}
        if not isinstance(message, dict):
            message = {"unparsed": text}
        with self._changed:
            self._received.append(message)
            pending = self._pending.get(str(message.get("envelope_id", "")))
            if pending is not None:
                pending.ack = message
                pending.done.set()
            self._changed.notify_all()
        self._notify()

    def _notify(self) -> None:
        if self._on_change is not None:
            self._on_change()

    # -- what tests use --------------------------------------------------------------------

    def _active(self) -> list[_Client]:
        """Connections not told to go away, oldest first (call with the lock held)."""
        return [c for c in self._clients if c not in self._retiring]

    def open_connections(self) -> int:
        with self._lock:
            return len(self._clients)

    def connects(self) -> int:
        """How many WebSocket connections were ever accepted (grows on each reconnect)."""
        with self._lock:
            return self._connects

    def received(self) -> list[JSON]:
        """Every message the app sent over Socket Mode (acks included), oldest first."""
        with self._lock:
            return copy.deepcopy(self._received)

    def sent(self) -> list[JSON]:
        """Every envelope the stand-in sent, oldest first."""
        with self._lock:
            return copy.deepcopy(self._sent)

    def sent_to(self) -> dict[str, int]:
        """Which connection (numbered 1, 2, … in the order they were accepted) each envelope
        went to, by envelope id."""
        with self._lock:
            return dict(self._sent_to)

    def wait_for_client(self, timeout: float = 5.0, *, connects: int | None = None) -> bool:
        """Wait until a client is connected (and, if given, ``connects`` connections were seen)."""

        def ready() -> bool:
            return bool(self._active()) and (connects is None or self._connects >= connects)

        with self._changed:
            return self._changed.wait_for(ready, timeout=timeout)

    def send(
        self,
        envelope_type: str,
        payload: JSON,
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        accepts_response_payload: bool | None = None,
        timeout: float = 5.0,
    ) -> JSON:
        """Send one envelope and block until the app acks it.

        Like Slack, envelopes are spread over the app's open connections (up to 10 per app),
        here in turn, so that each of several connected processes takes its share."""
        if envelope_type not in ENVELOPE_TYPES:
            raise ValueError(
                f"envelope type must be one of {ENVELOPE_TYPES}, not {envelope_type!r}"
            )
        if not self.wait_for_client(timeout):
            raise SocketNotConnectedError("no Socket Mode client connected to the stand-in")
        envelope_id = str(uuid.uuid4())
        if accepts_response_payload is None:
            accepts_response_payload = envelope_type != "events_api"
        envelope: JSON = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if envelope_type == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        pending = _Pending()
        with self._changed:
            active = self._active()
            if not active:
                raise SocketNotConnectedError("the Socket Mode client went away")
            client = active[self._turn % len(active)]
            self._turn += 1
            self._pending[envelope_id] = pending
            self._sent.append(envelope)
            self._sent_to[envelope_id] = client.number
        try:
            client.websocket.send(json.dumps(envelope))
            if not pending.done.wait(timeout):
                raise SocketAckTimeoutError(
                    f"no ack for {envelope_type} envelope {envelope_id} within {timeout} s"
                )
        except ConnectionClosed as error:
            raise SocketNotConnectedError("the Socket Mode client went away") from error
        finally:
            with self._changed:
                self._pending.pop(envelope_id, None)
        if pending.ack is None:
            raise SocketNotConnectedError("the stand-in stopped before the app acked")
        return pending.ack

    def disconnect(self, *, reason: str = "refresh_requested", hard: bool = False) -> int:
        """Ask clients to reconnect (Slack's ``disconnect`` message) or, if ``hard``, close them."""
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            try:
                if hard:
                    client.websocket.close(code=1001, reason=reason)
                else:
                    message = {
                        "type": "disconnect",
                        "reason": reason,
                        "debug_info": {"host": "applink-standin"},
                    }
                    client.websocket.send(json.dumps(message))
                    with self._lock:
                        self._retiring.append(client)
            except ConnectionClosed:
                pass
        return len(clients)

    def ping(self, timeout: float = 5.0) -> bool:
        """Ping the newest client and wait for its pong."""
        with self._lock:
            active = self._active()
            if not active:
                return False
            client = active[-1]
        try:
            return client.websocket.ping().wait(timeout)
        except ConnectionClosed:
            return False


def _close_quietly(websocket: ServerConnection) -> None:
    with contextlib.suppress(ConnectionClosed):
        websocket.close(code=1001, reason="refreshed")
