"""Time zones: look up those still unknown, re-check stale ones, stop lessons to people gone."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from datetime import datetime, timedelta

from bot.domain.schedule import Days, next_slot, parse_time, zone
from bot.services.failures import USER_GONE, reason
from bot.services.notices import Notices
from bot.services.people import People
from bot.services.ports import Messenger, Profile, SlackError
from bot.services.wording import user
from bot.storage.enrolments import EnrolmentRecord, EnrolmentRepository
from bot.storage.learners import LearnerRecord, LearnerRepository
from bot.storage.lookups import LookupLeases

log = logging.getLogger(__name__)

PROFILE_STALE = timedelta(days=1)
PROFILE_BATCH = 200
BULK_PROFILES = 25  # above this many unknown people, read the directory (users.list) instead
# A directory read serves the next batches too, for this long: a fan-out to 10,000 people new to
# the bot took 12-13 s per batch of 200 to read it, in every process, and nothing was sent
# meanwhile. Someone missing from a reused directory is looked for in a fresh read before they
# count as gone.
DIRECTORY_REUSE = timedelta(minutes=10)
# One process at a time looks up a workspace's people (every worker and replica runs this job):
# it holds the workspace's lease for this long after each run that had people to look up, so
# the next batches stay with the process that holds the directory read. The others leave them.
LOOKUP_LEASE = timedelta(minutes=2)


class _Holder:
    """This process's name on a lease: host, pid and a random part (pids repeat across
    containers), drawn again in a forked child (gunicorn's workers fork from one master)."""

    def __init__(self) -> None:
        self._pid = 0
        self._name = ""

    @property
    def name(self) -> str:
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._name = f"{socket.gethostname()[:40]}/{self._pid}/{secrets.token_hex(4)}"
        return self._name


class ProfileRefresh:
    def __init__(
        self,
        *,
        learners: LearnerRepository,
        enrolments: EnrolmentRepository,
        notices: Notices,
        people: People,
        messenger: Messenger,
        leases: LookupLeases,
    ) -> None:
        self._leases = leases
        self._holder = _Holder()
        self._learners = learners
        self._enrolments = enrolments
        self._notices = notices
        self._people = people
        self._messenger = messenger
        self._directories: dict[str, tuple[datetime, dict[str, Profile]]] = {}

    def refresh(self, *, now: datetime) -> int:
        """Learn the time zone of people waiting for one, and re-check stale ones."""
        wanted = self._learners.learners_to_refresh(
            stale_before=now - PROFILE_STALE, limit=PROFILE_BATCH
        )
        by_team: dict[str, list[str]] = {}
        for team_id, user_id in wanted:
            by_team.setdefault(team_id, []).append(user_id)
        refreshed = 0
        for team_id, users in by_team.items():
            if not self._leases.take(
                team_id, holder=self._holder.name, now=now, lease=LOOKUP_LEASE
            ):
                continue  # another process is looking this workspace's people up
            if len(users) > BULK_PROFILES or self._kept(team_id, users, now=now) is not None:
                refreshed += self._from_directory(team_id, users, now=now)
            else:
                refreshed += self._one_by_one(team_id, users, now=now)
        return refreshed

    def _from_directory(self, team_id: str, users: list[str], *, now: datetime) -> int:
        """Many people: read the workspace's directory; who is not in it is gone."""
        try:
            directory = self._directory(team_id, users, now=now)
        except SlackError as error:
            log.warning("time zone lookup paused for %s: %s", team_id, error.code)
            return 0
        for user_id in users:
            if user_id not in directory:  # not in a directory just read: gone
                self._learners.mark_gone(team_id, user_id, now=now)
                self._stop_person(team_id, user_id, "user_not_found", now=now)
        # The batch in one transaction, and everyone's enrolments in one query: one commit per
        # person cost ~4 ms of CPU and a round trip or two each, 10,000 of them for a fan-out.
        saved = self._people.save_many(
            team_id, [directory[u] for u in users if u in directory], now=now
        )
        enrolments = self._enrolments.enrolments_of(
            team_id,
            [learner.user_id for learner, _ in saved if not learner.deactivated],
            statuses=("waiting", "active"),
        )
        moves: list[tuple[int, datetime, str]] = []
        for learner, previous in saved:
            if learner.deactivated:
                self._stop_person(team_id, learner.user_id, "account_inactive", now=now)
                continue
            moves += _moves(learner, previous, enrolments.get(learner.user_id, []), now=now)
        self._enrolments.activate_in_zones(moves)  # one transaction for the batch, too
        return len(saved)

    def _directory(self, team_id: str, users: list[str], *, now: datetime) -> dict[str, Profile]:
        """The workspace's directory, read again unless a read within DIRECTORY_REUSE has
        everyone asked for."""
        kept = self._kept(team_id, users, now=now)
        if kept is not None:
            return kept
        directory = {profile.user_id: profile for profile in self._messenger.profiles(team_id)}
        self._directories = {
            team: entry
            for team, entry in self._directories.items()
            if now - entry[0] < DIRECTORY_REUSE
        }
        self._directories[team_id] = (now, directory)
        return directory

    def _kept(self, team_id: str, users: list[str], *, now: datetime) -> dict[str, Profile] | None:
        """The directory read within DIRECTORY_REUSE, if it has everyone asked for. A few people
        are looked up from it too, rather than with users.info each: a fan-out's people come in
        a few at a time as its lessons go out (588 users.info calls in one 10,000-person run)."""
        kept = self._directories.get(team_id)
        if kept is None or now - kept[0] >= DIRECTORY_REUSE:
            return None
        return kept[1] if all(u in kept[1] for u in users) else None

    def _one_by_one(self, team_id: str, users: list[str], *, now: datetime) -> int:
        refreshed = 0
        try:
            for user_id in users:
                profile = self._messenger.profile(team_id, user_id)
                self._apply(team_id, user_id, profile, now=now)
                refreshed += 1
        except SlackError as error:
            if error.code in USER_GONE:
                self._learners.mark_gone(team_id, users[refreshed], now=now)
                self._stop_person(team_id, users[refreshed], error.code, now=now)
            log.warning("time zone lookup paused for %s: %s", team_id, error.code)
        return refreshed

    def _apply(self, team_id: str, user_id: str, profile: Profile, *, now: datetime) -> None:
        learner, previous = self._people.save(team_id, profile, now=now)
        enrolments = (
            []
            if learner.deactivated
            else self._enrolments.enrolments(
                team_id, recipient=user_id, statuses=("waiting", "active")
            )
        )
        self._follow(learner, previous, enrolments, now=now)

    def _follow(
        self,
        learner: LearnerRecord,
        previous: str | None,
        enrolments: list[EnrolmentRecord],
        *,
        now: datetime,
    ) -> None:
        """What a stored profile changes: lessons stop for someone deactivated; DM enrolments
        waiting for a zone, or whose zone changed, are scheduled in it."""
        if learner.deactivated:
            self._stop_person(learner.team_id, learner.user_id, "account_inactive", now=now)
            return
        self._enrolments.activate_in_zones(_moves(learner, previous, enrolments, now=now))

    def _stop_person(self, team_id: str, user_id: str, code: str, *, now: datetime) -> None:
        for enrolment in self._enrolments.enrolments(
            team_id, recipient=user_id, statuses=("waiting", "active", "paused")
        ):
            self._enrolments.stop(enrolment.id)
            self._notices.dm(
                team_id=team_id,
                user_id=enrolment.enrolled_by,
                key=f"gone:{enrolment.id}",
                text=f"{user(user_id)} can't get lessons any more ({reason(code)}), so I stopped "
                f"their lessons of *{enrolment.course}* (drip #{enrolment.drip_id}).",
                now=now,
                drip_id=enrolment.drip_id,
            )
            self._enrolments.finish_drip(team_id, enrolment.drip_id, now=now)


def _moves(
    learner: LearnerRecord,
    previous: str | None,
    enrolments: list[EnrolmentRecord],
    *,
    now: datetime,
) -> list[tuple[int, datetime, str]]:
    """The DM enrolments of someone active that a stored profile moves: those waiting for a
    zone, or whose zone changed, with their next slot in it ((id, due, zone) each)."""
    moves: list[tuple[int, datetime, str]] = []
    for enrolment in enrolments:
        if enrolment.recipient_kind != "dm":
            continue
        if enrolment.status == "active" and previous == learner.tz == enrolment.tz:
            continue
        if enrolment.status == "active" and enrolment.next_due_at is None:
            continue
        after = max(now, learner.snoozed_until) if learner.snoozed_until else now
        due = next_slot(
            Days.decode(enrolment.days),
            parse_time(enrolment.at_time),
            zone(learner.tz),
            after=after,
            start_on=enrolment.start_on,
        )
        moves.append((enrolment.id, due, learner.tz))
    return moves
