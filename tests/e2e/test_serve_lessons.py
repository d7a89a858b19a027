"""`microlearn serve` starts on lessons that only have warnings, and says how many there are."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import count_database_run
from tests.standin import SlackStandIn
from tests.support.process import bot_environment, start_bot, wait_until_connected

GIVEAWAY = """\
---
title: A lesson with a giveaway
objective: Answer without cues
minutes: 3
quiz:
  - question: Which domain does the link really go to?
    options:
      - text: login.example.com
      - text: the part just before the first single slash, read from the right
        correct: true
      - text: example.com.login
---
Read host names from the right.
"""


def test_warnings_do_not_stop_serve(standin: SlackStandIn, tmp_path: Path) -> None:
    lessons = tmp_path / "lessons"
    (lessons / "giveaways").mkdir(parents=True)
    (lessons / "giveaways" / "course.yaml").write_text(
        "title: Giveaways\ndescription: One crafted cue.\n", encoding="utf-8"
    )
    (lessons / "giveaways" / "01-read-links.md").write_text(GIVEAWAY, encoding="utf-8")
    database_url = f"sqlite:///{tmp_path / 'microlearn.db'}"
    count_database_run(database_url)
    env = bot_environment(
        api_url=standin.api_url,
        database_url=database_url,
        SLACK_APP_TOKEN="xapp-standin",
        LESSONS_DIR=str(lessons),
    )
    bot = start_bot([], env, cwd=tmp_path)  # Socket Mode: the quickest way to a serving bot
    wait_until_connected(bot)
    assert bot.stop() == 0
    assert (
        f"microlearn: lessons from {lessons}: 1 course, 1 lesson, 1 question, 1 warning "
        f"(`microlearn lessons check {lessons}` lists it)"
    ) in "".join(bot.output)
