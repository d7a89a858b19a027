"""What the points ledger adds to storing an answer: the answer path's insert, with and without
its ledger row, timed in process on one connection (no HTTP, no Slack).

    .venv/bin/python bench/points_cost.py --db both --answers 2000

Rounds alternate (without, with, without, with) so a change in machine load hits both alike.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.content.loader import load_catalog  # noqa: E402
from bot.domain import points  # noqa: E402
from bot.storage import migrate  # noqa: E402
from bot.storage.answers import AnswerRepository  # noqa: E402
from bot.storage.content import ContentRepository  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.outbox import Outbox  # noqa: E402
from tests.support.databases import scratch_database  # noqa: E402

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def run(dialect: str, answers: int) -> None:
    with scratch_database(dialect, prefix="microlearn_points_cost") as url:
        db = Database(url)
        try:
            migrate.upgrade(db)
            ContentRepository(db).sync(load_catalog(ROOT / "lessons").catalog, now=NOW)
            outbox = Outbox(db)
            outbox.enqueue(
                team_id="T1",
                dedupe_key="bench",
                kind="lesson",
                recipient="U1",
                recipient_kind="dm",
                due_at=NOW,
                now=NOW,
                lesson=("security-basics", "spot-phishing"),
            )
            [delivery] = outbox.deliveries()
            repository = AnswerRepository(db)
            ref = repository.question(delivery.id, 1)
            assert ref is not None
            award = points.for_answer(question=ref.question_id, attempt=1, correct=True)
            times: dict[str, list[float]] = {"without points": [], "with points": []}
            for round_number, label in enumerate(list(times) * 2):
                for index in range(answers):
                    start = time.perf_counter()
                    repository.record(
                        team_id="T1",
                        user_id=f"U{round_number}-{index}",
                        ref=ref,
                        choice="1",
                        correct=True,
                        channel_id="D1",
                        message_ts="1.0",
                        now=NOW,
                        award=award if label == "with points" else None,
                    )
                    times[label].append(time.perf_counter() - start)
            for label, found in times.items():
                found.sort()
                print(
                    f"{dialect}: {label}: p50 {statistics.median(found) * 1000:.3f} ms, "
                    f"p99 {found[int(len(found) * 0.99)] * 1000:.3f} ms ({len(found)} answers)"
                )
        finally:
            db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--answers", type=int, default=2000, help="answers per round (4 rounds)")
    options = parser.parse_args()
    for dialect in ("sqlite", "postgresql") if options.db == "both" else (options.db,):
        run(dialect, options.answers)


if __name__ == "__main__":
    main()
