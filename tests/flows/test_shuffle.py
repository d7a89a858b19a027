"""Options shown in an order of each learner's own, stable for them; answers kept by identity.

Through the stand-in: lessons sent to several learners, their clicks, reviews and the report's
answers CSV. Which order a learner gets is fixed by a hash of the workspace, the learner and the
question. The stand-in's ids are fixed too, so every run draws the same orders; the assertions
do not depend on which they are, only that they are not all the file's order.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.content.loader import load_catalog
from bot.storage.answer_reports import AnswerReports
from tests.content.test_checker import make_course
from tests.standin import DriverResponse, SlackStandIn
from tests.support.harness import Bot, running_bot

# The tests not marked run on both databases: the statements only they run on PostgreSQL,
# or concurrency, locking and exactly-once that only PostgreSQL can show.
SLACK_SURFACE = pytest.mark.sqlite_only("Slack surface: the order options are shown in")

MONDAY_0930_BERLIN = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
LESSON_KEY = "phish/tells"
SENDERS = [
    "it@example.com",
    "it-support@examp1e.co",
    "hr@example.com",
    "payroll@example.com",
    "ceo@example.com",
]
TELLS = ["Urgency", "A look-alike domain", "Your first name", "A company logo", "A signature"]
REPORTING = ["The Report button", "Forward it to IT", "Call the help desk", "Delete it"]
LISTED = ["Pressure to act now", "A link to a login page", "An odd greeting", "All of the above"]
REPLIES = [  # longer than a button holds: listed as A, B, C … with letter buttons
    "Reply to the sender and ask whether the request is genuine before doing anything else at all",
    "Call the person on a number you already have and check the request with them directly, today",
    "Forward the message to your whole team so that everyone knows about it and can stay careful",
]
LESSON = f"""\
---
title: Tells of a phish
objective: Spot a phishing email before you click
minutes: 3
quiz:
  - question: Which sender is the phish?
    options:
      - text: {SENDERS[0]}
      - text: {SENDERS[1]}
        correct: true
        feedback: Look-alike domains are the classic trick.
      - text: {SENDERS[2]}
      - text: {SENDERS[3]}
      - text: {SENDERS[4]}
    explanation: One character differs.
  - question: Which of these are tells?
    kind: multiple
    options:
      - text: {TELLS[0]}
        correct: true
      - text: {TELLS[1]}
        correct: true
      - text: {TELLS[2]}
      - text: {TELLS[3]}
      - text: {TELLS[4]}
  - question: How do you report a phish?
    kind: poll
    options: {json.dumps(REPORTING)}
  - question: A QR code can lead to a phishing page.
    kind: true_false
    options:
      - text: "True"
        correct: true
      - text: "False"
  - question: Which are signs of a phish?
    shuffle: false
    options:
      - text: {LISTED[0]}
      - text: {LISTED[1]}
      - text: {LISTED[2]}
      - text: {LISTED[3]}
        correct: true
  - question: Your manager emails asking for gift cards. What do you do?
    options:
      - text: {REPLIES[0]}
      - text: {REPLIES[1]}
        correct: true
      - text: {REPLIES[2]}
---
Hi {{{{ learner.first_name }}}}.
"""
LETTER_LINE = re.compile(r"^\*([A-J])\.\* (.+)$", re.MULTILINE)


@pytest.fixture
def bot(standin: SlackStandIn, database_url: str, tmp_path: Path) -> Iterator[Bot]:
    lessons = tmp_path / "lessons"
    make_course(lessons, {"01-tells.md": LESSON}, course="phish")
    catalog = load_catalog(lessons).catalog
    with running_bot(standin, database_url, lessons=lessons, catalog=catalog) as running:
        yield running


def learners(standin: SlackStandIn, count: int) -> list[str]:
    return [
        standin.add_user(f"learner{n}", real_name=f"Learner {n}", tz="Europe/Berlin")
        for n in range(count)
    ]


def send(bot: Bot, *users: str) -> None:
    people = " ".join(f"<@{user}>" for user in users)
    assert "Sending" in bot.command(bot.lead, f"send {LESSON_KEY} to {people}")
    bot.tick()


def question(bot: Bot, user: str, number: int) -> dict[str, Any]:
    """The latest message of question `number` in the learner's DM."""
    dm = bot.standin.dm_channel(user)
    return [m for m in bot.standin.messages(dm) if m["text"].startswith(f"Question {number} of")][
        -1
    ]


def reviews(bot: Bot, user: str) -> list[dict[str, Any]]:
    dm = bot.standin.dm_channel(user)
    return [m for m in bot.standin.messages(dm) if m["text"].startswith("Review: ")]


def review_item(message: dict[str, Any], words: str) -> dict[str, Any]:
    """The question of a day's Review message that mentions `words`, as a message of its own."""
    items: dict[str, list[dict[str, Any]]] = {}
    for block in message["blocks"]:
        item, _, _ = str(block.get("block_id", "")).partition(".")
        if item.startswith("r") and block["type"] != "divider":
            items.setdefault(item, []).append(block)
    [blocks] = [b for b in items.values() if words in b[0]["text"]["text"]]
    return {
        "text": message["text"],
        "blocks": [{**b, "block_id": "answer"} if b["type"] == "actions" else b for b in blocks],
    }


def answer_elements(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Buttons, or the checkbox options, of a question message, in the order shown."""
    [actions] = [b for b in message["blocks"] if b.get("block_id") == "answer"]
    elements: list[dict[str, Any]] = actions["elements"]
    if elements[0]["type"] == "checkboxes":
        options: list[dict[str, Any]] = elements[0]["options"]
        return options
    return elements


def labels(message: dict[str, Any]) -> list[str]:
    """What the learner reads on the buttons or checkboxes, left to right."""
    return [element["text"]["text"] for element in answer_elements(message)]


def indexes(message: dict[str, Any]) -> list[int]:
    """The option index in the lesson file each button or checkbox carries, in the order shown."""
    return [int(str(element["value"]).rpartition(":")[2]) for element in answer_elements(message)]


def listed(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(letter, option text) as listed in the question, when options are too long for buttons."""
    return LETTER_LINE.findall(message["blocks"][0]["text"]["text"])


def shown_text(message: dict[str, Any] | None) -> str:
    assert message is not None
    return json.dumps(message["blocks"], ensure_ascii=False)


def click(bot: Bot, user: str, message: dict[str, Any], **how: Any) -> DriverResponse:
    dm = bot.standin.dm_channel(user)
    response = bot.driver.click(user, message, channel_id=dm, **how)
    assert response.status == 200
    return response


def forge(bot: Bot, response: DriverResponse, change: Any) -> DriverResponse:
    """The same signed block_actions request as `response`'s, changed by `change(payload)`."""
    payload = copy.deepcopy(response.request)
    change(payload)
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = {**bot.driver.sign(body), "Content-Type": "application/x-www-form-urlencoded"}
    return bot.driver.raw_post(body, headers)


def stored(bot: Bot) -> list[tuple[str, str, bool | None]]:
    rows = AnswerReports(bot.db).answer_rows(bot.standin.team_id, "phish")
    return [(row.user_id, row.choice, row.correct) for row in rows]


def answers_csv(bot: Bot) -> list[dict[str, str]]:
    bot.command(bot.lead, "report phish")
    [data] = [bytes(f["bytes"]) for f in bot.standin.files() if f["name"] == "phish-answers.csv"][
        -1:
    ]
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@SLACK_SURFACE
def test_eight_learners_sent_the_same_lesson_see_their_own_orders(
    bot: Bot, standin: SlackStandIn
) -> None:
    eight = learners(standin, 8)
    send(bot, *eight)
    senders = [labels(question(bot, user, 1)) for user in eight]
    tells = [labels(question(bot, user, 2)) for user in eight]
    polls = [labels(question(bot, user, 3)) for user in eight]
    replies = [[text for _, text in listed(question(bot, user, 6))] for user in eight]
    for orders, options in ((senders, SENDERS), (tells, TELLS), (polls, REPORTING)):
        assert all(sorted(order) == sorted(options) for order in orders)  # every option, once
        assert len({tuple(order) for order in orders}) > 1, orders  # not all the same
    assert len({tuple(order) for order in senders}) >= 3
    assert all(sorted(order) == sorted(REPLIES) for order in replies)
    assert len({tuple(order) for order in replies}) > 1
    # True/False stays True/False; `shuffle: false` keeps the author's order for everyone.
    assert all(labels(question(bot, user, 4)) == ["True", "False"] for user in eight)
    assert all(labels(question(bot, user, 5)) == LISTED for user in eight)
    # Whatever the place, a button carries its option's index in the file.
    for user in eight:
        q1 = question(bot, user, 1)
        assert [SENDERS[index] for index in indexes(q1)] == labels(q1)


@SLACK_SURFACE
def test_one_learner_sees_the_same_order_on_every_render_review_and_feedback(
    bot: Bot, standin: SlackStandIn
) -> None:
    [ann] = learners(standin, 1)
    bot.clock.set(MONDAY_0930_BERLIN)
    send(bot, ann)
    first = {number: question(bot, ann, number) for number in (1, 2, 3, 6)}
    order = {number: indexes(message) for number, message in first.items()}
    letters = listed(first[6])
    assert any(shown != sorted(shown) for shown in order.values())  # not just the file's order

    send(bot, ann)  # the same lesson again: a new delivery, rendered afresh
    again = {number: question(bot, ann, number) for number in (1, 2, 3, 6)}
    assert again[1]["ts"] != first[1]["ts"]
    assert {number: indexes(message) for number, message in again.items()} == order
    assert listed(again[6]) == letters

    # Feedback names the options in the order shown: the two picked, the right ones missed.
    picked = [order[2][0], order[2][-1]]
    click(bot, ann, again[2], action_id="answer_submit", selected=[str(i) for i in picked])
    answered = shown_text(standin.find_message(standin.dm_channel(ann), again[2]["ts"]))
    in_order = "; ".join(TELLS[i] for i in order[2] if i in picked)
    assert f"You answered *{in_order}*." in answered
    if set(picked) != {0, 1}:
        right = "; ".join(TELLS[i] for i in order[2] if i in (0, 1))
        assert f"The right answer: *{right}*." in answered

    # The poll's tally lists the options in the learner's order.
    click(bot, ann, again[3], action_id=f"answer_{order[3][0]}")
    tally = shown_text(standin.find_message(standin.dm_channel(ann), again[3]["ts"]))
    places = [tally.index(f"% {REPORTING[i]} (") for i in order[3]]
    assert places == sorted(places)

    # Answered in place, the letters list stays as it was shown.
    wrong = next(i for i in order[6] if i != 1)
    click(bot, ann, again[6], action_id=f"answer_{wrong}")
    updated = standin.find_message(standin.dm_channel(ann), again[6]["ts"])
    assert updated is not None and listed(updated) == letters
    assert "❌" in shown_text(updated) and f"The right answer: *{REPLIES[1]}*." in shown_text(
        updated
    )

    # A missed question comes back another day, its options where they were.
    wrong_sender = next(i for i in order[1] if i != 1)
    click(bot, ann, again[1], action_id=f"answer_{wrong_sender}")
    bot.tick(MONDAY_0930_BERLIN + timedelta(days=2))
    [review] = reviews(bot, ann)  # the day's reviews come in one message
    assert indexes(review_item(review, "Which sender")) == order[1]
    assert listed(review_item(review, "gift cards")) == letters


@SLACK_SURFACE
def test_answers_and_the_answers_csv_name_options_whatever_the_order(
    bot: Bot, standin: SlackStandIn
) -> None:
    eight = learners(standin, 8)
    send(bot, *eight)
    bot.tick()  # the learners' names, looked up by the tick
    seen: set[tuple[int, ...]] = set()
    for user in eight:
        q1, q2, q6 = (question(bot, user, n) for n in (1, 2, 6))
        seen.add(tuple(indexes(q1)))
        # Everyone clicks the same options by identity, wherever each one shows them.
        click(bot, user, q1, action_id="answer_3")
        click(bot, user, q2, action_id="answer_submit", selected=["4", "0"])
        letter = next(letter for letter, text in listed(q6) if text == REPLIES[1])
        click(bot, user, q6, text=letter)
    assert len(seen) > 1  # they were shown different orders
    assert sorted(stored(bot)) == sorted(
        (user, choice, correct)
        for user in eight
        for choice, correct in (("3", False), ("0;4", False), ("1", True))
    )
    rows = answers_csv(bot)
    fields = ("course", "lesson", "question", "kind", "answer", "correct", "attempt")
    per_learner = {
        user: sorted(tuple(row[f] for f in fields) for row in rows if row["learner_id"] == user)
        for user in eight
    }
    expected = sorted(
        [
            ("phish", "tells", "Which sender is the phish?", "single", SENDERS[3], "false", "1"),
            (
                "phish",
                "tells",
                "Which of these are tells?",
                "multiple",
                f"{TELLS[0]}; {TELLS[4]}",
                "false",
                "1",
            ),
            (
                "phish",
                "tells",
                "Your manager emails asking for gift cards. What do you do?",
                "single",
                REPLIES[1],
                "true",
                "1",
            ),
        ]
    )
    assert all(answered == expected for answered in per_learner.values()), per_learner


@SLACK_SURFACE
def test_a_channel_post_has_one_order_and_each_answer_is_named_as_shown(
    bot: Bot, standin: SlackStandIn
) -> None:
    ann, bob = learners(standin, 2)
    general = standin.add_channel("general", members=[ann, bob, bot.lead])
    assert "Sending" in bot.command(bot.lead, f"send {LESSON_KEY} to <#{general}|general>")
    bot.tick()
    posts = {
        number: [
            m for m in standin.messages(general) if m["text"].startswith(f"Question {number} of")
        ][-1]
        for number in (2, 6)
    }
    boxes = indexes(posts[2])
    assert (boxes, listed(posts[6])) != (sorted(boxes), list(zip("ABC", REPLIES, strict=True)))
    for user in (ann, bob):  # both tick the same boxes, shown to both in the channel's order
        bot.driver.click(
            user, posts[2], channel_id=general, action_id="answer_submit", selected=["4", "1"]
        )
        bot.driver.click(user, posts[6], channel_id=general, text=listed(posts[6])[0][0])
    named = "; ".join(TELLS[i] for i in boxes if i in (1, 4))
    for user in (ann, bob):
        said = [json.dumps(e["blocks"], ensure_ascii=False) for e in standin.ephemerals(user=user)]
        assert any(f"You answered *{named}*." in text for text in said), said
        assert any(f"You answered *{listed(posts[6])[0][1]}*." in text for text in said), said
    first = str(REPLIES.index(listed(posts[6])[0][1]))
    assert sorted(stored(bot)) == sorted(
        [(user, "1;4", False) for user in (ann, bob)]
        + [(user, first, first == "1") for user in (ann, bob)]
    )


@SLACK_SURFACE
def test_letter_buttons_follow_the_order_listed(bot: Bot, standin: SlackStandIn) -> None:
    eight = learners(standin, 8)
    send(bot, *eight)
    assert len({tuple(listed(question(bot, user, 6))) for user in eight}) > 1
    for user in eight:
        q6 = question(bot, user, 6)
        shown = listed(q6)
        assert [letter for letter, _ in shown] == ["A", "B", "C"]
        assert labels(q6) == ["A", "B", "C"]  # buttons carry letters, in the listed order
        assert [REPLIES[i] for i in indexes(q6)] == [text for _, text in shown]
    ann = eight[0]
    q6 = question(bot, ann, 6)
    letter, text = listed(q6)[0]
    click(bot, ann, q6, text=letter)  # the button A: the option listed at A
    assert stored(bot) == [(ann, str(REPLIES.index(text)), REPLIES.index(text) == 1)]
    answered = shown_text(standin.find_message(standin.dm_channel(ann), q6["ts"]))
    assert f"You answered *{text}*." in answered


# Options question 1 does not have, each forged on its own button and checkbox request.
FORGED = ("5", "7", "10", "-1", "1e0", "", "99999999999999999999")


@SLACK_SURFACE
def test_a_forged_option_is_refused_whatever_the_order(bot: Bot, standin: SlackStandIn) -> None:
    """Each forgery is refused on the same lesson (one bot for all of them: each is refused
    before anything is stored, so none changes what the next one meets)."""
    [ann] = learners(standin, 1)
    send(bot, ann)
    q1, q2, q4 = (question(bot, ann, n) for n in (1, 2, 4))
    real = click(bot, ann, q4, action_id="answer_0")  # a real click, signed, to forge from
    taken = stored(bot)
    ref1 = str(answer_elements(q1)[0]["value"]).rpartition(":")[0]
    ref2 = str(q2["blocks"][-1]["elements"][-1]["value"])

    for forged in FORGED:

        def button(payload: dict[str, Any], forged: str = forged) -> None:
            # an option question 1 does not have
            payload["actions"][0].update(action_id="answer_5", value=f"{ref1}:{forged}")

        def checkbox(payload: dict[str, Any], forged: str = forged) -> None:
            # Submit with a box question 2 does not have
            payload["actions"][0].update(action_id="answer_submit", value=ref2)
            ticked = [
                {"text": {"type": "plain_text", "text": "x"}, "value": v} for v in ("1", forged)
            ]
            payload["state"] = {
                "values": {"answer": {"answer_choices": {"selected_options": ticked}}}
            }

        for change in (button, checkbox):
            replies = len(standin.responses())
            assert forge(bot, real, change).status == 200, forged
            assert stored(bot) == taken, forged  # nothing recorded …
            [reply] = standin.responses()[replies:]  # … and the clicker is told, privately
            assert reply["body"]["response_type"] == "ephemeral", forged
            assert reply["body"]["text"] in (
                "That answer doesn't fit this question. Pick one of its options.",
                "Tick at least one option, then press Submit.",
            ), forged
    # The questions are still open to the options they show.
    click(bot, ann, q1, action_id="answer_1")
    click(bot, ann, q2, action_id="answer_submit", selected=["1", "0"])
    assert sorted(stored(bot)) == sorted([*taken, (ann, "1", True), (ann, "0;1", True)])
