"""A snoozed learner gets nothing until the snooze ends: no reviews, no lessons sent by a lead;
reviews that fell due meanwhile move on by the time snoozed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.flows.test_quiz import MONDAY_0930_BERLIN, question
from tests.standin import SlackStandIn
from tests.support.harness import Bot

pytestmark = pytest.mark.sqlite_only(
    "Slack surface: what a snooze holds back; tests/storage postpones in the outbox on both"
)


def titles(standin: SlackStandIn, user_id: str, prefix: str) -> list[str]:
    return [str(m["text"]) for m in standin.messages(user_id) if str(m["text"]).startswith(prefix)]


def test_reviews_and_lessons_wait_for_the_end_of_a_snooze(bot: Bot, standin: SlackStandIn) -> None:
    ann = standin.add_user("ann", tz="Europe/Berlin")
    bot.command(ann, "join security-basics")
    bot.tick(MONDAY_0930_BERLIN)
    dm = standin.dm_channel(ann)
    bot.driver.click(ann, question(standin, dm, 1), channel_id=dm, action_id="answer_0")  # wrong
    assert bot.command(ann, "snooze 7").startswith(":zzz: Snoozed for 7 days")
    bot.command(bot.lead, f"send security-basics/share-files-safely to <@{ann}>")
    for day in range(1, 7):  # Tuesday (when the review fell due) to Sunday
        bot.tick(MONDAY_0930_BERLIN + timedelta(days=day))
    assert titles(standin, ann, "Review") == []
    assert len(titles(standin, ann, "New lesson")) == 1
    # A lesson the learner asks for is the exception: they want it now.
    assert bot.command(ann, "next").endswith("is on its way to your DMs.")
    bot.tick()
    assert len(titles(standin, ann, "New lesson")) == 2
    bot.tick(MONDAY_0930_BERLIN + timedelta(days=7))  # the next Monday: the snooze is over
    lessons = titles(standin, ann, "New lesson")
    assert len(lessons) == 4  # the one the lead sent, and the drip's next one
    assert sum("Share files" in text for text in lessons) == sum("MFA" in text for text in lessons)
    # The review fell due during the snooze, so its date moved on by the time snoozed.
    assert titles(standin, ann, "Review: ") == []
    bot.tick(MONDAY_0930_BERLIN + timedelta(days=8))  # Tuesday: a day after the snooze, as before
    assert len(titles(standin, ann, "Review: ")) == 1
