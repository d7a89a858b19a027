"""AfterAnswer: the discussion invite and the App Home refresh follow an answer or Done.

The invite only for a DM lesson just completed; Home refreshed when something changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bot.services.after_answer import AfterAnswer
from bot.services.discussions import DiscussionService
from bot.services.quiz import Answered, Done, QuizService

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@dataclass
class Recorded:
    """The fakes' calls, in order."""

    calls: list[tuple[str, Any]] = field(default_factory=list)
    completes: bool = False

    def after_answer(self, answered: Answered, *, user_id: str, now: datetime) -> bool:
        self.calls.append(("after_answer", user_id))
        return self.completes and answered.recorded

    def invite(self, *, team_id: str, user_id: str, delivery_id: int, now: datetime) -> bool:
        self.calls.append(("invite", (team_id, user_id, delivery_id)))
        return True

    def refresh(self, team_id: str, user_id: str) -> None:
        self.calls.append(("home", (team_id, user_id)))


def _after(recorded: Recorded) -> AfterAnswer:
    return AfterAnswer(
        quiz=cast(QuizService, recorded),
        discussions=cast(DiscussionService, recorded),
        homes=recorded,
    )


def _answered(*, recorded: bool = True, drip_id: int | None = 7) -> Answered:
    ref = SimpleNamespace(team_id="T1", delivery_id=42, drip_id=drip_id)
    return cast(Answered, SimpleNamespace(ref=ref, recorded=recorded))


def test_an_answer_that_completes_a_dm_lesson_invites_to_its_discussion_then_refreshes_home() -> (
    None
):
    recorded = Recorded(completes=True)
    _after(recorded).settle(_answered(), user_id="U1", in_dm=True, now=NOW)
    assert recorded.calls == [
        ("after_answer", "U1"),
        ("invite", ("T1", "U1", 42)),
        ("home", ("T1", "U1")),
    ]


@pytest.mark.parametrize(
    ("completes", "in_dm", "drip_id"),
    [
        (False, True, 7),  # more questions to go
        (True, False, 7),  # a channel's lesson: its thread is where it is discussed
        (True, True, None),  # a lesson sent once (`/learn send`) has no drip, so no thread
    ],
)
def test_no_invite_unless_a_dm_drip_lesson_was_just_completed(
    completes: bool, in_dm: bool, drip_id: int | None
) -> None:
    recorded = Recorded(completes=completes)
    _after(recorded).settle(_answered(drip_id=drip_id), user_id="U1", in_dm=in_dm, now=NOW)
    assert recorded.calls == [("after_answer", "U1"), ("home", ("T1", "U1"))]


def test_a_repeated_click_changes_nothing_and_leaves_home_alone() -> None:
    recorded = Recorded(completes=True)
    _after(recorded).settle(_answered(recorded=False), user_id="U1", in_dm=True, now=NOW)
    assert recorded.calls == [("after_answer", "U1")]


@pytest.mark.parametrize(
    ("in_channel", "quiz", "invited"),
    [
        (False, (), True),  # a DM lesson without questions: Done completes it
        (False, ("a question",), False),  # with questions, answering them opens the discussion
        (True, (), False),
    ],
)
def test_done_invites_only_for_a_dm_lesson_without_a_quiz(
    in_channel: bool, quiz: tuple[str, ...], invited: bool
) -> None:
    recorded = Recorded()
    done = cast(Done, SimpleNamespace(in_channel=in_channel, lesson=SimpleNamespace(quiz=quiz)))
    _after(recorded).done(done, team_id="T1", user_id="U1", delivery_id=42, now=NOW)
    expected: list[tuple[str, Any]] = [("invite", ("T1", "U1", 42))] if invited else []
    assert recorded.calls == [*expected, ("home", ("T1", "U1"))]
