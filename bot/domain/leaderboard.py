"""Leaderboards: the period's window, the top by points with shared ranks, and the viewer's place.

Ranks are shared: people with equal points share a rank and the next rank skips (1, 2, 2, 4);
within a rank people are listed by user id, so the order never depends on input order, and the
top is cut at exactly `size` places. People with no points in the period are not ranked.
Hidden people are left out completely: never listed and not counted in anyone's rank, so no
one can infer them from a gap. A hidden viewer still learns their own standing: their rank is
where they would be among the visible people, though they are never listed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.periods import Window, month_of, week_of

TOP = 10


class Period(StrEnum):
    WEEK = "week"  # the ISO week, in the viewer's zone (the default)
    MONTH = "month"
    ALL = "all"


def period_window(period: Period, *, now: datetime, tz: ZoneInfo) -> Window:
    """The instants a leaderboard of `period` counts points from, in the viewer's calendar."""
    if period is Period.WEEK:
        return week_of(now, tz)
    if period is Period.MONTH:
        return month_of(now, tz)
    return Window()


@dataclass(frozen=True)
class Score:
    """A person's points in the period, and whether they hide from leaderboards."""

    user_id: str
    points: int
    hidden: bool = False


@dataclass(frozen=True)
class Place:
    rank: int
    user_id: str
    points: int


@dataclass(frozen=True)
class Board:
    top: tuple[Place, ...]
    you: Place | None  # None when the viewer has no points in the period
    ranked: int  # how many visible people have points


def leaderboard(scores: Iterable[Score], *, viewer: str, size: int = TOP) -> Board:
    """The top `size` visible people by points, the viewer's own place, and how many are ranked."""
    everyone = list(scores)
    if len({score.user_id for score in everyone}) != len(everyone):
        raise ValueError("one score per person")
    visible = sorted(
        (s for s in everyone if s.points > 0 and not s.hidden),
        key=lambda s: (-s.points, s.user_id),
    )
    places = _ranked(visible)
    return Board(
        top=tuple(places[:size]), you=_your_place(everyone, visible, viewer), ranked=len(places)
    )


def _ranked(visible: list[Score]) -> list[Place]:
    """Places in order; people with equal points share the rank of the first of them."""
    places: list[Place] = []
    for index, score in enumerate(visible):
        tied = bool(places) and places[-1].points == score.points
        rank = places[-1].rank if tied else index + 1
        places.append(Place(rank=rank, user_id=score.user_id, points=score.points))
    return places


def _your_place(everyone: list[Score], visible: list[Score], viewer: str) -> Place | None:
    """The viewer's place among the visible, hidden or not; None without points."""
    mine = next((s for s in everyone if s.user_id == viewer and s.points > 0), None)
    if mine is None:
        return None
    ahead = sum(1 for s in visible if s.points > mine.points and s.user_id != viewer)
    return Place(rank=ahead + 1, user_id=viewer, points=mine.points)
