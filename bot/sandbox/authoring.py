"""Lessons being written: reloaded when their files change, checked, and served if they pass."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.preflight import ContentCheck, check_content
from bot.services.catalog import CatalogService

log = logging.getLogger(__name__)

WATCH_SECONDS = 1.0


@dataclass(frozen=True)
class LessonStatus:
    """What the page shows about the lessons folder."""

    folder: str
    summary: str
    problems: tuple[str, ...]
    reloads: int
    serving_last_good: bool


def fingerprint(folder: Path) -> str:
    """A digest of every file's path and bytes: any edit, addition or removal changes it."""
    digest = hashlib.sha256()
    if folder.is_dir():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(folder)).encode())
            try:
                digest.update(hashlib.sha256(path.read_bytes()).digest())
            except OSError:
                digest.update(b"unreadable")
    return digest.hexdigest()


class LessonWatcher:
    """Reloads the folder on change; a folder with problems keeps the last good catalog serving."""

    def __init__(
        self,
        folder: Path,
        first: ContentCheck,
        catalog: CatalogService,
        *,
        clock: Callable[[], datetime],
        on_change: Callable[[], None],
    ) -> None:
        self._folder = folder
        self._catalog = catalog
        self._clock = clock
        self._on_change = on_change
        self._lock = threading.Lock()
        self._seen = fingerprint(folder)
        self._summary = first.summary()
        self._problems = tuple(first.problems)
        self._reloads = 0
        self._stale = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def status(self) -> LessonStatus:
        with self._lock:
            return LessonStatus(
                folder=str(self._folder),
                summary=self._summary,
                problems=self._problems,
                reloads=self._reloads,
                serving_last_good=self._stale,
            )

    def refresh(self) -> bool:
        """Reload if any file changed since last time; True when something changed."""
        with self._lock:
            seen = fingerprint(self._folder)
            if seen == self._seen:
                return False
            self._seen = seen
            check = check_content(self._folder)
            self._problems = tuple(check.problems)
            self._stale = bool(check.problems)
            if not check.problems:
                self._catalog.replace(check.catalog, now=self._clock())
                self._summary = check.summary()
                self._reloads += 1
                log.info("lessons reloaded from %s: %s", self._folder, self._summary)
        self._on_change()
        return True

    def start(self) -> None:
        """Look for changes every second in the background, so the page shows them unasked."""
        self._thread = threading.Thread(target=self._watch, name="sandbox-lessons", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            try:
                self.refresh()
            except Exception:  # a watcher that dies silently would hide every later edit
                log.exception("reloading lessons from %s failed", self._folder)
