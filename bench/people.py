"""People's data at scale: `forget` of one person, and a retention backlog, in a big database.

Run on purpose, never by the suite:

    .venv/bin/python bench/people.py [--people 2000] [--per-person 50] [--db sqlite|postgresql|both]

For each database (a temporary SQLite file; a scratch PostgreSQL database on DATABASE_URL_TEST's
server, created and dropped), migrated, then filled in bulk: `--people` learners of one workspace,
each enrolled in one drip, with `--per-person` deliveries to their DM (a notice in ten of them
mentions a lead), answers spread evenly over the last 730 days, and discussion replies likewise.

1. `microlearn forget`'s transaction (`PersonRepository.forget`) for one learner, timed, and the
   lead's (whose id is in others' rows: the drip they created, every enrolment, the notices):
   every table scanned for the forgotten ids afterwards must hold none, and everyone else's row
   counts must be unchanged.
2. Retention of 365 days as the tick runs it (`PrivacyService.expire`, one call per tick) over
   the backlog of a year of answers and replies: ticks needed, total time and the slowest tick
   (each tick is up to ten transactions of a thousand rows of each). Then one more call, which
   must delete nothing (and returns at once). Checked: exactly the rows older than 365 days went.

Exit 1 on a correctness failure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tests` is not installed

from sqlalchemy import func, insert, select
from sqlmodel import col

from bot.services.notices import Notices
from bot.services.privacy import PrivacyService
from bot.storage import migrate
from bot.storage.db import Database
from bot.storage.enrolments import EnrolmentRepository
from bot.storage.learners import LearnerRepository
from bot.storage.models import (
    Answer,
    Course,
    Delivery,
    Drip,
    DripTarget,
    Enrolment,
    Learner,
    Lesson,
    Question,
    ThreadReply,
    metadata,
)
from bot.storage.outbox import Outbox
from bot.storage.people import PersonRepository
from tests.storage.people_scan import occurrences
from tests.support.databases import (
    create_postgres_database,
    drop_postgres_database,
    postgres_test_url,
    reachable_databases,
)

TEAM = "T0BENCH"
LEAD = "U0LEAD"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SPAN = timedelta(days=730)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    failures = 0
    for kind in reachable_databases(args.db):
        with _database(kind) as db:
            failures += _run(db, kind, people=args.people, per_person=args.per_person)
    return 1 if failures else 0


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--per-person", type=int, default=50)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    return parser.parse_args(argv)


@contextmanager
def _database(kind: str) -> Iterator[Database]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="microlearn-bench-people-") as folder:
            db = Database(f"sqlite:///{folder}/bench.db")
            try:
                migrate.upgrade(db)
                yield db
            finally:
                db.dispose()
        return
    url = create_postgres_database(postgres_test_url(), prefix="microlearn_bench")
    db = Database(url)
    try:
        migrate.upgrade(db)
        yield db
    finally:
        db.dispose()
        drop_postgres_database(url)


def _user(number: int) -> str:
    return f"U{number:08d}"


def _fill(db: Database, *, people: int, per_person: int) -> None:
    with db.write() as session:
        course_id = session.execute(
            insert(Course).values(slug="c", title="C", synced_at=NOW).returning(col(Course.id))
        ).scalar_one()
        lesson_id = session.execute(
            insert(Lesson)
            .values(course_id=course_id, slug="l", position=1, title="L")
            .returning(col(Lesson.id))
        ).scalar_one()
        question_id = session.execute(
            insert(Question)
            .values(lesson_id=lesson_id, position=1, kind="single", text="Q?")
            .returning(col(Question.id))
        ).scalar_one()
        drip_id = session.execute(
            insert(Drip)
            .values(
                team_id=TEAM, course_id=course_id, created_by=LEAD, created_at=NOW, updated_at=NOW
            )
            .returning(col(Drip.id))
        ).scalar_one()
        users = [_user(n) for n in range(people)]
        session.execute(
            insert(Learner),
            [{"team_id": TEAM, "user_id": u, "name": u, "created_at": NOW} for u in users],
        )
        session.execute(
            insert(DripTarget),
            [{"team_id": TEAM, "drip_id": drip_id, "kind": "user", "ref": u} for u in users],
        )
        session.execute(
            insert(Enrolment),
            [
                {
                    "team_id": TEAM,
                    "drip_id": drip_id,
                    "recipient": u,
                    "recipient_kind": "dm",
                    "enrolled_by": LEAD,
                    "created_at": NOW,
                }
                for u in users
            ],
        )
        step = SPAN / per_person
        for start in range(0, people, 200):
            chunk = users[start : start + 200]
            session.execute(
                insert(Delivery),
                [
                    {
                        "team_id": TEAM,
                        "dedupe_key": f"bench:{u}:{i}",
                        "kind": "notice" if i % 5 == 0 else "lesson",
                        "recipient": u,
                        "recipient_kind": "dm",
                        "lesson_id": lesson_id,
                        "status": "sent",
                        "due_at": NOW - i * step,
                        "created_at": NOW - i * step,
                        "drip_id": drip_id,
                        "payload": {"text": f"<@{LEAD}> enrolled you"} if i % 5 == 0 else None,
                    }
                    for u in chunk
                    for i in range(per_person)
                ],
            )
            session.execute(
                insert(Answer),
                [
                    {
                        "team_id": TEAM,
                        "user_id": u,
                        "question_id": question_id,
                        "attempt": i + 1,
                        "choice": "0",
                        "correct": i % 2 == 0,
                        "answered_at": NOW - i * step,
                    }
                    for u in chunk
                    for i in range(per_person)
                ],
            )
            session.execute(
                insert(ThreadReply),
                [
                    {
                        "team_id": TEAM,
                        "channel_id": "C0BENCH",
                        "ts": f"{1_700_000_000 + start * per_person + n * per_person + i}.000100",
                        "thread_ts": "1600000000.000100",
                        "user_id": u,
                        "text": "a thought",
                        "replied_at": NOW - i * step,
                    }
                    for n, u in enumerate(chunk)
                    for i in range(per_person)
                ],
            )


def _counts(db: Database) -> dict[str, int]:
    with db.read() as session:
        return {
            table.name: int(session.execute(select(func.count()).select_from(table)).scalar_one())
            for table in metadata.sorted_tables
        }


def _older(db: Database, model: type[Answer] | type[ThreadReply], before: datetime) -> int:
    column = col(Answer.answered_at) if model is Answer else col(ThreadReply.replied_at)
    with db.read() as session:
        query = select(func.count()).select_from(model).where(column < before)
        return int(session.execute(query).scalar_one())


def _run(db: Database, kind: str, *, people: int, per_person: int) -> int:
    failures = 0
    started = time.perf_counter()
    _fill(db, people=people, per_person=per_person)
    counts = _counts(db)
    print(
        f"{kind}: {counts['learner']} learners, {counts['delivery']} deliveries, "
        f"{counts['answer']} answers, {counts['thread_reply']} replies "
        f"(filled in {time.perf_counter() - started:.1f} s)"
    )
    repository = PersonRepository(db)
    for who in (_user(people // 2), LEAD):
        before = _counts(db)
        started = time.perf_counter()
        forgotten = repository.forget(TEAM, who)
        elapsed = time.perf_counter() - started
        after = _counts(db)
        left = occurrences(db, who)
        removed = {table: before[table] - after[table] for table in before}
        whom = "the lead" if who == LEAD else "a learner"
        print(
            f"{kind}: forget {whom}: {elapsed * 1000:.0f} ms, "
            f"{sum(c for _k, c in forgotten.removed)} rows deleted, "
            f"{sum(c for _k, c in forgotten.cleared)} cleared"
        )
        expected = {"learner", "drip_target", "enrolment", "delivery", "answer", "thread_reply"}
        if who == LEAD:
            expected = set()
        wrong = {t: n for t, n in removed.items() if n and t not in expected}
        if left or wrong:
            print(f"{kind}: FAILED: still named in {left[:5]}; other rows removed: {wrong}")
            failures += 1

    service = PrivacyService(
        people=repository,
        learners=LearnerRepository(db),
        enrolments=EnrolmentRepository(db),
        notices=Notices(Outbox(db)),
        retention_days=365,
    )
    cutoff = NOW - timedelta(days=365)
    old_answers, old_replies = _older(db, Answer, cutoff), _older(db, ThreadReply, cutoff)
    kept_answers = _counts(db)["answer"] - old_answers
    ticks, slowest, total, deleted = 0, 0.0, 0.0, (0, 0)
    while True:
        started = time.perf_counter()
        answers, replies = service.expire(now=NOW)
        elapsed = time.perf_counter() - started
        ticks += 1
        total += elapsed
        slowest = max(slowest, elapsed)
        deleted = (deleted[0] + answers, deleted[1] + replies)
        if not (answers or replies):
            break
    started = time.perf_counter()
    again = service.expire(now=NOW + timedelta(minutes=1))
    idle = time.perf_counter() - started
    print(
        f"{kind}: retention 365 days: {deleted[0]} answers and {deleted[1]} replies in "
        f"{ticks - 1} ticks, {total:.2f} s in all, slowest tick {slowest * 1000:.0f} ms; "
        f"the next tick {idle * 1000:.2f} ms, deleting {again}"
    )
    if deleted != (old_answers, old_replies) or _counts(db)["answer"] != kept_answers:
        print(f"{kind}: FAILED: retention deleted {deleted}, expected {(old_answers, old_replies)}")
        failures += 1
    return failures


if __name__ == "__main__":
    sys.exit(main())
