"""Notices the bot sends on its own: a drip finished."""

from __future__ import annotations

from datetime import datetime

from bot.services.catalog import CatalogService
from bot.services.wording import plural
from bot.storage.db import Transaction
from bot.storage.drips import DripRepository
from bot.storage.outbox import Outbox


def announce_finished(
    outbox: Outbox,
    repository: DripRepository,
    catalog: CatalogService,
    *,
    team_id: str,
    drip_id: int,
    now: datetime,
    tx: Transaction | None = None,
) -> None:
    """Tell a drip's lead it finished (or congratulate a learner who joined a course alone)."""
    drip = repository.drip(team_id, drip_id)
    if drip is None or not drip.created_by:  # its lead was forgotten: nobody to tell
        return
    course = catalog.course(drip.course)
    title = course.title if course else drip.course
    lessons = len(course.lessons) if course else 0
    joined_alone = len(drip.targets) == 1 and drip.targets[0][:2] == ("user", drip.created_by)
    if joined_alone:  # a learner's own /learn join: congratulate, don't report
        text = (
            f":tada: You've finished *{title}*: all {plural(lessons, 'lesson')}. "
            "`/learn courses` lists what else there is."
        )
    else:
        text = (
            f":checkered_flag: Drip #{drip_id} has finished: *{title}*, "
            f"{plural(lessons, 'lesson')} to {plural(drip.enrolled, 'recipient')}. "
            f"`/learn report {drip.course}` shows how it went."
        )
    outbox.enqueue(
        team_id=team_id,
        dedupe_key=f"finished:{drip_id}",
        kind="notice",
        recipient=drip.created_by,
        recipient_kind="dm",
        due_at=now,
        now=now,
        drip_id=drip_id,
        payload={"text": text},
        tx=tx,
    )
