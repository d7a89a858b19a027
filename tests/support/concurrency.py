"""Run the same work in several threads, each with its own Database, as separate processes would."""

from __future__ import annotations

import threading
from collections.abc import Callable

from bot.storage.db import Database


def side_by_side(database_url: str, work: Callable[[Database], None], *, workers: int = 2) -> None:
    """Start `workers` threads together on their own connections; re-raise the first failure."""
    errors: list[BaseException] = []
    ready = threading.Barrier(workers)

    def run() -> None:
        db = Database(database_url)
        try:
            ready.wait()
            work(db)
        except BaseException as error:  # re-raised below, in the test's thread
            errors.append(error)
        finally:
            db.dispose()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
