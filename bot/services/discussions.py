"""Peer discussion: a thread per lesson, replies recorded from events, nudges, quotes, reports.

Replies are never polled (conversations.replies is rate-limited to a crawl for new apps): they
arrive as `message` events, and Slack retries events, so each is stored once — by event id and
by (channel, ts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain import points
from bot.domain.lesson import Course, Lesson
from bot.services.catalog import CatalogService
from bot.services.csvfile import csv_bytes
from bot.services.notices import Notices
from bot.services.ports import Composer, Messenger, SlackError
from bot.storage.answers import AnswerRepository
from bot.storage.discussions import DiscussionRepository, ThreadRecord
from bot.storage.outbox import Outbox

log = logging.getLogger(__name__)

DISCUSSION_COLUMNS = (
    "learner_id",
    "learner_name",
    "course",
    "lesson",
    "channel",
    "thread_ts",
    "reply_ts",
    "text",
    "replied_at",
)
NUDGE_BATCH = 100
# Slack retries an event three times within about five minutes; an hour covers that with room.
EVENT_MEMORY = timedelta(hours=1)
QUOTE_LIMIT = 400


@dataclass(frozen=True)
class LessonTalk:
    lesson: Lesson
    replies: int
    learners: int


def post_key(delivery_id: int) -> str:
    return f"post:{delivery_id}"


def drip_key(drip_id: int, course: str, lesson: str) -> str:
    return f"drip:{drip_id}:lesson:{course}/{lesson}"


class DiscussionService:
    def __init__(
        self,
        *,
        repository: DiscussionRepository,
        answers: AnswerRepository,
        outbox: Outbox,
        notices: Notices,
        messenger: Messenger,
        composer: Composer,
        catalog: CatalogService,
        nudge_after: timedelta,
        kick: Callable[[], None] = lambda: None,
    ) -> None:
        self._repository = repository
        self._answers = answers
        self._outbox = outbox
        self._notices = notices
        self._messenger = messenger
        self._composer = composer
        self._catalog = catalog
        self._nudge_after = nudge_after
        self.kick = kick

    # -- threads, as lessons go out -------------------------------------------------------------

    def channel_post(
        self,
        *,
        team_id: str,
        delivery_id: int,
        drip_id: int | None,
        lesson: Lesson,
        channel_id: str,
        ts: str,
        now: datetime,
    ) -> None:
        """A lesson was posted in a channel: its thread is where that channel discusses it."""
        self._repository.open_thread(
            team_id=team_id,
            key=post_key(delivery_id),
            drip_id=drip_id,
            lesson=(lesson.course_id, lesson.id),
            channel_id=channel_id,
            thread_ts=ts,
            now=now,
        )

    def ensure_drip_thread(
        self,
        *,
        team_id: str,
        drip_id: int,
        channel_id: str,
        lesson: Lesson,
        course: Course,
        before_post: Callable[[], None],
        now: datetime,
    ) -> ThreadRecord | None:
        """The thread for this lesson of a DM drip, opened the first time the lesson goes out."""
        thread, created = self._repository.open_thread(
            team_id=team_id,
            key=drip_key(drip_id, course.id, lesson.id),
            drip_id=drip_id,
            lesson=(lesson.course_id, lesson.id),
            channel_id=channel_id,
            thread_ts=None,
            now=now,
        )
        if not created:
            return thread
        message = self._composer.notice(
            f":speech_balloon: *Discussion: {lesson.title}* ({course.title})\n"
            f">{lesson.discussion}\nReply in this thread once you've done the lesson."
        )
        try:
            before_post()
            posted = self._messenger.post(team_id, channel_id, message)
        except SlackError as error:
            # No thread, so no link will ever point at one; the lead was warned at scheduling.
            log.warning("could not open the discussion thread in %s: %s", channel_id, error.code)
            self._repository.set_thread(thread.id, thread_ts=None, error=error.code)
            return None
        self._repository.set_thread(thread.id, thread_ts=posted.ts)
        return self._repository.thread(team_id, thread.key)

    def quote_for(
        self,
        *,
        team_id: str,
        drip_id: int | None,
        course: Course,
        lesson: Lesson,
        channel_id: str | None,
    ) -> tuple[str, str] | None:
        """The most-reacted reply about the previous lesson of this drip, to quote in this one."""
        if drip_id is None or lesson.position < 2:
            return None
        previous = course.lessons[lesson.position - 2]
        top = self._repository.top_reply(
            team_id, drip_id=drip_id, course=course.id, lesson=previous.id, channel_id=channel_id
        )
        if top is None:
            return None
        text, author = top
        text = " ".join(text.split())
        if len(text) > QUOTE_LIMIT:
            text = text[: QUOTE_LIMIT - 1] + "…"
        return text, author

    # -- learners -------------------------------------------------------------------------------

    def invite(self, *, team_id: str, user_id: str, delivery_id: int, now: datetime) -> bool:
        """After the quiz (or Done): DM the learner a link to their lesson's discussion, once."""
        found = self._answers.lesson_of(delivery_id)
        if found is None:
            return False
        course_id, lesson_id, drip_id = found.course, found.lesson, found.drip_id
        course = self._catalog.course(course_id)
        lesson = course.lesson(lesson_id) if course else None
        if found.recipient_kind != "dm" or drip_id is None or course is None or lesson is None:
            return False
        thread = self._repository.thread(team_id, drip_key(drip_id, course_id, lesson_id))
        if thread is None or thread.thread_ts is None:
            return False  # no discussion channel, or no thread: say nothing rather than a dead link
        try:
            link = self._messenger.permalink(team_id, thread.channel_id, thread.thread_ts)
        except SlackError as error:
            log.warning("no permalink for the discussion of %s: %s", lesson.key, error.code)
            return False
        queued = self._notices.dm(
            team_id=team_id,
            user_id=user_id,
            key=f"join:{thread.id}:{user_id}",
            text=f":speech_balloon: *Join the discussion* on _{lesson.title}_: "
            f"<{link}|see what others said> and add yours.\n>{lesson.discussion}",
            now=now,
            drip_id=drip_id,
        )
        if queued:
            self.kick()
        return queued

    # -- events ---------------------------------------------------------------------------------

    def on_message(
        self, *, team_id: str, event_id: str | None, event: dict[str, Any], now: datetime
    ) -> str:
        """Record a thread reply, an edit or a deletion; say what happened (for logs and tests)."""
        subtype = event.get("subtype")
        channel = str(event.get("channel") or "")
        if subtype == "message_changed":
            return self._changed(team_id, channel, event.get("message") or {}, now=now)
        if subtype == "message_deleted":
            deleted_ts = str(
                event.get("deleted_ts") or (event.get("previous_message") or {}).get("ts") or ""
            )
            return (
                "deleted"
                if self._repository.delete_reply(team_id, channel, deleted_ts)
                else "ignored"
            )
        if subtype not in (None, "thread_broadcast", "file_share") or not self._is_reply(event):
            return "ignored"
        return self._reply(team_id, channel, event_id, event, now=now)

    def _reply(
        self,
        team_id: str,
        channel: str,
        event_id: str | None,
        event: dict[str, Any],
        *,
        now: datetime,
    ) -> str:
        """A person's reply in a thread: stored once if the thread is a lesson's."""
        if event.get("bot_id") or not event.get("user"):
            return "ignored"
        thread = self._repository.thread_at(team_id, channel, str(event["thread_ts"]))
        if thread is None:
            return "ignored"  # a thread that isn't a lesson's
        if event_id and not self._repository.first_time(team_id, event_id, now=now):
            return "duplicate"
        stored = self._repository.add_reply(
            thread=thread,
            ts=str(event["ts"]),
            user_id=str(event["user"]),
            text=str(event.get("text") or ""),
            now=now,
            award=points.for_first_reply(thread=f"{thread.channel_id}:{thread.thread_ts}"),
        )
        return "stored" if stored else "duplicate"

    def _changed(
        self, team_id: str, channel: str, message: dict[str, Any], *, now: datetime
    ) -> str:
        """An edited reply, or one deleted with its thread kept (a tombstone)."""
        if not self._is_reply(message):
            return "ignored"
        if message.get("subtype") == "tombstone":  # deleted, its thread kept: a deletion
            deleted = self._repository.delete_reply(team_id, channel, str(message["ts"]))
            return "deleted" if deleted else "ignored"
        edited = self._repository.edit_reply(
            team_id, channel, str(message["ts"]), text=str(message.get("text") or ""), now=now
        )
        return "edited" if edited else "ignored"

    @staticmethod
    def _is_reply(message: dict[str, Any]) -> bool:
        thread_ts, ts = message.get("thread_ts"), message.get("ts")
        return bool(thread_ts) and bool(ts) and thread_ts != ts

    def on_reaction(
        self, *, team_id: str, event_id: str | None, item: dict[str, Any], delta: int, now: datetime
    ) -> bool:
        if item.get("type") != "message":
            return False
        return self._repository.react(
            team_id,
            str(item.get("channel") or ""),
            str(item.get("ts") or ""),
            delta=delta,
            event_id=event_id or None,
            now=now,
        )

    def forget_events(self, *, now: datetime) -> int:
        """Forget event ids older than Slack's retries (it retries for a few minutes only)."""
        return self._repository.forget_events(before=now - EVENT_MEMORY)

    # -- nudges ---------------------------------------------------------------------------------

    def nudge(self, *, now: datetime) -> int:
        """One friendly nudge, once, in each lesson thread that stayed quiet."""
        nudged = 0
        for thread in self._repository.quiet_threads(
            created_before=now - self._nudge_after, limit=NUDGE_BATCH
        ):
            if not self._repository.mark_nudged(thread.id, now=now):
                continue
            title = self._lesson_title(thread)
            self._outbox.enqueue(
                team_id=thread.team_id,
                dedupe_key=f"nudge:{thread.id}",
                kind="notice",
                recipient=thread.channel_id,
                recipient_kind="channel",
                due_at=now,
                now=now,
                drip_id=thread.drip_id,
                payload={
                    "text": f":wave: Quiet in here so far. How did *{title}* go for you? "
                    "One line is plenty: an example, a question, a doubt.",
                    "thread_ts": thread.thread_ts,
                },
            )
            nudged += 1
        return nudged

    def _lesson_title(self, thread: ThreadRecord) -> str:
        found = self._catalog.find_lessons(f"{thread.course}/{thread.lesson}")
        return found[0].title if found else "this lesson"

    # -- reporting ------------------------------------------------------------------------------

    def replies(self, team_id: str, user_id: str) -> int:
        return self._repository.reply_count(team_id, user_id)

    def report(
        self,
        team_id: str,
        course: Course,
        *,
        keep: Callable[[str, datetime], bool] | None = None,
    ) -> tuple[tuple[LessonTalk, ...], bytes]:
        """Replies per lesson and the discussion CSV; `keep(learner, replied_at)` filters."""
        rows = self._repository.reply_rows(team_id, course.id)
        if keep is not None:
            rows = [row for row in rows if keep(row.user_id, row.replied_at)]
        talk = tuple(
            LessonTalk(
                lesson,
                sum(1 for row in rows if row.lesson == lesson.id),
                len({row.user_id for row in rows if row.lesson == lesson.id}),
            )
            for lesson in course.lessons
        )
        cells = [
            [
                row.user_id,
                row.learner_name,
                row.course,
                row.lesson,
                row.channel_id,
                row.thread_ts,
                row.ts,
                row.text,
                row.replied_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            ]
            for row in rows
        ]
        return talk, csv_bytes(DISCUSSION_COLUMNS, cells)
