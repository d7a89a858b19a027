from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.standin import SlackStandIn
from tests.support.harness import Bot, running_bot


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as server:
        yield server


@pytest.fixture
def bot(standin: SlackStandIn, database_url: str, shipped_lessons: None) -> Iterator[Bot]:
    with running_bot(standin, database_url) as running:
        yield running
