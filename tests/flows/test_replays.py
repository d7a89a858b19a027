"""A signed request acts once: the same bytes posted again within Slack's window get 401, while
Slack's own retries (signed anew) still work and events stay deduplicated by event id."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from tests.standin import SlackStandIn
from tests.support.harness import Bot, running_bot

# The tests not marked run on both databases: the statements only they run on PostgreSQL,
# or concurrency, locking and exactly-once that only PostgreSQL can show.
SLACK_SURFACE = pytest.mark.sqlite_only("Slack surface: request signatures and Slack's retries")

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def ann(standin: SlackStandIn) -> str:
    return standin.add_user("ann", real_name="Ann Lee", tz="Europe/Berlin")


def _command_body(bot: Bot, user: str, text: str) -> bytes:
    channel = bot.standin.dm_channel(user)
    return urlencode(
        {
            "command": "/learn",
            "text": text,
            "user_id": user,
            "team_id": bot.standin.team_id,
            "channel_id": channel,
            "response_url": bot.standin.new_response_url(user_id=user, channel_id=channel),
            "trigger_id": bot.standin.issue_trigger_id(user),
        }
    ).encode()


def _lessons(bot: Bot, user: str) -> list[str]:
    return [str(m["text"]) for m in bot.dm(user) if str(m["text"]).startswith("New lesson")]


@SLACK_SURFACE
def test_a_send_command_posted_three_times_sends_the_lesson_once(bot: Bot, ann: str) -> None:
    body = _command_body(bot, bot.lead, f"send security-basics/spot-phishing to <@{ann}>")
    headers = {**bot.driver.sign(body), **FORM}  # one signature, as captured off the wire
    statuses = [bot.driver.raw_post(body, headers).status for _ in range(3)]
    bot.tick()
    assert statuses == [200, 401, 401]
    assert _lessons(bot, ann) == ["New lesson: Spot a phishing message before you click (3 min)"]


@SLACK_SURFACE
def test_slack_retrying_an_event_is_accepted_and_counted_once_but_a_replay_is_refused(
    bot: Bot, standin: SlackStandIn, ann: str
) -> None:
    general = standin.add_channel("general", members=[ann, bot.lead])
    bot.command(bot.lead, f"send security-basics/spot-phishing to <#{general}|general>")
    bot.tick()
    thread_ts = next(
        m["ts"] for m in standin.messages(general) if str(m["text"]).startswith("New lesson")
    )
    _, first = bot.driver.user_says(ann, general, "Mine came from 'IT'.", thread_ts=thread_ts)
    envelope = json.dumps(first.request).encode()
    # Slack's retry: the same envelope and event id, a new delivery signed anew, retry headers.
    retry = {
        **bot.driver.sign(envelope),
        "Content-Type": "application/json",
        "X-Slack-Retry-Num": "1",
        "X-Slack-Retry-Reason": "http_timeout",
    }
    retried = bot.driver.raw_post(envelope, retry)
    replayed = bot.driver.raw_post(envelope, retry)  # the retry's bytes, captured and sent again
    assert (first.status, retried.status, replayed.status) == (200, 200, 401)
    assert "• Discussion replies: 1" in bot.command(ann, "progress")


def test_a_replay_to_another_process_on_the_same_database_is_refused(
    standin: SlackStandIn, database_url: str, ann: str
) -> None:
    with running_bot(standin, database_url) as one, running_bot(standin, database_url) as other:
        body = _command_body(one, ann, "help")
        headers = {**one.driver.sign(body), **FORM}
        assert one.driver.raw_post(body, headers).status == 200
        assert other.driver.raw_post(body, headers).status == 401
        assert other.driver.command(ann, "help").status == 200  # its own requests are fine
