"""The worker's reading of request heads agrees with gunicorn's parser: a request it calls whole
never makes the thread that parses it wait for another byte, and a whole request is never kept
waiting."""

from __future__ import annotations

from collections.abc import Iterator

from gunicorn.config import Config
from gunicorn.http.errors import NoMoreData, ParseException
from gunicorn.http.parser import RequestParser
from hypothesis import example, given
from hypothesis import strategies as st

from bot.buffering import Head, parse_head


class NeededMore(Exception):
    """gunicorn's parser asked for bytes beyond what the worker handed over."""


def _exactly(data: bytes) -> Iterator[bytes]:
    yield data
    raise NeededMore


def _gunicorn_reads(data: bytes) -> bytes | None:
    """The body gunicorn reads from exactly `data`; None when it refuses the request."""
    parser = RequestParser(Config(), _exactly(data), ("127.0.0.1", 4321))
    try:
        request = next(parser)
        return bytes(request.body.read())
    except (ParseException, StopIteration):
        return None  # answered 400 (or closed) from what it has: no waiting
    except NoMoreData as error:
        raise NeededMore from error


_token = st.text(st.sampled_from("abcdefgz-_XYZ09"), min_size=1, max_size=12)
_value = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=30)
_length_value = st.one_of(
    st.integers(min_value=0, max_value=40).map(str),
    st.sampled_from(["", " 5", "5 ", "05", "-1", "1e1", "0x10", "²", "٣", "5,5", "99999999"]),
)
_header = st.one_of(
    st.tuples(
        st.sampled_from(["Content-Length", "content-length", "CONTENT-LENGTH "]), _length_value
    ),
    st.tuples(
        st.sampled_from(["Transfer-Encoding", "Expect"]),
        st.sampled_from(["chunked", "100-continue", "gzip"]),
    ),
    st.tuples(_token, _value),
)


@st.composite
def _requests(draw: st.DrawFn) -> bytes:
    # Mostly what servers accept, so that the framing, not the request line, decides.
    method = draw(st.sampled_from(["POST", "GET", "POST", "HEAD", "PUT", "POST /x", "G\tT"]))
    target = draw(st.sampled_from(["/slack/events", "/healthz?x=1", "http://h/x", "*"]))
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2"]))
    headers = draw(st.lists(_header, max_size=5))
    body = draw(st.binary(max_size=40))
    if draw(st.booleans()):  # a consistent length, as a real client sends
        headers = [h for h in headers if h[0].strip().lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
    head = f"{method} {target} {version}\r\n" + "".join(f"{n}:{v}\r\n" for n, v in headers)
    tail = draw(st.sampled_from([b"", b"GET / HTTP/1.1\r\n", b"\r\n\r\n"]))  # pipelined bytes
    try:
        encoded = head.encode("latin-1")  # header bytes as servers decode them
    except UnicodeEncodeError:
        encoded = head.encode()
    return encoded + b"\r\n" + body + tail


@given(_requests())
@example(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n")
@example(b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc")
@example(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")
@example(b"POST / HTTP/1.1\r\nContent-Length: \xb2\r\n\r\nab")  # a latin-1 superscript two
def test_a_request_called_whole_never_needs_another_byte(raw: bytes) -> None:
    head = parse_head(raw)
    if isinstance(head, Head) and head.size <= len(raw):  # whole: a thread takes it
        body = _gunicorn_reads(raw[: head.size])  # raises NeededMore if it would have waited
        if body is not None:
            assert len(body) == head.size - raw.index(b"\r\n\r\n") - 4


@given(_requests())
def test_no_prefix_of_a_request_is_taken_for_the_whole_of_it(raw: bytes) -> None:
    whole = parse_head(raw)
    if isinstance(whole, Head):
        for cut in range(whole.size):
            early = parse_head(raw[:cut])
            assert not (isinstance(early, Head) and early.size <= cut), cut


@given(
    st.sampled_from(["GET", "POST"]),
    st.sampled_from(["/slack/events", "/healthz"]),
    st.dictionaries(
        _token, st.text(st.characters(min_codepoint=33, max_codepoint=126)), max_size=4
    ),
    st.binary(max_size=200),
)
def test_a_well_formed_request_is_whole_as_soon_as_its_last_byte_is_in(
    method: str, path: str, headers: dict[str, str], body: bytes
) -> None:
    headers = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "expect")}
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items() if "transfer" not in k.lower())
    raw = f"{method} {path} HTTP/1.1\r\n{lines}Content-Length: {len(body)}\r\n\r\n".encode() + body
    head = parse_head(raw)
    assert isinstance(head, Head)
    assert (head.method, head.path, head.size) == (method, path, len(raw))
    assert _gunicorn_reads(raw) == body


@given(st.binary(max_size=300))
def test_any_bytes_are_read_without_an_error(data: bytes) -> None:
    parse_head(data)
    parse_head(b"POST /slack/events HTTP/1.1\r\n" + data)
