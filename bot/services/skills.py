"""Skills: mastery per skill tag, a personal goal, recommendations, and pulling any lesson.

Mastery rests on the learner's FSRS cards (their retrievability now, as FSRS computes it) and,
for questions without a card, on the first try (bot/domain/mastery.py); recommendations follow
the goal, else the weakest skill, else what peers take (bot/domain/recommend.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from fsrs import Card, Scheduler

from bot.domain.lesson import Lesson
from bot.domain.mastery import Evidence, Mastery, mastery, skill_key
from bot.domain.recommend import Recommendation, recommend
from bot.services.catalog import CatalogService
from bot.services.refused import Refused
from bot.storage.gamify import LIVE, GamifyRepository
from bot.storage.outbox import Outbox

# The parameters bot/services/reviews.py schedules with; retrievability depends on them only.
_FSRS = Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)
MAX_GOAL = 100
_LESSON_KEY = re.compile(r"[a-z0-9-]{1,100}/[a-z0-9-]{1,100}")


class SkillService:
    def __init__(
        self,
        *,
        repository: GamifyRepository,
        catalog: CatalogService,
        outbox: Outbox,
        enrolled: Callable[[str, str], set[str]],
        kick: Callable[[], None] = lambda: None,
    ) -> None:
        self._repository = repository
        self._catalog = catalog
        self._outbox = outbox
        self._enrolled = enrolled  # (team, user) → course ids of the learner's live drips
        self._kick = kick

    # -- mastery ------------------------------------------------------------------------------

    def mastery(self, *, team_id: str, user_id: str, now: datetime) -> tuple[Mastery, ...]:
        """Per skill: percent and how many questions it rests on, sorted by skill."""
        cards = self._repository.cards(team_id, user_id)
        skills = {course.id: course.skills for course in self._catalog.catalog.courses}
        evidence = []
        for answered in self._repository.answered(team_id, user_id):
            card = cards.get(answered.question_id)
            evidence.append(
                Evidence(
                    answered.question_id,
                    skills.get(answered.course, ()),
                    retrievability=_retrievability(card, now) if card else None,
                    first_try_right=answered.first_try_right,
                )
            )
        return mastery(evidence)

    # -- goal ---------------------------------------------------------------------------------

    def skills(self) -> list[str]:
        """Every skill tag of the catalog, as first written, in catalog order."""
        found: dict[str, str] = {}
        for course in self._catalog.catalog.courses:
            for skill in course.skills:
                if skill_key(skill):
                    found.setdefault(skill_key(skill), skill.strip())
        return list(found.values())

    def goal(self, *, team_id: str, user_id: str) -> str | None:
        return self._repository.setting(team_id, user_id).goal

    def set_goal(self, *, team_id: str, user_id: str, skill: str, now: datetime) -> str:
        """Set the goal to a skill of the catalog (any case); return it as the catalog writes it."""
        wanted = skill_key(skill)
        match = next((s for s in self.skills() if skill_key(s) == wanted), None)
        if match is None:
            known = ", ".join(f"`{s}`" for s in self.skills()) or "none yet"
            shown = skill.strip()[:40]
            raise Refused(f"There is no skill `{shown}` in the courses. The skills are {known}.")
        self._repository.set_goal(team_id, user_id, goal=match[:MAX_GOAL], now=now)
        return match

    def clear_goal(self, *, team_id: str, user_id: str, now: datetime) -> bool:
        """Remove the goal; False when there was none."""
        had = self.goal(team_id=team_id, user_id=user_id) is not None
        if had:
            self._repository.set_goal(team_id, user_id, goal=None, now=now)
        return had

    # -- recommendations ----------------------------------------------------------------------

    def recommendations(
        self, *, team_id: str, user_id: str, now: datetime, limit: int = 3
    ) -> tuple[Recommendation, ...]:
        """Next lessons not done yet, best first, each with its reason."""
        completions = self._repository.completions(team_id, user_id)
        done = frozenset(f"{course}/{lesson}" for course, lesson, _ in completions)
        return recommend(
            self._catalog.catalog,
            done=done,
            goal=self.goal(team_id=team_id, user_id=user_id),
            mastery=self.mastery(team_id=team_id, user_id=user_id, now=now),
            peers=self._repository.peer_courses(team_id, user_id),
            enrolled=frozenset(self._enrolled(team_id, user_id)),
            limit=limit,
        )

    def send_recommended(
        self, *, team_id: str, user_id: str, request: str, now: datetime
    ) -> Recommendation | None:
        """Send the first recommendation to the learner's DMs; None when there is none."""
        found = self.recommendations(team_id=team_id, user_id=user_id, now=now, limit=1)
        if not found:
            return None
        self._send(team_id, user_id, found[0].lesson, request=request, now=now)
        return found[0]

    def open_lesson(
        self, *, team_id: str, user_id: str, key: str, request: str, now: datetime
    ) -> Lesson:
        """Send any lesson (`<course>/<lesson>`, as a search result's Open button carries)."""
        lesson = None
        if _LESSON_KEY.fullmatch(key):
            found = self._catalog.find_lessons(key)
            lesson = found[0] if found else None
        if lesson is None:
            raise Refused("That lesson is no longer available. `/learn search` finds others.")
        self._send(team_id, user_id, lesson, request=request, now=now)
        return lesson

    def _send(
        self, team_id: str, user_id: str, lesson: Lesson, *, request: str, now: datetime
    ) -> None:
        # `request` (a click's action_ts, a command's trigger) makes a retried request a no-op.
        self._outbox.enqueue(
            team_id=team_id,
            dedupe_key=f"pull:{user_id}:{lesson.key}:{request}"[:200],
            kind="lesson",
            recipient=user_id,
            recipient_kind="dm",
            due_at=now,
            now=now,
            lesson=(lesson.course_id, lesson.id),
            payload={"pulled_by": user_id},  # asked for: it goes out even during a snooze
        )
        self._kick()


def enrolled_courses(enrolments: list[Any]) -> set[str]:
    """Course ids of live DM enrolments."""
    return {e.course for e in enrolments if e.status in LIVE and e.recipient_kind == "dm"}


def _retrievability(card: dict[str, Any], now: datetime) -> float | None:
    try:
        value = _FSRS.get_card_retrievability(Card.from_dict(cast(Any, card)), now)
    except (KeyError, TypeError, ValueError):
        return None  # a card this version cannot read: the first try speaks instead
    return min(1.0, max(0.0, float(value)))
