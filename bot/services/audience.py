"""Whose learners a lead sees: the people their drips and sends reached, narrowed on request.

A learner is "reached" by a DM lesson sent to them, or by a channel post they answered or
marked done. A lead sees the learners their own drips and sends reached; an admin sees
everyone. `for <targets>` keeps the people among those targets (and those reached through a
named channel's posts); `since` drops what happened before a day. Within a course, everything a
reached learner did counts (a review answer too), from `since` on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.storage.insights import AnswerFact, CompletionFact, SentLesson


@dataclass(frozen=True)
class Narrowing:
    """`for <targets>` resolved: people to keep, and channels whose posts to keep."""

    users: frozenset[str]
    channels: frozenset[str]
    label: str


@dataclass(frozen=True)
class Audience:
    """The learners a report covers (None: everyone), the deliveries it counts, and since when."""

    learners: frozenset[str] | None
    deliveries: tuple[SentLesson, ...]
    since: datetime | None
    label: str  # "your learners", "everyone's learners", with for/since

    def counts(self, user_id: str, at: datetime) -> bool:
        """Whether something a person did at `at` belongs in the report."""
        in_time = self.since is None or at >= self.since
        return in_time and (self.learners is None or user_id in self.learners)


def audience(
    *,
    deliveries: Iterable[SentLesson],
    answers: Iterable[AnswerFact],
    completions: Iterable[CompletionFact],
    owner: str | None,
    narrowing: Narrowing | None = None,
    since: datetime | None = None,
    since_label: str = "",
) -> Audience:
    """The audience of `owner`'s drips and sends (None: every lead's), narrowed and dated."""
    mine = [d for d in deliveries if owner is None or d.owner == owner]
    by_delivery: dict[int, set[str]] = {}
    facts: list[AnswerFact | CompletionFact] = [*answers, *completions]
    for fact in facts:
        if fact.delivery_id is not None:
            by_delivery.setdefault(fact.delivery_id, set()).add(fact.user_id)
    learners: set[str] = set()
    kept: list[SentLesson] = []
    for delivery in mine:
        people = _reached(delivery, by_delivery, narrowing)
        if people is None:
            continue
        learners |= people
        kept.append(delivery)
    everyone = owner is None and narrowing is None
    return Audience(
        learners=None if everyone else frozenset(learners),
        deliveries=tuple(kept),
        since=since,
        label=_label(owner=owner, narrowing=narrowing, since=since, since_label=since_label),
    )


def _reached(
    delivery: SentLesson, by_delivery: dict[int, set[str]], narrowing: Narrowing | None
) -> set[str] | None:
    """Who a delivery reached, among the narrowing's people; None: it falls outside it."""
    if delivery.recipient_kind == "dm":
        people = {delivery.recipient}
    else:
        people = by_delivery.get(delivery.id, set())
    if narrowing is None:
        return people
    if delivery.recipient_kind == "channel" and delivery.recipient in narrowing.channels:
        return people  # a named channel: everyone who took part in its posts
    people = people & narrowing.users
    return people or None


def _label(
    *, owner: str | None, narrowing: Narrowing | None, since: datetime | None, since_label: str
) -> str:
    words = [
        "everyone's learners" if owner is None else "the learners your drips and sends reached"
    ]
    if narrowing is not None:
        words.append(f"among {narrowing.label}")
    if since is not None:
        words.append(f"since {since_label or since.date().isoformat()}")
    return " ".join(words)
