"""Property-based: whatever headers and body a stranger sends, signed or not, the HTTP layer
answers with a normal answer or a clear 4xx, never a 500 or a traceback in the log."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

from hypothesis import event, example, given
from hypothesis import strategies as st

from tests.slack.signed import NOW, call, http_app, sign

STAMP = int(NOW.timestamp())

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
_slack_shaped = st.one_of(
    st.sampled_from(["help", "courses", "HELP", ""]).map(
        lambda text: urlencode(
            {"command": "/learn", "text": text, "user_id": "U1", "team_id": "T1"}
        )
    ),
    st.text(max_size=30).map(
        lambda challenge: json.dumps({"type": "url_verification", "challenge": challenge})
    ),
    st.dictionaries(st.sampled_from(["type", "user", "channel", "ts"]), _json).map(
        lambda event: json.dumps(
            {"type": "event_callback", "team_id": "T1", "event_id": "Ev1", "event": event}
        )
    ),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["block_actions", "view_submission", "shortcut", "message"])},
        optional={"team": _json, "user": _json, "actions": _json, "view": _json},
    ).map(lambda payload: urlencode({"payload": json.dumps(payload)})),
)
_bodies = st.one_of(
    _slack_shaped.map(str.encode),
    _slack_shaped.map(str.encode),
    st.binary(max_size=300),
    st.dictionaries(st.text(max_size=12), st.text(max_size=40), max_size=5).map(
        lambda fields: urlencode(fields).encode()
    ),
    _json.map(lambda value: json.dumps(value).encode()),
    _json.map(lambda value: urlencode({"payload": json.dumps(value)}).encode()),
    st.text(max_size=200).map(lambda text: ("payload=" + text).encode()),
)
_FORM = "application/x-www-form-urlencoded"
_content_types = st.sampled_from(
    [
        _FORM,
        "application/json",
        "text/plain",
        "",
        "application/x-www-form-urlencoded; charset=utf-8",
        "multipart/form-data; boundary=x",
    ]
)
_header_text = st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=80)
_timestamps = st.one_of(
    st.just(str(STAMP)),
    st.integers(min_value=STAMP - 299, max_value=STAMP + 299).map(str),  # fresh: a new signature
    st.integers(min_value=STAMP - 299, max_value=STAMP + 299).map(str),
    st.integers(min_value=STAMP - 600, max_value=STAMP + 600).map(str),
    st.integers(min_value=0, max_value=10**30).map(str),
    st.just("9" * 5000),
    _header_text,
)


@contextmanager
def _no_tracebacks() -> Iterator[list[logging.LogRecord]]:
    """Every log record at ERROR or with an exception, from anywhere, while the block runs."""
    caught: list[logging.LogRecord] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR or record.exc_info:
                caught.append(record)

    handler = Catch(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield caught
    finally:
        root.removeHandler(handler)


def _signed_payload(payload: object) -> tuple[bytes, dict[str, str], str]:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return body, {**sign(body), "CONTENT_LENGTH": str(len(body))}, _FORM


@st.composite
def _requests(draw: st.DrawFn) -> tuple[bytes, dict[str, str], str]:
    body = draw(_bodies)
    timestamp = draw(_timestamps)
    headers: dict[str, str] = {}
    signing = draw(st.sampled_from(["signed", "signed", "signed", "forged", "garbled", "missing"]))
    if signing == "signed" and timestamp.isascii() and timestamp.isdigit() and len(timestamp) < 20:
        headers.update(sign(body, at=int(timestamp)))
    elif signing != "missing":
        headers["HTTP_X_SLACK_REQUEST_TIMESTAMP"] = timestamp
        headers["HTTP_X_SLACK_SIGNATURE"] = (
            "v0=" + draw(st.text("0123456789abcdef", min_size=64, max_size=64))
            if signing == "forged"
            else draw(_header_text)
        )
    length = draw(
        st.one_of(
            st.just(str(len(body))),
            st.just(str(len(body))),
            st.just(str(len(body))),
            st.integers(min_value=-5, max_value=2_000_000).map(str),
            _header_text,
        )
    )
    headers["CONTENT_LENGTH"] = length
    if draw(st.booleans()):
        headers["HTTP_X_SLACK_RETRY_NUM"] = draw(_header_text)
    return body, headers, draw(_content_types)


def test_any_request_gets_an_answer_or_a_clear_4xx(database_url: str) -> None:
    with http_app(database_url) as wsgi:

        @given(request=_requests())
        @example(request=_signed_payload({"view": None}))  # found by an explore run
        @example(request=_signed_payload({"type": "block_actions", "actions": [[]]}))
        def answers(request: tuple[bytes, dict[str, str], str]) -> None:
            body, headers, content_type = request
            with _no_tracebacks() as tracebacks:
                reply = call(wsgi, body, headers, content_type=content_type)
            event(reply.status)
            assert 200 <= reply.code < 500, (reply.status, reply.body[:200])
            assert not tracebacks, [record.getMessage() for record in tracebacks]

        answers()
