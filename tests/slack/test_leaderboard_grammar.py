"""`/learn leaderboard [<course>] [week|month|all]`: a request or a UsageError, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.slack import grammar
from bot.slack.grammar import LeaderboardRequest, UsageError

WORDS = ["week", "month", "all", "WEEK", "security-basics", "x" * 101, "`", "a`b", "é", "#1", ""]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", LeaderboardRequest(None, "week")),
        ("month", LeaderboardRequest(None, "month")),
        ("security-basics", LeaderboardRequest("security-basics", "week")),
        ("ALL Security-Basics", LeaderboardRequest("security-basics", "all")),
    ],
)
def test_course_and_period_in_either_order(text: str, expected: LeaderboardRequest) -> None:
    assert grammar.parse_leaderboard(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("week month", "one period"),
        ("a b", "`b` is neither a course nor a period"),
        ("`rm`", "`'rm'` is neither"),
        ("x" * 200, "…` is neither"),
    ],
)
def test_mistakes_say_what_was_wrong(text: str, says: str) -> None:
    with pytest.raises(UsageError, match=None) as raised:
        grammar.parse_leaderboard(text)
    assert says in str(raised.value)


@given(st.lists(st.sampled_from(WORDS) | st.text(max_size=30), max_size=4).map(" ".join))
def test_any_text_gives_a_request_or_a_usage_error(text: str) -> None:
    try:
        request = grammar.parse_leaderboard(text)
    except UsageError as error:
        assert len(str(error)) < 200 and "`" in str(error)
        return
    assert request.period in ("week", "month", "all")
    assert request.course is None or len(request.course) <= 100
