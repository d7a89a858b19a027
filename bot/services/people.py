"""Who people are (name, time zone) and what they may do (learner, lead, admin)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.services.ports import Messenger, Profile
from bot.storage.learners import LearnerRecord, LearnerRepository, ProfileFields

PROFILE_MAX_AGE = timedelta(hours=12)
# Whether someone is a Slack admin is asked again after this long: a demoted admin keeps
# admin and lead rights for two minutes at most, and a busy lead costs one users.info call
# per two minutes (Slack allows 100+ a minute).
ROLE_MAX_AGE = timedelta(minutes=2)


class People:
    def __init__(
        self, repository: LearnerRepository, messenger: Messenger, *, admins: frozenset[str]
    ) -> None:
        self._repository = repository
        self._messenger = messenger
        self._admins = admins
        # When each profile was last known fresh, so hot paths can skip the database entirely.
        self._checked: dict[tuple[str, str], datetime] = {}

    def learner(
        self, team_id: str, user_id: str, *, now: datetime, max_age: timedelta = PROFILE_MAX_AGE
    ) -> LearnerRecord:
        """The stored profile, refreshed from Slack (users.info) when older than `max_age`."""
        record = self._repository.learner(team_id, user_id)
        if not (record and record.tz_checked_at and now - record.tz_checked_at < max_age):
            record = self.save(team_id, self._messenger.profile(team_id, user_id), now=now)[0]
        if record.tz_checked_at is not None:
            self._checked[(team_id, user_id)] = record.tz_checked_at
        return record

    def refresh(
        self, team_id: str, user_id: str, *, now: datetime, max_age: timedelta = PROFILE_MAX_AGE
    ) -> None:
        """Make sure the stored profile is no older than `max_age`; cheap when it is known fresh."""
        checked = self._checked.get((team_id, user_id))
        if checked is not None and timedelta(0) <= now - checked < max_age:
            return
        self.learner(team_id, user_id, now=now, max_age=max_age)

    def save(
        self, team_id: str, profile: Profile, *, now: datetime
    ) -> tuple[LearnerRecord, str | None]:
        """Store a profile from Slack; also return the zone it had before, if known."""
        return self._repository.save_profile(
            team_id,
            profile.user_id,
            name=profile.name,
            first_name=profile.first_name,
            tz=profile.tz,
            is_admin=profile.is_admin,
            deactivated=profile.deleted or profile.is_bot,
            now=now,
        )

    def save_many(
        self, team_id: str, profiles: Sequence[Profile], *, now: datetime
    ) -> list[tuple[LearnerRecord, str | None]]:
        """`save` for many people at once (in one transaction), in user id order."""
        return self._repository.save_profiles(
            team_id,
            [
                ProfileFields(
                    user_id=profile.user_id,
                    name=profile.name,
                    first_name=profile.first_name,
                    tz=profile.tz,
                    is_admin=profile.is_admin,
                    deactivated=profile.deleted or profile.is_bot,
                )
                for profile in profiles
            ],
            now=now,
        )

    def is_admin(self, team_id: str, user_id: str, *, now: datetime) -> bool:
        """MICROLEARN_ADMINS, or a Slack admin or owner; SlackError when Slack cannot say."""
        return user_id in self._admins or self._slack_admin(team_id, user_id, now=now)

    def is_lead(
        self, team_id: str, user_id: str, *, now: datetime, max_age: timedelta = ROLE_MAX_AGE
    ) -> bool:
        """An admin, or granted the lead role (which `revoke_lead` ends at once)."""
        if user_id in self._admins or self._repository.is_lead(team_id, user_id):
            return True
        return self._slack_admin(team_id, user_id, now=now, max_age=max_age)

    def _slack_admin(
        self, team_id: str, user_id: str, *, now: datetime, max_age: timedelta = ROLE_MAX_AGE
    ) -> bool:
        return self.learner(team_id, user_id, now=now, max_age=max_age).is_admin

    def grant_lead(self, team_id: str, user_id: str, *, by: str, now: datetime) -> bool:
        return self._repository.grant_lead(team_id, user_id, granted_by=by, now=now)

    def revoke_lead(self, team_id: str, user_id: str) -> bool:
        return self._repository.revoke_lead(team_id, user_id)
