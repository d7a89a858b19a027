"""Slack's text formats (mrkdwn and plain_text) as HTML that cannot carry markup of its own.

Everything a lesson author, a person or the bot wrote is escaped; the only tags in the result are
the ones written here, and links keep to http(s) and mailto.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

SAFE_SCHEMES = ("http", "https", "mailto")
EMOJI: Mapping[str, str] = {
    "arrow_forward": "▶️",
    "books": "📚",
    "checkered_flag": "🏁",
    "dart": "🎯",
    "fire": "🔥",
    "headphones": "🎧",
    "lesson": "📘",
    "link": "🔗",
    "no_entry_sign": "🚫",
    "outbox_tray": "📤",
    "repeat": "🔁",
    "speech_balloon": "💬",
    "stopwatch": "⏱️",
    "tada": "🎉",
    "warning": "⚠️",
    "wave": "👋",
    "white_check_mark": "✅",
    "x": "❌",
    "zzz": "💤",
}

_CODE_BLOCK = re.compile(r"```(.*?)```", re.DOTALL)
# Slack's special sequences (<…>), inline code, and emoji codes; the text between is plain.
_TOKEN = re.compile(r"<([^<>\n]+)>|`([^`\n]+)`|:([a-z0-9_+-]+):")
_STYLES = (
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])"), "s"),
)
_PLACEHOLDER = re.compile(r"\x00(\d+)\x00")
_QUOTE = re.compile(r"^(?:>|&gt;) ?")
_BULLET = re.compile(r"^(\s*)([•◦▪]|\d+\.)\s")


@dataclass(frozen=True)
class Viewer:
    """What the person looking at the page knows: names behind ids, their zone, and now."""

    users: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)
    usergroups: Mapping[str, str] = field(default_factory=dict)
    tz: str = "UTC"
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    team_domain: str = "sandbox"


def plain(text: object, *, emoji: bool = True) -> str:
    """A plain_text object's text: shown as written (emoji codes become emoji)."""
    escaped = html.escape(str(text or ""))
    return _emoji_codes(escaped) if emoji else escaped


def mrkdwn(text: object, viewer: Viewer) -> str:
    """A mrkdwn text as HTML: styles, quotes, code, links, mentions, dates and emoji."""
    source = str(text or "").replace("\x00", "")
    out: list[str] = []
    position = 0
    for match in _CODE_BLOCK.finditer(source):
        out.append(_lines(source[position : match.start()], viewer))
        code = _unescape(match.group(1).strip("\n"))
        out.append(f'<pre class="code">{html.escape(code)}</pre>')
        position = match.end()
    out.append(_lines(source[position:], viewer))
    return "".join(out)


def _lines(text: str, viewer: Viewer) -> str:
    """Lines, with runs of `>` lines as one quote."""
    out: list[str] = []
    quote: list[str] = []

    def flush() -> None:
        if quote:
            out.append(f"<blockquote>{'<br>'.join(quote)}</blockquote>")
            quote.clear()

    lines = text.split("\n")
    for number, line in enumerate(lines):
        if _QUOTE.match(line):
            quote.append(_inline(_QUOTE.sub("", line, count=1), viewer))
            continue
        flush()
        bullet = _BULLET.match(line)
        if bullet:
            depth = len(bullet.group(1).expandtabs(4)) // 4
            body = _inline(line[bullet.end() :], viewer)
            marker = html.escape(bullet.group(2))
            out.append(
                f'<span class="li depth-{min(depth, 3)}"><span class="marker">{marker}</span>'
                f"{body}</span>"
            )
            continue
        out.append(_inline(line, viewer))
        if number < len(lines) - 1:
            out.append("<br>")
    flush()
    return "".join(out)


def _inline(text: str, viewer: Viewer) -> str:
    """One line: special sequences become placeholders, the rest is escaped, then styled."""
    pieces: list[str] = []

    def hold(rendered: str) -> str:
        pieces.append(rendered)
        return f"\x00{len(pieces) - 1}\x00"

    def token(match: re.Match[str]) -> str:
        special, code, emoji = match.groups()
        if special is not None:
            return hold(_special(special, viewer))
        if code is not None:
            return hold(f"<code>{html.escape(_unescape(code))}</code>")
        name = str(emoji)
        return hold(EMOJI[name]) if name in EMOJI else match.group(0)

    held = _TOKEN.sub(token, text)
    styled = html.escape(_unescape(held))
    for pattern, tag in _STYLES:
        styled = pattern.sub(rf"<{tag}>\1</{tag}>", styled)
    return _PLACEHOLDER.sub(lambda m: pieces[int(m.group(1))], styled)


def _special(inner: str, viewer: Viewer) -> str:
    """`<@U1>`, `<#C1|name>`, `<!subteam^S1>`, `<!date^…>`, `<!here>`, `<url|label>`."""
    target, _, label = inner.partition("|")
    label = _unescape(label)
    if target.startswith("@"):
        user = target[1:]
        name = viewer.users.get(user) or label.lstrip("@") or user
        return f'<span class="mention" data-user="{html.escape(user)}">@{html.escape(name)}</span>'
    if target.startswith("#"):
        channel = target[1:]
        name = viewer.channels.get(channel) or label or channel
        return (
            f'<a class="mention" href="#" data-goto="{html.escape(channel)}">'
            f"#{html.escape(name)}</a>"
        )
    if target.startswith("!subteam^"):
        group = target[len("!subteam^") :]
        name = viewer.usergroups.get(group) or label.lstrip("@") or group
        return f'<span class="mention">@{html.escape(name)}</span>'
    if target.startswith("!date^"):
        return f'<time class="date">{html.escape(_date(target, label, viewer))}</time>'
    if target in ("!here", "!channel", "!everyone"):
        return f'<span class="mention">@{target[1:]}</span>'
    return _link(_unescape(target), label, viewer)


def _link(url: str, label: str, viewer: Viewer) -> str:
    text = html.escape(label or url)
    parts = urlsplit(url)
    if parts.scheme.lower() not in SAFE_SCHEMES:
        return text
    if parts.netloc == f"{viewer.team_domain}.slack.com":
        local = _local_link(parts.path, parts.query)
        if local is not None:
            return f"<a {local}>{text}</a>"
    return f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">{text}</a>'


def _local_link(path: str, query: str) -> str | None:
    """Slack's own links (a message's permalink, a file's page), opened inside the page."""
    message = re.fullmatch(r"/archives/(\w+)/p(\d{10})(\d{6})", path)
    if message:
        channel, seconds, micros = message.groups()
        thread = parse_qs(query).get("thread_ts", [f"{seconds}.{micros}"])[0]
        return (
            f'href="#" data-goto="{html.escape(channel)}" '
            f'data-thread="{html.escape(thread)}" class="permalink"'
        )
    file = re.fullmatch(r"/files/\w+/(\w+)/[^/]*", path)
    if file:
        return f'href="/files/{html.escape(file.group(1))}" download'
    return None


def _date(target: str, fallback: str, viewer: Viewer) -> str:
    """`!date^<seconds>^<format>[^<link>]`, in the viewer's zone, as Slack's client shows it."""
    parts = target.split("^")
    try:
        instant = datetime.fromtimestamp(int(parts[1]), UTC).astimezone(ZoneInfo(viewer.tz))
    except (IndexError, ValueError, OverflowError):
        return fallback
    today = viewer.now.astimezone(ZoneInfo(viewer.tz)).date()
    fmt = parts[2] if len(parts) > 2 else "{date}"

    def replace(match: re.Match[str]) -> str:
        token = match.group(1)
        render = _DATE_TOKENS.get(token.removesuffix("_pretty"))
        if render is None:
            return match.group(0)
        if token.endswith("_pretty"):
            relative = {0: "today", -1: "yesterday", 1: "tomorrow"}.get(
                (instant.date() - today).days
            )
            if relative is not None:
                return relative.capitalize() if match.start() == 0 else relative
        return render(instant)

    return re.sub(r"\{(\w+)\}", replace, fmt)


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _clock(instant: datetime, *, seconds: bool = False) -> str:
    shown = instant.strftime("%I:%M:%S %p" if seconds else "%I:%M %p")
    return shown.lstrip("0")


_DATE_TOKENS: Mapping[str, Callable[[datetime], str]] = {
    "date_num": lambda d: d.strftime("%Y-%m-%d"),
    "date_slash": lambda d: d.strftime("%m/%d/%Y"),
    "date": lambda d: f"{d:%B} {_ordinal(d.day)}, {d.year}",
    "date_short": lambda d: f"{d:%b} {d.day}, {d.year}",
    "date_long": lambda d: f"{d:%A}, {d:%B} {_ordinal(d.day)}, {d.year}",
    "time": _clock,
    "time_secs": lambda d: _clock(d, seconds=True),
}


def _unescape(text: str) -> str:
    """Slack's three escapes, back to the characters they stand for."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _emoji_codes(escaped: str) -> str:
    return re.sub(r":([a-z0-9_+-]+):", lambda m: EMOJI.get(m.group(1), m.group(0)), escaped)


def when(instant: datetime, tz: str) -> str:
    """A message's time as the page shows it: `Mon 23 Nov, 09:30`."""
    local = instant.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


def ts_instant(ts: str) -> datetime:
    """A Slack message timestamp as an instant."""
    return datetime.fromtimestamp(float(ts), UTC)


def offset_label(offset: timedelta) -> str:
    """How far the sandbox's clock is ahead of the wall clock: `+2 d 3 h`."""
    minutes = int(offset.total_seconds() // 60)
    if minutes <= 0:
        return "real time"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min"]
    shown = [p for p in parts if p][:2] if days or hours else [parts[2]]
    return "+" + " ".join(p for p in shown if p)
