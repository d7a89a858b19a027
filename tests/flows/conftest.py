from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from bot.services import charts, digests, lead_reports
from tests.standin import SlackStandIn
from tests.support.harness import Bot, running_bot

Chart = TypeVar("Chart", charts.DigestChart, charts.ReportChart)


def _drawn_once(draw: Callable[[Chart], bytes]) -> Callable[[Chart], bytes]:
    """`draw`, remembering each chart's PNG for this process: a chart is a frozen dataclass of
    its numbers and `png` leaves out whatever differs between runs, so the same numbers give
    the same bytes. Many flows build the same week or report (`a_week_of_learning` in
    test_digest gives every test there Ann's same digest); each distinct chart is still drawn,
    by the product's own function, the first time it is asked for."""
    drawn: dict[Chart, bytes] = {}

    def once(chart: Chart) -> bytes:
        png = drawn.get(chart)
        if png is None:
            png = drawn[chart] = draw(chart)
        return png

    return once


_DIGEST_PNG = _drawn_once(charts.digest_png)
_REPORT_PNG = _drawn_once(charts.report_png)


@pytest.fixture(autouse=True)
def _charts_drawn_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digests, "digest_png", _DIGEST_PNG)
    monkeypatch.setattr(lead_reports, "report_png", _REPORT_PNG)


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as server:
        yield server


@pytest.fixture
def bot(standin: SlackStandIn, database_url: str, shipped_lessons: None) -> Iterator[Bot]:
    with running_bot(standin, database_url, synced=True) as running:
        yield running
