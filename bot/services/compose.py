"""What a delivery says: a claimed outbox row turned into the messages to post, in order."""

from __future__ import annotations

from bot.domain.lesson import Course, Lesson, Question
from bot.domain.shuffle import option_order
from bot.services.catalog import CatalogService
from bot.services.discussions import DiscussionService
from bot.services.ports import Composer, Message
from bot.storage.outbox import Claimed

Parts = list[tuple[Message, bool]]  # each message, flagged when it goes in the first one's thread


class DeliveryComposer:
    def __init__(
        self,
        *,
        catalog: CatalogService,
        composer: Composer,
        discussions: DiscussionService | None = None,
    ) -> None:
        self._catalog = catalog
        self._composer = composer
        self._discussions = discussions

    def parts(self, delivery: Claimed) -> Parts:
        """The messages of a delivery; LookupError when its lesson is gone from the folder."""
        if delivery.kind == "notice":
            return self._notice(delivery)
        if delivery.kind == "review" and (delivery.payload or {}).get("items"):
            return [(message, False) for message in self._review(delivery)]
        lesson, course = lesson_of(self._catalog, delivery)
        if delivery.kind == "review" and delivery.question_position is not None:
            return self._one_review(delivery, lesson, delivery.question_position)
        return self._lesson(delivery, lesson, course)

    def _notice(self, delivery: Claimed) -> Parts:
        payload = delivery.payload or {}
        text = payload.get("text")
        if not text:
            raise LookupError("a notice without text")
        button = payload.get("button")
        message = self._composer.notice(
            str(text),
            button={str(k): str(v) for k, v in button.items()}
            if isinstance(button, dict)
            else None,
        )
        return [(message, bool(payload.get("thread_ts")))]

    def _one_review(self, delivery: Claimed, lesson: Lesson, position: int) -> Parts:
        question = lesson.quiz[position - 1]
        message = self._composer.question(
            question,
            lesson,
            number=position,
            ref=f"{delivery.id}.{position}",
            review=True,
            order=_order(delivery, lesson, question, position),
        )
        return [(message, False)]

    def _lesson(self, delivery: Claimed, lesson: Lesson, course: Course) -> Parts:
        in_channel = delivery.recipient_kind == "channel"
        quote = None
        if self._discussions is not None:
            quote = self._discussions.quote_for(
                team_id=delivery.team_id,
                drip_id=delivery.drip_id,
                course=course,
                lesson=lesson,
                channel_id=delivery.recipient if in_channel else None,
            )
        parts = [
            (message, False)
            for message in self._composer.lesson(
                lesson,
                course,
                first_name=delivery.first_name or "there",
                done_ref=str(delivery.id),
                quote=quote,
            )
        ]
        if in_channel and lesson.discussion:
            prompt = self._composer.notice(
                f":speech_balloon: *Discuss:* {lesson.discussion}\n"
                "Reply in this thread: what works for you helps everyone here."
            )
            parts.append((prompt, True))
        for number, question in enumerate(lesson.quiz, start=1):
            message = self._composer.question(
                question,
                lesson,
                number=number,
                ref=f"{delivery.id}.{number}",
                order=_order(delivery, lesson, question, number),
            )
            parts.append((message, False))
        return parts

    def _review(self, delivery: Claimed) -> list[Message]:
        """A day's review questions in one message; the answer ref's number is the item's."""
        items = []
        for number, item in enumerate((delivery.payload or {}).get("items") or [], start=1):
            course = self._catalog.course(str(item.get("course", "")))
            lesson = course.lesson(str(item.get("lesson", ""))) if course else None
            position = int(item.get("position", 0))
            if lesson is None or not 0 < position <= len(lesson.quiz):
                continue  # removed from the course since: the others still come
            question = lesson.quiz[position - 1]
            order = _order(delivery, lesson, question, position)  # as the learner saw it first
            items.append((question, lesson, position, f"{delivery.id}.{number}", order))
        if not items:
            raise LookupError("the questions of this review are no longer in the lessons folder")
        return self._composer.review(items)


def lesson_of(catalog: CatalogService, delivery: Claimed) -> tuple[Lesson, Course]:
    """The delivery's lesson and course; LookupError when the lessons folder no longer has it."""
    course = catalog.course(delivery.course or "")
    lesson = course.lesson(delivery.lesson or "") if course else None
    if course is None or lesson is None:
        raise LookupError(
            f"lesson {delivery.course}/{delivery.lesson} is no longer in the lessons folder"
        )
    return lesson, course


def _order(delivery: Claimed, lesson: Lesson, question: Question, position: int) -> tuple[int, ...]:
    """The recipient's own order of the options (a channel's post: the channel's)."""
    return option_order(
        question,
        team_id=delivery.team_id,
        learner=delivery.recipient,
        lesson_key=lesson.key,
        position=position,
    )
