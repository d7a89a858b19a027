"""A lead's drips: list them, and pause, resume or cancel one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.services.refused import Refused
from bot.services.roles import Roles
from bot.services.slots import next_due
from bot.storage.drips import DripRecord, DripRepository
from bot.storage.enrolments import EnrolmentRecord, EnrolmentRepository

ALLOWED = {"pause": ("active",), "resume": ("paused",), "cancel": ("active", "paused")}
STATUS = {"pause": "paused", "resume": "active", "cancel": "cancelled"}
PAST = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}


class Drips:
    def __init__(
        self,
        *,
        repository: DripRepository,
        enrolments: EnrolmentRepository,
        roles: Roles,
        kick: Callable[[], None] = lambda: None,
    ) -> None:
        self._repository = repository
        self._enrolments = enrolments
        self._roles = roles
        self.kick = kick

    def list_drips(self, *, team_id: str, lead_id: str, now: datetime) -> list[DripRecord]:
        self._roles.require_lead(team_id, lead_id, doing="list drips", now=now)
        return self._repository.drips(team_id)

    def team_drips(self, team_id: str) -> list[DripRecord]:
        return self._repository.drips(team_id)

    def change(
        self, *, team_id: str, lead_id: str, drip_id: int, action: str, now: datetime
    ) -> DripRecord:
        """Pause, resume or cancel a drip."""
        self._roles.require_lead(team_id, lead_id, doing=f"{action} drips", now=now)
        drip = self._repository.drip(team_id, drip_id)
        if drip is None:
            raise Refused(f"There is no drip #{drip_id}. `/learn schedules` lists them.")
        stalled = (
            action == "resume"
            and drip.status in ("active", "finished")
            and any(
                e.status == "paused" for e in self._enrolments.enrolments(team_id, drip_id=drip_id)
            )
        )
        if drip.status not in ALLOWED[action] and not stalled:
            raise Refused(f"Drip #{drip_id} is {drip.status}, so it can't be {PAST[action]}.")
        self._repository.set_drip_status(team_id, drip_id, STATUS[action], now=now)
        if action == "cancel":
            self._enrolments.cancel_pending(team_id, drip_id)
        if action == "resume":
            for enrolment in self._enrolments.enrolments(
                team_id, drip_id=drip_id, statuses=("active",)
            ):
                self._catch_up(enrolment, now=now)
            self.kick()
        updated = self._repository.drip(team_id, drip_id)
        assert updated is not None
        return updated

    def _catch_up(self, enrolment: EnrolmentRecord, *, now: datetime) -> None:
        """After a pause, a lesson whose slot has passed moves to the next slot."""
        if enrolment.next_due_at is not None and enrolment.next_due_at <= now:
            self._enrolments.reschedule(enrolment.id, next_due_at=next_due(enrolment, after=now))
