"""The stand-in's HTTP servers: a connection never waits for a thread, and threads are reused."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from bot.sandbox.slack.server.plumbing import PromptShutdown, ReusedThreads


class _Echo(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        line = self.rfile.readline()
        self.server.served_on.append(threading.current_thread())
        if line == b"hold\n":
            self.server.release.wait(timeout=10)
        self.wfile.write(line)


class _Server(PromptShutdown, ReusedThreads, socketserver.TCPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Echo)
        self.release = threading.Event()
        self.served_on: list[threading.Thread] = []


@contextmanager
def _serving() -> Iterator[_Server]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _say(server: _Server, line: bytes) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=10)
    connection.sendall(line)
    return connection


def _read_all(connection: socket.socket) -> bytes:
    """What the server sent, up to its closing the connection."""
    received = b""
    while chunk := connection.recv(64):
        received += chunk
    return received


def test_a_held_connection_does_not_keep_others_waiting_and_threads_are_reused() -> None:
    with _serving() as server:
        held = _say(server, b"hold\n")
        answers = []
        for _ in range(5):
            with _say(server, b"hi\n") as connection:
                answers.append(_read_all(connection))
        server.release.set()
        with held:
            assert _read_all(held) == b"hold\n"

    assert answers == [b"hi\n"] * 5
    # One thread held the first connection; the five after it, one at a time, shared another
    # (a connection's thread is free again before its client reads the end of it).
    assert len(set(server.served_on)) == 2
