"""The lessons on disk, as the rest of the bot sees them."""

from __future__ import annotations

from datetime import datetime

from bot.domain.lesson import Catalog, Course, Lesson
from bot.storage.content import ContentRepository, SyncReport


class CatalogService:
    def __init__(self, catalog: Catalog, repository: ContentRepository) -> None:
        self._catalog = catalog
        self._repository = repository

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    def sync(self, *, now: datetime) -> SyncReport:
        """Mirror the catalog into the database (run once at start-up, before serving)."""
        return self._repository.sync(self._catalog, now=now)

    def course(self, course_id: str) -> Course | None:
        return self._catalog.course(course_id)

    def find_lessons(self, address: str) -> list[Lesson]:
        return self._catalog.find_lessons(address)
