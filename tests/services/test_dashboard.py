"""App Home's dashboard as services: refreshes coalesced per person, a lead's drip progress."""

from __future__ import annotations

import pytest

from bot.services.dashboard import HomeWatch
from bot.slack.render_home import progress_bar


def test_a_refresh_happens_only_for_a_published_home() -> None:
    watch = HomeWatch()
    calls: list[str] = []
    assert not watch.refresh("T1", "U1", lambda: calls.append("U1"))
    watch.published("T1", "U1")
    assert watch.refresh("T1", "U1", lambda: calls.append("U1"))
    assert not watch.refresh("T1", "U2", lambda: calls.append("U2"))
    assert not watch.refresh("T2", "U1", lambda: calls.append("T2"))
    assert calls == ["U1"]


def test_refreshes_asked_for_during_one_fold_into_one_more() -> None:
    watch = HomeWatch()
    watch.published("T1", "U1")
    calls: list[int] = []

    def publish() -> None:
        calls.append(len(calls))
        if len(calls) == 1:  # three more answers arrive while the first refresh publishes
            for _ in range(3):
                assert watch.refresh("T1", "U1", publish)

    watch.refresh("T1", "U1", publish)
    assert calls == [0, 1]
    watch.refresh("T1", "U1", publish)  # and the next one runs again
    assert calls == [0, 1, 2]


def test_a_failed_publish_leaves_no_refresh_stuck() -> None:
    watch = HomeWatch()
    watch.published("T1", "U1")

    def failing() -> None:
        raise RuntimeError("slack is down")

    with pytest.raises(RuntimeError):
        watch.refresh("T1", "U1", failing)
    calls: list[int] = []
    assert watch.refresh("T1", "U1", lambda: calls.append(1))
    assert calls == [1]


def test_only_the_most_recent_homes_are_remembered() -> None:
    watch = HomeWatch(remember=2)
    for user in ("U1", "U2", "U3"):
        watch.published("T1", user)
    calls: list[str] = []
    for user in ("U1", "U2", "U3"):
        watch.refresh("T1", user, lambda user=user: calls.append(user))  # type: ignore[misc]
    assert calls == ["U2", "U3"]


@pytest.mark.parametrize(
    ("done", "total", "bar"),
    [
        (0, 6, "▱▱▱▱▱▱▱▱▱▱"),
        (3, 6, "▰▰▰▰▰▱▱▱▱▱"),
        (6, 6, "▰▰▰▰▰▰▰▰▰▰"),
        (7, 6, "▰▰▰▰▰▰▰▰▰▰"),
        (0, 0, "▱▱▱▱▱▱▱▱▱▱"),
    ],
)
def test_the_progress_bar(done: int, total: int, bar: str) -> None:
    assert progress_bar(done, total) == bar
