"""Whose learners a report covers: DM recipients, people who took part in channel posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.services.audience import Narrowing, audience
from bot.storage.insights import AnswerFact, CompletionFact, SentLesson

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def sent(ident: int, recipient: str, kind: str, owner: str) -> SentLesson:
    return SentLesson(ident, "habits", "pick", recipient, kind, None, owner, "sent", AT, AT)


def answered(user: str, delivery: int, days: int = 0) -> AnswerFact:
    at = AT + timedelta(days=days)
    return AnswerFact(user, "habits", "pick", 1, "single", "0", True, 1, delivery, at)


DELIVERIES = [
    sent(1, "U1", "dm", "ANN"),
    sent(2, "C1", "channel", "ANN"),  # Ann's post in #one
    sent(3, "U2", "dm", "BOB"),
    sent(4, "C2", "channel", "BOB"),
]
ANSWERS = [answered("U1", 1), answered("U3", 2), answered("U4", 4), answered("U2", 3, days=2)]
DONE = [CompletionFact("U5", "habits", "pick", 2, AT)]  # pressed Done under Ann's post


def test_a_lead_reaches_dm_recipients_and_whoever_took_part_in_their_channel_posts() -> None:
    ann = audience(deliveries=DELIVERIES, answers=ANSWERS, completions=DONE, owner="ANN")
    assert ann.learners == frozenset({"U1", "U3", "U5"})
    assert [d.id for d in ann.deliveries] == [1, 2]
    assert ann.counts("U3", AT) and not ann.counts("U4", AT)
    bob = audience(deliveries=DELIVERIES, answers=ANSWERS, completions=DONE, owner="BOB")
    assert bob.learners == frozenset({"U2", "U4"})


def test_an_admin_sees_everyone_unless_narrowed() -> None:
    everyone = audience(deliveries=DELIVERIES, answers=ANSWERS, completions=DONE, owner=None)
    assert everyone.learners is None and everyone.counts("U9", AT)
    assert everyone.label == "everyone's learners"
    channel = Narrowing(users=frozenset(), channels=frozenset({"C1"}), label="#one")
    narrowed = audience(
        deliveries=DELIVERIES, answers=ANSWERS, completions=DONE, owner=None, narrowing=channel
    )
    assert narrowed.learners == frozenset({"U3", "U5"})
    assert narrowed.label == "everyone's learners among #one"


def test_for_people_keeps_them_and_since_drops_what_came_before() -> None:
    people = Narrowing(users=frozenset({"U3", "U2"}), channels=frozenset(), label="@three")
    mine = audience(
        deliveries=DELIVERIES, answers=ANSWERS, completions=DONE, owner="ANN", narrowing=people
    )
    assert mine.learners == frozenset({"U3"})  # U2 is Bob's
    later = audience(
        deliveries=DELIVERIES,
        answers=ANSWERS,
        completions=DONE,
        owner="BOB",
        since=AT + timedelta(days=1),
        since_label="2026-11-24",
    )
    assert later.learners == frozenset({"U2", "U4"})  # reached before, counted from the day on
    assert later.counts("U2", AT + timedelta(days=2)) and not later.counts("U4", AT)
    assert later.label == "the learners your drips and sends reached since 2026-11-24"
