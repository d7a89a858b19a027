"""Whatever follows `/learn …`, the grammar answers with a result or a UsageError, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.slack import grammar
from bot.slack.grammar import UsageError

TODAY = date(2026, 11, 23)
WORDS = [
    "to",
    "every",
    "at",
    "from",
    "discuss",
    "in",
    "members",
    "of",
    "and",
    "day",
    "weekdays",
    "mon,wed",
    "mon-fri",
    "funday",
    "#general",
    "#",
    "@",
    "@ann",
    "<#C1|general>",
    "<@U1|ann>",
    "<!subteam^S1|@team>",
    "<#c1>",
    "<@>",
    "09:30",
    "9:5",
    "25:00",
    "9am",
    "²",
    "٣",
    "7",
    "99999999999999999999",
    "2026-12-01",
    "9999-12-31",
    "31-12-2026",
    "2026-13-01",
    "security-basics",
    "x" * 200,
    ",",
    "<",
    ">",
    "|",
    "\u0000",
]
commands = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=200),
    st.lists(st.sampled_from(WORDS) | st.text(max_size=12), max_size=14).map(" ".join),
)

PARSERS: dict[str, Callable[[str], Any]] = {
    "schedule": lambda text: grammar.parse_schedule(text, today=TODAY),
    "send": grammar.parse_send,
    "drip id": grammar.parse_drip_id,
    "days count": grammar.parse_days_count,
    "users": grammar.parse_users,
    "target": grammar.parse_target,
}


@pytest.mark.parametrize("parse", PARSERS.values(), ids=PARSERS.keys())
@settings(max_examples=150, derandomize=True, database=None, deadline=None)
@given(text=commands)
@example(text="²")  # the inputs that once ended in a traceback
@example(text="99999999999999999999")
@example(text="security-basics to #general from 9999-12-31")
@example(text="security-basics to @@")
def test_any_text_parses_or_says_what_was_wrong(parse: Callable[[str], Any], text: str) -> None:
    try:
        parse(text)
    except UsageError as error:
        assert str(error)  # a message for the person who typed it
