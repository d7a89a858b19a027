"""The page's HTTP server on 127.0.0.1: the page itself, its JSON API, and file downloads.

Only this machine's browser may use it: the Host header must name the loopback address (no DNS
rebinding), and every change is a JSON POST whose Origin, when sent, is the page's own (another
site cannot post JSON here without a CORS preflight, which is never granted).
"""

from __future__ import annotations

import json
import logging
import mimetypes
import sys
import threading
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from bot.sandbox.api import Api, BadRequest

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
LONG_POLL_SECONDS = 20.0
PAGE_FILES = ("index.html", "sandbox.js", "sandbox.css")
SECURITY_HEADERS = {
    # Everything comes from this server; lesson images are shown as links, never fetched.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class PageServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api: Api, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api = api
        super().__init__((host, port), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> threading.Thread:
        thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, name="sandbox-page"
        )
        thread.daemon = True
        thread.start()
        return thread

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the browser closed a connection it no longer needed
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: PageServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._guarded(self._get)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self._guarded(self._post)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature is fixed
        log.debug("page: " + format, *args)

    # -- routing ---------------------------------------------------------------------------

    def _guarded(self, serve: Callable[[], None]) -> None:
        if not self._local_host():
            self._send_json(HTTPStatus.FORBIDDEN, {"error": "open the page at 127.0.0.1"})
            return
        try:
            serve()
        except ConnectionError:
            return  # the page went away (it abandons a waiting request when the view changes)
        except BadRequest as error:
            self._send_json(error.status, {"error": str(error)})
        except Exception:  # a bug: say so briefly, keep serving
            log.exception("sandbox page request failed: %s %s", self.command, self.path)
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "the sandbox failed"})

    def _get(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        if path in ("/", "/index.html"):
            self._send_page_file("index.html")
        elif path.startswith("/page/") and path[len("/page/") :] in PAGE_FILES:
            self._send_page_file(path[len("/page/") :])
        elif path == "/api/state":
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            self._send_json(HTTPStatus.OK, self.server.api.state(query, wait=LONG_POLL_SECONDS))
        elif path.startswith("/files/"):
            self._send_file(path[len("/files/") :].split("/")[0])
        elif path == "/favicon.ico":
            self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no page {path}"})

    def _post(self) -> None:
        path = urlsplit(self.path).path
        if not self._same_origin():
            self._send_json(HTTPStatus.FORBIDDEN, {"error": "requests must come from the page"})
            return
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            self._send_json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"error": "send JSON"})
            return
        body = self._body()
        if not path.startswith("/api/"):
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no action {path}"})
            return
        result = self.server.api.post(path[len("/api/") :], body)
        self._send_json(HTTPStatus.OK, result)

    # -- checks ----------------------------------------------------------------------------

    def _local_host(self) -> bool:
        host = self.headers.get("Host", "")
        return host in (f"127.0.0.1:{self.server.port}", f"localhost:{self.server.port}")

    def _same_origin(self) -> bool:
        origin = self.headers.get("Origin")
        port = self.server.port
        return origin is None or origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}")

    def _body(self) -> Mapping[str, Any]:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise BadRequest("a bad Content-Length") from None
        if length > MAX_BODY:
            raise BadRequest("that request is too big", status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            body = json.loads(raw.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("the body is not JSON") from None
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        return body

    # -- answers ---------------------------------------------------------------------------

    def _send_page_file(self, name: str) -> None:
        data = resources.files("bot.sandbox").joinpath("page", name).read_bytes()
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self._send(HTTPStatus.OK, data, f"{kind}; charset=utf-8")

    def _send_file(self, file_id: str) -> None:
        found = self.server.api.file(file_id)
        if found is None:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": "no such file"})
            return
        name, data = found
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        disposition = f"attachment; filename*=UTF-8''{quote(name)}"
        self._send(HTTPStatus.OK, data, kind, {"Content-Disposition": disposition})

    def _send_json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8")

    def _send(
        self, status: int, body: bytes, content_type: str, extra: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in {**SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
