"""The weekly digest: each lead's DM about the drips they run, with an 8-week trend chart.

The tick queues one `digest` delivery per lead per week (`MICROLEARN_DIGEST`, in the lead's own
zone) with the key `digest:<lead>:<local date>`, so retries, restarts and several replicas
never send it twice; the drain sends it as one upload (the chart, the digest as its comment),
paced like every other send. A digest more than GRACE late (the bot was down) is skipped:
next week's comes on time. The figures are computed when it is sent, for the whole local weeks
before the digest's date (see bot.domain.digest).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.digest import DigestTime, digest_weeks, next_digest, week_key
from bot.domain.periods import Window
from bot.domain.schedule import zone
from bot.services.audience import audience
from bot.services.catalog import CatalogService
from bot.services.charts import DigestChart, WeekPoint, digest_filename, digest_png
from bot.services.people import People
from bot.services.ports import Messenger, SlackError
from bot.services.roles import Roles
from bot.services.wording import plural
from bot.storage.insights import AnswerFact, CompletionFact, InsightsRepository, SentLesson
from bot.storage.learners import LearnerRepository
from bot.storage.outbox import Claimed, Outbox

log = logging.getLogger(__name__)

KIND = "digest"
GRACE = timedelta(days=1)
UNANSWERED_AFTER = timedelta(days=3)
UNANSWERED_WITHIN = timedelta(days=14)  # older silences are the paused list's business
NAMES_SHOWN = 15
COMMENT_LIMIT = 3900
WEEKLY_TITLE = "Your weekly digest"  # the shared file's title: how a lost upload is found again


@dataclass(frozen=True)
class Hardest:
    text: str
    course: str
    right: int
    answered: int


@dataclass(frozen=True)
class Digest:
    lead: str
    at: datetime
    tz: ZoneInfo
    weeks: tuple[WeekPoint, ...]
    hardest: Hardest | None = None
    paused: tuple[str, ...] = ()  # learners, by name
    unanswered: tuple[str, ...] = ()
    best_reply: tuple[str, str, int] | None = None  # text, author's name, reactions
    courses: tuple[str, ...] = field(default=())

    @property
    def day(self) -> date:
        return self.at.astimezone(self.tz).date()

    @property
    def filename(self) -> str:
        return digest_filename(self.day)

    def text(self) -> str:
        this, last = self.weeks[-1], self.weeks[-2]
        first = this.week
        lines = [
            f"*Your weekly digest* · {first:%a %d %b} – "
            f"{first + timedelta(days=6):%a %d %b}"
            + (f" · {', '.join(self.courses)}" if self.courses else ""),
            f"• Active learners: {this.active} (the week before: {last.active})",
            f"• Lessons done: {this.done} (the week before: {last.done})",
            f"• First-try accuracy: {_percent(this.accuracy)} (the week before: "
            f"{_percent(last.accuracy)}); 8 weeks: "
            + " → ".join(_percent(w.accuracy, short=True) for w in self.weeks),
        ]
        if self.hardest is not None:
            h = self.hardest
            lines.append(
                f"• Hardest question this week: “{_cut(h.text, 150)}” ({h.course}): "
                f"{h.right}/{h.answered} right at the first try"
            )
        else:
            lines.append("• Hardest question this week: no answers this week.")
        lines.append("• Paused: " + (_names(self.paused) or "nobody."))
        lines.append("• Lessons unanswered for 3+ days: " + (_names(self.unanswered) or "nobody."))
        if self.best_reply is not None:
            text, author, reactions = self.best_reply
            lines.append(
                f"• Best-received reply: “{_cut(text, 200)}” by {author} "
                f"({plural(reactions, 'reaction')})"
            )
        else:
            lines.append("• Best-received reply: no reactions to replies this week.")
        lines.append(f"`{self.filename}` shows the last {len(self.weeks)} weeks.")
        return "\n".join(lines)[:COMMENT_LIMIT]

    def chart(self) -> bytes:
        return digest_png(DigestChart(weeks=self.weeks))


class DigestService:
    def __init__(
        self,
        *,
        insights: InsightsRepository,
        learners: LearnerRepository,
        catalog: CatalogService,
        people: People,
        roles: Roles,
        outbox: Outbox,
        messenger: Messenger,
        setting: DigestTime | None,
        kick: Callable[[], None] = lambda: None,
    ) -> None:
        self._insights = insights
        self._learners = learners
        self._catalog = catalog
        self._people = people
        self._roles = roles
        self._outbox = outbox
        self._messenger = messenger
        self._setting = setting
        self._kick = kick
        self._queued: set[tuple[str, str]] = set()  # keys this process queued already

    # -- the tick -----------------------------------------------------------------------------

    def plan(self, now: datetime) -> int:
        """Queue the digests that fell due (at most GRACE ago); how many were new."""
        if self._setting is None:
            return 0
        added = 0
        for team_id, lead_id, running_since in self._leads(now):
            tz = self._zone(team_id, lead_id)
            due = last_digest(self._setting, tz, now=now)
            covered = digest_weeks(due, tz, count=1)[0]
            if now - due > GRACE or covered.end is None or covered.end <= running_since:
                continue  # too late (next week's comes on time), or about a week before any drip
            added += self._queue(team_id, lead_id, at=due, tz=tz, now=now)
        return added

    def send_now(
        self, *, now: datetime, team_id: str | None = None, lead_id: str | None = None
    ) -> int:
        """Queue today's digest for every lead (of a team; or one lead) at once: `microlearn
        digest`. A lead already sent today's digest gets nothing more."""
        leads = [
            (team, lead)
            for team, lead, _ in self._leads(now)
            if (team_id is None or team == team_id) and (lead_id is None or lead == lead_id)
        ]
        if lead_id is not None and not leads and team_id is not None:
            leads = [(team_id, lead_id)]
        added = 0
        for team, lead in leads:
            added += self._queue(team, lead, at=now, tz=self._zone(team, lead), now=now)
        return added

    def leads(self, now: datetime) -> list[tuple[str, str]]:
        """(team, lead) of everyone a digest goes to."""
        return [(team, lead) for team, lead, _ in self._leads(now)]

    def _leads(self, now: datetime) -> list[tuple[str, str, datetime]]:
        finished_since = now - timedelta(weeks=8)
        return self._insights.drip_owners(finished_since=finished_since)

    def _queue(
        self, team_id: str, lead_id: str, *, at: datetime, tz: ZoneInfo, now: datetime
    ) -> int:
        key = f"digest:{lead_id}:{week_key(at, tz)}"
        if (team_id, key) in self._queued:
            return 0
        added = self._outbox.enqueue(
            team_id=team_id,
            dedupe_key=key,
            kind=KIND,
            recipient=lead_id,
            recipient_kind="dm",
            due_at=now,
            now=now,
            payload={"at": at.isoformat(), "tz": tz.key},
        )
        self._queued.add((team_id, key))
        if added:
            self._kick()
        return int(added)

    def send(self, delivery: Claimed) -> None:
        """The drain's sender for `digest` deliveries: one upload, the digest as its comment."""
        payload = delivery.payload or {}
        try:
            at = datetime.fromisoformat(str(payload["at"]))
        except (KeyError, ValueError):
            raise LookupError("a digest without its instant") from None
        tz = zone(str(payload.get("tz") or ""))
        if not self._people.is_lead(delivery.team_id, delivery.recipient, now=delivery.claimed_at):
            raise LookupError("no longer a lead: no digest")
        digest = self.build(team_id=delivery.team_id, lead_id=delivery.recipient, at=at, tz=tz)
        if (delivery.resumed or delivery.tries > 0) and self._messenger.find_upload(
            delivery.team_id, delivery.recipient, filename=digest.filename, title=WEEKLY_TITLE
        ):
            return  # an earlier try was shared though its answer was lost: it was sent once
        self._messenger.upload(
            delivery.team_id,
            delivery.recipient,
            filename=digest.filename,
            content=digest.chart(),
            title=WEEKLY_TITLE,
            comment=digest.text(),
        )

    # -- /learn digest --------------------------------------------------------------------------

    def preview(self, *, team_id: str, lead_id: str, now: datetime) -> str:
        """The lead's digest as of now, and its chart in their DM (`/learn digest`)."""
        self._roles.require_lead(team_id, lead_id, doing="get a digest", now=now)
        digest = self.build(team_id=team_id, lead_id=lead_id, at=now)
        try:
            self._messenger.upload(
                team_id,
                lead_id,
                filename=digest.filename,
                content=digest.chart(),
                title="Your digest, week by week",
                comment=f"The last {len(digest.weeks)} weeks of your drips.",
            )
            note = f"\nThe chart `{digest.filename}` is in your DMs."
        except SlackError as error:
            log.warning("digest chart for %s not uploaded: %s", lead_id, error.code)
            note = ""
        return digest.text() + note

    # -- the figures ----------------------------------------------------------------------------

    def build(
        self, *, team_id: str, lead_id: str, at: datetime, tz: ZoneInfo | None = None
    ) -> Digest:
        """The digest of `lead_id`'s drips and sends for the weeks before `at`'s local date."""
        tz = tz or self._zone(team_id, lead_id)
        weeks = digest_weeks(at, tz)
        start = weeks[0].start
        deliveries = self._insights.sent_lessons(team_id, owner=lead_id)
        courses = sorted({d.course for d in deliveries})
        answers = self._insights.answers(team_id, courses=courses, since=start)
        completions = self._insights.completions(team_id, courses=courses, since=start)
        who = audience(
            deliveries=deliveries, answers=answers, completions=completions, owner=lead_id
        )
        learners = who.learners or frozenset()
        answers = [a for a in answers if a.user_id in learners]
        completions = [c for c in completions if c.user_id in learners]
        points = [_week_point(window, answers, completions, tz) for window in weeks]
        this_week = weeks[-1]
        paused = sorted({user for user, _ in self._insights.paused(team_id, owner=lead_id)})
        silent = self._unanswered(deliveries, answers, completions, at=at, skip=set(paused))
        best = self._best_reply(team_id, courses, who.deliveries, this_week)
        names = self._insights.names(team_id, [*paused, *silent, *([best[1]] if best else [])])
        titles = [self._title(course) for course in courses]
        return Digest(
            lead=lead_id,
            at=at,
            tz=tz,
            weeks=tuple(points),
            hardest=self._hardest(answers, this_week),
            paused=tuple(_name(user, names) for user in paused),
            unanswered=tuple(_name(user, names) for user in silent),
            best_reply=(best[0], _name(best[1], names), best[2]) if best else None,
            courses=tuple(titles),
        )

    def _hardest(self, answers: Sequence[AnswerFact], week: Window) -> Hardest | None:
        """The question of the week with the lowest first-try accuracy (more answers first)."""
        tally: dict[tuple[str, str, int], list[int]] = {}
        for a in answers:
            if a.attempt == 1 and a.correct is not None and a.answered_at in week:
                counts = tally.setdefault((a.course, a.lesson, a.position), [0, 0])
                counts[0] += int(a.correct)
                counts[1] += 1
        if not tally:
            return None
        (course_id, lesson_id, position), (right, answered) = min(
            tally.items(), key=lambda item: (item[1][0] / item[1][1], -item[1][1], item[0])
        )
        course = self._catalog.course(course_id)
        lesson = course.lesson(lesson_id) if course else None
        if course is None or lesson is None or position > len(lesson.quiz):
            text, title = f"{lesson_id} question {position}", course_id
        else:
            text, title = lesson.quiz[position - 1].text, course.title
        return Hardest(text, title, right, answered)

    @staticmethod
    def _unanswered(
        deliveries: Sequence[SentLesson],
        answers: Sequence[AnswerFact],
        completions: Sequence[CompletionFact],
        *,
        at: datetime,
        skip: set[str],
    ) -> list[str]:
        """Learners with a DM lesson sent 3+ days ago (within two weeks) and left untouched."""
        answered = {a.delivery_id for a in answers if a.delivery_id is not None}
        done = {(c.user_id, c.course, c.lesson) for c in completions}
        silent: dict[str, None] = {}
        for d in deliveries:
            if d.recipient_kind != "dm" or d.status != "sent":
                continue
            sent = d.sent_at or d.created_at
            if not at - UNANSWERED_WITHIN <= sent <= at - UNANSWERED_AFTER:
                continue
            if d.id in answered or (d.recipient, d.course, d.lesson) in done:
                continue
            if d.recipient not in skip:
                silent[d.recipient] = None
        return sorted(silent)

    def _best_reply(
        self, team_id: str, courses: list[str], deliveries: Sequence[SentLesson], week: Window
    ) -> tuple[str, str, int] | None:
        """The week's most-reacted reply in the threads of the lead's drips and posts."""
        drips = {d.drip_id for d in deliveries if d.drip_id}
        posts = {f"post:{d.id}" for d in deliveries}
        best = None
        for reply in self._insights.replies(team_id, courses=courses, since=week.start):
            if reply.replied_at not in week or reply.reactions <= 0:
                continue
            if reply.drip_id not in drips and reply.thread_key not in posts:
                continue
            if best is None or reply.reactions > best[2]:
                best = (reply.text, reply.user_id, reply.reactions)
        return best

    def _title(self, course_id: str) -> str:
        course = self._catalog.course(course_id)
        return course.title if course else course_id

    def _zone(self, team_id: str, lead_id: str) -> ZoneInfo:
        learner = self._learners.learner(team_id, lead_id)
        return zone(learner.tz if learner else "UTC")


def last_digest(setting: DigestTime, tz: ZoneInfo, *, now: datetime) -> datetime:
    """The latest digest instant at or before `now` in `tz`."""
    due = next_digest(setting, tz, after=now - timedelta(days=8))
    while True:
        following = next_digest(setting, tz, after=due)
        if following > now:
            return due
        due = following


def _week_point(
    window: Window,
    answers: Sequence[AnswerFact],
    completions: Sequence[CompletionFact],
    tz: ZoneInfo,
) -> WeekPoint:
    """One week of the chart: who was active, lessons done, first-try accuracy."""
    mine = [a for a in answers if a.answered_at in window]
    done = [c for c in completions if c.completed_at in window]
    graded = [a for a in mine if a.attempt == 1 and a.correct is not None]
    assert window.start is not None
    return WeekPoint(
        week=window.start.astimezone(tz).date(),
        active=len({a.user_id for a in mine} | {c.user_id for c in done}),
        done=len(done),
        accuracy=sum(1 for a in graded if a.correct) / len(graded) if graded else None,
    )


def _name(user_id: str, names: dict[str, str]) -> str:
    return names.get(user_id) or f"<@{user_id}>"


def _names(people: Sequence[str]) -> str:
    shown = ", ".join(people[:NAMES_SHOWN])
    more = len(people) - NAMES_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def _percent(value: float | None, *, short: bool = False) -> str:
    if value is None:
        return "–" if short else "no answers"
    return f"{100 * value:.0f} %"


def _cut(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
