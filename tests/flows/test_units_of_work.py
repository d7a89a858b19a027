"""Each multi-step use case commits once: a failure between its steps leaves all of it or none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.storage.db import Database
from bot.storage.enrolments import EnrolmentRepository
from bot.storage.models import metadata
from bot.storage.outbox import Outbox
from tests.standin import SlackStandIn
from tests.support.harness import Bot


class Injected(RuntimeError):
    """The failure a test injects between two steps of a use case (a crash, a lost connection)."""


def counts(db: Database) -> dict[str, int]:
    """Rows in the tables a drip's use cases write."""
    with db.engine.connect() as connection:
        return {
            table.name: len(connection.execute(table.select()).all())
            for table in metadata.sorted_tables
            if table.name in ("drip", "enrolment", "delivery")
        }


def fail_on_call(monkeypatch: pytest.MonkeyPatch, owner: type, name: str, *, call: int) -> None:
    """Make `owner.name` raise Injected on its `call`-th call (earlier calls work)."""
    real: Callable[..., Any] = getattr(owner, name)
    calls = {"n": 0}

    def failing(self: object, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == call:
            raise Injected(f"{owner.__name__}.{name} failed")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(owner, name, failing)


def people(standin: SlackStandIn, n: int) -> list[str]:
    return [standin.add_user(f"learner{i}", tz="Europe/Berlin") for i in range(n)]


def test_schedule_failing_after_the_drip_and_enrolments_leaves_nothing_behind(
    bot: Bot, standin: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = standin.add_usergroup("team", people(standin, 3))
    before = counts(bot.db)
    # The drip and its three enrolments are written; the second welcome notice fails.
    fail_on_call(monkeypatch, Outbox, "enqueue", call=2)
    bot.driver.command(bot.lead, f"schedule security-basics to <!subteam^{team}|@team>")
    assert counts(bot.db) == before  # no drip without learners, no learner without a drip
    monkeypatch.undo()
    bot.tick()
    assert not any("enrolled you in" in str(m["text"]) for m in standin.calls("chat.postMessage"))

    reply = bot.command(bot.lead, f"schedule security-basics to <!subteam^{team}|@team>")
    assert "Scheduled" in reply or "drip" in reply.lower()
    after = counts(bot.db)
    assert after == {
        "drip": before["drip"] + 1,
        "enrolment": before["enrolment"] + 3,
        "delivery": before["delivery"] + 3,  # the three welcome notices
    }


def test_join_failing_after_the_drip_is_created_leaves_no_drip(
    bot: Bot, standin: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    (ann,) = people(standin, 1)
    before = counts(bot.db)
    fail_on_call(monkeypatch, EnrolmentRepository, "enrol", call=1)
    bot.driver.command(ann, "join security-basics")
    assert counts(bot.db) == before
    monkeypatch.undo()
    assert bot.command(ann, "join security-basics").startswith(":books: You're in")
    assert counts(bot.db)["drip"] == before["drip"] + 1
    assert counts(bot.db)["enrolment"] == before["enrolment"] + 1


def test_a_member_joining_commits_the_enrolment_with_its_welcome_or_neither(
    bot: Bot, standin: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    (ann,) = people(standin, 1)
    eng = standin.add_channel("eng", members=[ann])
    bot.command(bot.lead, f"schedule security-basics to members of <#{eng}|eng>")
    newcomer = standin.add_user("newbie", tz="America/New_York")
    standin.add_member(eng, newcomer)
    before = counts(bot.db)
    fail_on_call(monkeypatch, Outbox, "enqueue", call=1)  # the welcome notice fails
    bot.driver.join(newcomer, eng)
    assert counts(bot.db) == before
    monkeypatch.undo()
    bot.driver.join(newcomer, eng)  # Slack retries the event: now it all lands, once
    assert counts(bot.db)["enrolment"] == before["enrolment"] + 1
    assert counts(bot.db)["delivery"] == before["delivery"] + 1
    bot.tick()
    welcome = [m for m in standin.messages(newcomer) if "enrolled you in" in str(m["text"])]
    assert len(welcome) == 1
