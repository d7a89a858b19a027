"""The lessons on disk, as the rest of the bot sees them."""

from __future__ import annotations

import re
from datetime import datetime

from bot.domain.lesson import Catalog, Course, Lesson
from bot.services.refused import Refused
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

    def replace(self, catalog: Catalog, *, now: datetime) -> SyncReport:
        """Serve a reloaded lessons folder from now on (the sandbox's authors edit it live)."""
        report = self._repository.sync(catalog, now=now)
        self._catalog = catalog
        return report

    def course(self, course_id: str) -> Course | None:
        return self._catalog.course(course_id)

    def find_lessons(self, address: str) -> list[Lesson]:
        return self._catalog.find_lessons(address)

    def require_course(self, course_id: str) -> Course:
        """The course a person named, or a refusal that lists the courses there are."""
        course = self._catalog.course(course_id)
        if course is None:
            known = ", ".join(f"`{c.id}`" for c in self._catalog.courses) or "none yet"
            raise Refused(f"There is no course `{course_id}`. The courses are {known}.")
        if not course.lessons:
            raise Refused(f"The course `{course_id}` has no lessons yet.")
        return course

    def find_lesson(self, address: str) -> Lesson:
        """A lesson by `<course>/<lesson>`, a unique lesson id, or a course (its first lesson)."""
        course = self._catalog.course(address)
        if course is not None and course.lessons:
            return course.lessons[0]
        found = self._catalog.find_lessons(address)
        if len(found) == 1:
            return found[0]
        if found:
            options = ", ".join(f"`{lesson.key}`" for lesson in found)
            raise Refused(f"`{address}` is in several courses: say which one, e.g. {options}.")
        raise Refused(
            f"There is no lesson or course `{address}`. `/learn courses` lists the courses; "
            "a lesson is `<course>/<lesson>`."
        )

    def search(self, words: str, *, limit: int = 8) -> list[Lesson]:
        """Lessons matching every word, best first: title, then objective and skills, then body."""
        terms = [term for term in re.findall(r"\w+", words.lower()) if len(term) > 1]
        if not terms:
            return []
        scored: list[tuple[int, int, Lesson]] = []
        pairs = [(c, lesson) for c in self._catalog.courses for lesson in c.lessons]
        for order, (course, lesson) in enumerate(pairs):
            fields = (
                (lesson.title.lower(), 5),
                (lesson.objective.lower(), 3),
                (" ".join(course.skills).lower() + " " + course.title.lower(), 2),
                (lesson.body.lower() + " " + lesson.practice.lower(), 1),
            )
            score = 0
            for term in terms:
                hits = sum(weight for text, weight in fields if term in text)
                if not hits:
                    break
                score += hits
            else:
                scored.append((-score, order, lesson))
        return [lesson for _, _, lesson in sorted(scored)[:limit]]
