"""Notices to a person in their DM with the bot: the one way any use case queues one."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.services.catalog import CatalogService
from bot.services.wording import plural
from bot.storage.db import Transaction
from bot.storage.drips import DripRepository
from bot.storage.outbox import Outbox

log = logging.getLogger(__name__)


class Notices:
    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def dm(
        self,
        *,
        team_id: str,
        user_id: str | None,
        key: str,
        text: str,
        now: datetime,
        drip_id: int | None = None,
        tx: Transaction | None = None,
    ) -> bool:
        """Queue `text` for `user_id`'s DM, once per `key`; False when `key` was queued before.

        The outbox's unique key is the memory: it holds across processes and restarts, so a
        retried request or event finds the key taken and nothing goes out twice.
        """
        if not user_id:  # None, or blank: the person was forgotten (`microlearn forget`)
            # Not the text: it names people and lessons, and logs keep no message texts.
            log.warning("nobody to tell about %s", key.split(":", 1)[0])
            return False
        return self._outbox.enqueue(
            team_id=team_id,
            dedupe_key=key,
            kind="notice",
            recipient=user_id,
            recipient_kind="dm",
            due_at=now,
            now=now,
            drip_id=drip_id,
            payload={"text": text},
            tx=tx,
        )


def announce_finished(
    notices: Notices,
    repository: DripRepository,
    catalog: CatalogService,
    *,
    team_id: str,
    drip_id: int,
    now: datetime,
    tx: Transaction | None = None,
) -> bool:
    """Tell a drip's lead it finished (or congratulate a learner who joined a course alone)."""
    drip = repository.drip(team_id, drip_id)
    if drip is None or not drip.created_by:  # its lead was forgotten: nobody to tell
        return False
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
    return notices.dm(
        team_id=team_id,
        user_id=drip.created_by,
        key=f"finished:{drip_id}",
        text=text,
        now=now,
        drip_id=drip_id,
        tx=tx,
    )
