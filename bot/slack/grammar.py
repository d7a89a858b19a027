"""The words after `/learn …`: targets, days, times and dates, escaped (`<#C1|x>`) or plain."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time

from bot.domain.numbers import number_between, whole_number
from bot.domain.schedule import MAX_START_AHEAD, Days, Target, TargetKind, parse_time
from bot.services.scheduling import ScheduleRequest

SCHEDULE_USAGE = (
    "/learn schedule <course> to <targets> [every <days>] [at <HH:MM>] [from <YYYY-MM-DD>] "
    "[discuss in <#channel>]"
)
SEND_USAGE = "/learn send <lesson-or-course> to <targets>"
REPORT_USAGE = "/learn report <course> [for <targets>] [since <YYYY-MM-DD>]"
TARGETS_HELP = (
    "Targets: `#channel` (post there), `@person`, `@usergroup`, `members of #channel` (DM each "
    "member). Days: `day`, `weekdays` or a list like `mon,wed,fri`."
)

_ESCAPED = re.compile(r"<(#|@|!subteam\^)([A-Z0-9]{1,32})(?:\|([^>]*))?>")
_MAX_NAME = 80  # Slack's longest channel name
_KEYWORDS = ("every", "at", "from", "discuss")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class UsageError(ValueError):
    """What was wrong with the command, in words for the person who typed it."""


@dataclass(frozen=True)
class SendRequest:
    address: str
    targets: tuple[Target, ...]


def _tokens(text: str) -> list[str]:
    # Escaped mentions never contain spaces in their id part, but their label may: keep them whole.
    protected = _ESCAPED.sub(lambda m: m.group(0).replace(" ", "\u0000"), text)
    return [token.replace("\u0000", " ") for token in protected.replace(",", " ").split()]


def parse_target(token: str) -> Target:
    """One mention: `<#C1|general>`, `<@U1|ann>`, `<!subteam^S1|@team>`, `#general`, `@ann`."""
    match = _ESCAPED.fullmatch(token)
    if match:
        mark, ident, label = match.groups()
        label = (label or "").lstrip("@#")
        if mark == "#":
            return Target(TargetKind.CHANNEL, ident, label)
        if mark == "@":
            return Target(TargetKind.USER, ident, label)
        return Target(TargetKind.USERGROUP, ident, label)
    if len(token) > _MAX_NAME + 1:
        raise UsageError(f"`{token[:20]}…` is too long to be a channel, a person or a group.")
    if token.startswith("#") and len(token) > 1:
        return Target(TargetKind.CHANNEL, None, token[1:].lower())
    if token.startswith("@") and len(token) > 1:
        return Target(TargetKind.USER, None, token[1:].lower())
    raise UsageError(
        f"`{token}` is not a target. Mention a channel (`#team`), a person or a user group "
        "(`@ann`, `@design`), or write `members of #team`."
    )


def parse_targets(tokens: list[str]) -> tuple[Target, ...]:
    targets: list[Target] = []
    index = 0
    while index < len(tokens):
        word = tokens[index]
        if word.lower() == "and":
            index += 1
            continue
        if (
            word.lower() == "members"
            and index + 1 < len(tokens)
            and tokens[index + 1].lower() == "of"
        ):
            if index + 2 >= len(tokens):
                raise UsageError("`members of` needs a channel after it, like `members of #team`.")
            channel = parse_target(tokens[index + 2])
            if channel.kind is not TargetKind.CHANNEL:
                raise UsageError("`members of` takes a channel, like `members of #team`.")
            targets.append(Target(TargetKind.MEMBERS, channel.id, channel.name))
            index += 3
            continue
        targets.append(parse_target(word))
        index += 1
    if not targets:
        raise UsageError(
            "Say who gets it after `to`: a #channel, @people, or `members of #channel`."
        )
    return tuple(dict.fromkeys(targets))


def _split_on_to(text: str) -> tuple[str, list[str]]:
    tokens = _tokens(text)
    if not tokens:
        raise UsageError("Which course, and to whom?")
    if len(tokens) < 2 or tokens[1].lower() != "to":
        raise UsageError(f"Expected `to` after `{tokens[0]}`.")
    return tokens[0], tokens[2:]


def parse_schedule(text: str, *, today: date) -> ScheduleRequest:
    course, rest = _split_on_to(text)
    sections: dict[str, list[str]] = {"to": []}
    current = "to"
    index = 0
    while index < len(rest):
        word = rest[index].lower()
        if word in _KEYWORDS and not rest[index].startswith(("#", "@", "<")):
            if word == "discuss":
                if index + 1 >= len(rest) or rest[index + 1].lower() != "in":
                    raise UsageError("Write `discuss in #channel`.")
                index += 1
            if word in sections:
                raise UsageError(f"`{word}` appears twice.")
            current = word
            sections[current] = []
        else:
            sections[current].append(rest[index])
        index += 1
    targets = parse_targets(sections["to"])
    days = Days()
    if "every" in sections:
        try:
            days = Days.parse(" ".join(sections["every"]))
        except ValueError as error:
            raise UsageError(
                f"{error}. After `every`, write `day`, `weekdays` or days like `mon,wed,fri`."
            ) from None
    at: time | None = None
    if "at" in sections:
        at = _time(sections["at"])
    start: date | None = None
    if "from" in sections:
        start = _date(sections["from"], today=today)
    discuss: Target | None = None
    if "discuss" in sections:
        if len(sections["discuss"]) != 1:
            raise UsageError("`discuss in` takes one channel, like `discuss in #learning`.")
        discuss = parse_target(sections["discuss"][0])
        if discuss.kind is not TargetKind.CHANNEL:
            raise UsageError("`discuss in` takes a channel, like `discuss in #learning`.")
    return ScheduleRequest(course.lower(), targets, days, at, start, discuss)


@dataclass(frozen=True)
class ReportRequest:
    course: str
    targets: tuple[Target, ...] = ()
    since: date | None = None


def parse_report(text: str, *, today: date) -> ReportRequest:
    """`<course> [for <targets>] [since <YYYY-MM-DD>]`, in either order after the course."""
    tokens = _tokens(text)
    if not tokens:
        raise UsageError("Which course? `/learn courses` lists them.")
    sections: dict[str, list[str]] = {}
    current = ""
    for token in tokens[1:]:
        word = token.lower()
        if word in ("for", "since"):
            if word in sections:
                raise UsageError(f"`{word}` appears twice.")
            current = word
            sections[current] = []
        elif not current:
            raise UsageError(f"Expected `for` or `since` after the course, not `{token}`.")
        else:
            sections[current].append(token)
    targets: tuple[Target, ...] = ()
    if "for" in sections:
        targets = parse_targets(sections["for"])
    since = None
    if "since" in sections:
        words = sections["since"]
        text = " ".join(words)
        try:
            if not _ISO_DATE.fullmatch(text):
                raise ValueError(text)
            since = date.fromisoformat(text)
        except ValueError:
            raise UsageError(
                f"`{text}` is not a date: use `YYYY-MM-DD`, like `2026-11-02`."
            ) from None
        if since > today:
            raise UsageError(f"`{text}` is in the future: give the first day to count.")
    return ReportRequest(tokens[0].lower(), targets, since)


def parse_send(text: str) -> SendRequest:
    address, rest = _split_on_to(text)
    return SendRequest(address.lower(), parse_targets(rest))


def _time(words: list[str]) -> time:
    text = "".join(words)
    try:
        return parse_time(text)
    except ValueError:
        raise UsageError(
            f"`{text}` is not a time: use 24-hour `HH:MM`, like `09:30` or `14:00`."
        ) from None


def _date(words: list[str], *, today: date) -> date:
    text = " ".join(words)
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"`{text}` is not a date: use `YYYY-MM-DD`, like `2026-12-01`.") from None
    if day > today + MAX_START_AHEAD:
        raise UsageError(f"`{text}` is too far ahead: start within a year from today.")
    return day


def parse_drip_id(text: str) -> int:
    number = whole_number(text.strip().lstrip("#"))
    if number is None:
        raise UsageError("Give the drip's number, like `3` (`/learn schedules` lists them).")
    return number


def parse_users(text: str) -> tuple[Target, ...]:
    targets = parse_targets(_tokens(text))
    for target in targets:
        if target.kind is not TargetKind.USER:
            raise UsageError("Mention people, like `@ann`.")
    return targets


def parse_days_count(text: str, *, default: int = 1, most: int = 90) -> int:
    word = text.strip().lower().removesuffix("days").removesuffix("day").strip()
    if not word:
        return default
    days = number_between(word, 1, most)
    if days is None:
        raise UsageError(f"Snooze for a number of days from 1 to {most}, like `/learn snooze 7`.")
    return days


# -- leaderboards (issue 15 item 5) ----------------------------------------------------------------

LEADERBOARD_USAGE = "/learn leaderboard [<course>] [week|month|all]"
_PERIODS = ("week", "month", "all")
_COURSE_ID = re.compile(r"[a-z0-9-]{1,100}")


@dataclass(frozen=True)
class LeaderboardRequest:
    course: str | None = None
    period: str = "week"


def parse_leaderboard(text: str) -> LeaderboardRequest:
    """`[<course>] [week|month|all]`, in either order; nothing: this week, all courses."""
    course: str | None = None
    period: str | None = None
    for word in text.lower().split():
        if word in _PERIODS:
            if period is not None:
                raise UsageError("Give one period: `week`, `month` or `all`.")
            period = word
        elif course is None and _COURSE_ID.fullmatch(word):
            course = word
        else:
            shown = word.replace("`", "'")
            shown = shown if len(shown) <= 40 else shown[:40] + "…"
            raise UsageError(
                f"`{shown}` is neither a course nor a period (`week`, `month`, `all`)."
            )
    return LeaderboardRequest(course, period or "week")
