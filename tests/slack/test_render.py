"""Rendering lessons and questions into Block Kit, within Slack's limits."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from bot.cli import main
from bot.content.loader import load_catalog
from bot.domain.lesson import (
    Catalog,
    Course,
    Lesson,
    Media,
    MediaKind,
    Option,
    Question,
    QuestionKind,
)
from bot.slack import blockkit, render
from bot.slack.mrkdwn import to_mrkdwn
from tests.standin import validate_message as standin_validate

CATALOG = load_catalog(Path("lessons")).catalog


def _lesson(body: str = "Hello {{ learner.first_name }}.", **changes: Any) -> tuple[Lesson, Course]:
    lesson = Lesson(
        course_id="c",
        id="l",
        position=2,
        title="Three tells",
        objective="Spot a phish",
        minutes=3,
        body=body,
        practice="Report **one** email.",
    )
    lesson = replace(lesson, **changes)
    course = Course(
        id="c", title="Phish & chips", description="d", lessons=(lesson, lesson, lesson)
    )
    return lesson, course


def _texts(message: dict[str, Any]) -> list[str]:
    return [block["text"]["text"] for block in message["blocks"] if block["type"] == "section"]


def test_every_shipped_lesson_renders_within_slacks_limits() -> None:
    assert CATALOG.lesson_count >= 15
    assert render.check_catalog(CATALOG) == []
    for course in CATALOG.courses:
        for lesson in course.lessons:
            for message in render.preview(lesson, course, first_name="Maximiliane-Alexandra"):
                assert blockkit.check_message(message) == [], lesson.key
                payload = {"text": message["text"], "blocks": message["blocks"]}
                assert standin_validate(payload) == [], lesson.key  # an independent validator


@pytest.mark.parametrize(
    ("markdown", "mrkdwn"),
    [
        ("**bold** and *it* and ~~gone~~", "*bold* and _it_ and ~gone~"),
        ("# Heading **strong**", "*Heading strong*"),
        ("[Slack](https://slack.com) `x<y`", "<https://slack.com|Slack> `x&lt;y`"),
        ("AT&T <b>", "AT&amp;T &lt;b&gt;"),
        ("- one\n- two\n  1. deep", "• one\n• two\n    1. deep"),
        ("3. three\n4. four", "3. three\n4. four"),
        ("> quoted\n> text", "> quoted text"),
        ("```\na < b\n```", "```\na &lt; b\n```"),
        ("line one\nline two", "line one line two"),
        ("para one\n\npara two", "para one\n\npara two"),
    ],
)
def test_markdown_becomes_slack_mrkdwn(markdown: str, mrkdwn: str) -> None:
    assert to_mrkdwn(markdown) == mrkdwn


def test_a_lesson_message_has_header_context_body_practice_and_done() -> None:
    lesson, course = _lesson(
        media=(
            Media(MediaKind.IMAGE, "https://example.com/a.png", "A phish with three tells circled"),
            Media(MediaKind.VIDEO, "https://example.com/v.mp4"),
        )
    )
    [message] = render.lesson_messages(lesson, course, first_name="<Ann>", done_value="d1")
    kinds = [block["type"] for block in message["blocks"]]
    assert kinds == ["header", "context", "section", "image", "actions", "section", "actions"]
    assert message["blocks"][0]["text"]["text"] == "Three tells"
    assert message["blocks"][1]["elements"][0]["text"] == ":stopwatch: 3 min · Spot a phish"
    assert _texts(message)[0] == "Hello &lt;Ann&gt;."
    assert message["blocks"][3]["alt_text"] == "A phish with three tells circled"
    assert message["blocks"][4]["elements"][0]["url"] == "https://example.com/v.mp4"
    assert _texts(message)[1] == ":dart: *Try it:* Report *one* email."
    done = message["blocks"][-1]["elements"][0]
    assert (done["action_id"], done["text"]["text"], done["value"]) == (
        "lesson_done",
        "✓ Done",
        "d1",
    )
    assert message["text"] == "New lesson: Three tells (3 min)"


def test_long_bodies_split_across_messages_at_paragraph_boundaries() -> None:
    paragraphs = [f"Paragraph {n}: " + "lorem ipsum " * 200 for n in range(80)]
    lesson, course = _lesson(body="\n\n".join(paragraphs))
    messages = render.lesson_messages(lesson, course, first_name="Ann", done_value="d")
    assert len(messages) >= 2
    for message in messages:
        assert blockkit.check_message(message) == []
    sent = "\n\n".join(text for message in messages for text in _texts(message)[:None])
    for paragraph in paragraphs:  # every paragraph arrives whole, in order
        assert paragraph.strip() in sent
    assert sent.index("Paragraph 10:") < sent.index("Paragraph 79:")
    dones = [m for m in messages if m["blocks"][-1].get("block_id") == "done"]
    assert dones == [messages[-1]]
    assert messages[1]["text"] == f"Three tells (part 2 of {len(messages)})"


def test_single_choice_buttons_carry_the_option_text() -> None:
    question = Question(
        "Which sender is most suspicious?",
        QuestionKind.SINGLE,
        (Option("it@example.com"), Option("it-support@examp1e.co", correct=True)),
    )
    lesson, _ = _lesson(quiz=(question,))
    message = render.question_message(question, lesson, number=1, ref="r7")
    buttons = message["blocks"][1]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["it@example.com", "it-support@examp1e.co"]
    assert [b["value"] for b in buttons] == ["r7:0", "r7:1"]
    assert message["blocks"][0]["text"]["text"].startswith("*Question 1 of 1* · Three tells\n")


def test_options_too_long_for_a_button_are_listed_with_letters() -> None:
    long = "A very long option " * 5
    question = Question("Pick", QuestionKind.SINGLE, (Option(long, correct=True), Option("short")))
    lesson, _ = _lesson(quiz=(question,))
    message = render.question_message(question, lesson, number=1, ref="r")
    assert [b["text"]["text"] for b in message["blocks"][1]["elements"]] == ["A", "B"]
    assert f"*A.* {long}" in message["blocks"][0]["text"]["text"]
    assert blockkit.check_message(message) == []


@pytest.mark.parametrize(
    ("order", "shown"),
    [((2, 0, 1), ["c", "a", "b"]), ((0, 0, 1), ["a", "b", "c"]), ((0, 1), ["a", "b", "c"])],
    ids=["shuffled", "not-a-permutation", "too-short"],
)
def test_options_in_the_order_given_and_file_order_for_anything_else(
    order: tuple[int, ...], shown: list[str]
) -> None:
    question = Question("Pick", QuestionKind.SINGLE, (Option("a", True), Option("b"), Option("c")))
    lesson, _ = _lesson(quiz=(question,))
    message = render.question_message(question, lesson, number=1, ref="r", order=order)
    buttons = message["blocks"][1]["elements"]
    assert [b["text"]["text"] for b in buttons] == shown
    assert [b["value"] for b in buttons] == [f"r:{'abc'.index(text)}" for text in shown]


def test_multiple_choice_is_checkboxes_and_submit_and_open_is_an_answer_button() -> None:
    multiple = Question(
        "Pick all", QuestionKind.MULTIPLE, (Option("a", correct=True), Option("b"), Option("c"))
    )
    open_question = Question("Say more", QuestionKind.OPEN)
    lesson, _ = _lesson(quiz=(multiple, open_question))
    message = render.question_message(multiple, lesson, number=1, ref="r")
    checkboxes, submit = message["blocks"][-1]["elements"]
    assert checkboxes["type"] == "checkboxes"
    assert [o["value"] for o in checkboxes["options"]] == ["0", "1", "2"]
    assert (submit["action_id"], submit["text"]["text"]) == ("answer_submit", "Submit")
    message = render.question_message(open_question, lesson, number=2, ref="r")
    [button] = message["blocks"][-1]["elements"]
    assert (button["action_id"], button["text"]["text"]) == ("answer_open", "Answer")


def test_preview_prints_every_message_as_json_with_builder_links() -> None:
    out = io.StringIO()
    code = main(
        [
            "--env-file",
            "/nonexistent",
            "lessons",
            "preview",
            "security-basics/spot-phishing",
            "--learner-name",
            "Priya",
        ],
        out=out,
    )
    assert code == 0
    document, _, links = out.getvalue().partition("\nBlock Kit Builder:\n")
    parsed = json.loads(document)
    lesson = CATALOG.find_lessons("security-basics/spot-phishing")[0]
    assert [m["kind"] for m in parsed["messages"]] == ["lesson"] + [
        f"question:{q.kind.value}" for q in lesson.quiz
    ]
    assert "Hi Priya" in parsed["messages"][0]["blocks"][2]["text"]["text"]
    link_lines = links.strip().splitlines()
    assert len(link_lines) == len(parsed["messages"])
    url = link_lines[0].split(": ", 1)[1]
    assert url.startswith("https://app.slack.com/block-kit-builder/#")
    blocks = json.loads(unquote(url.split("#", 1)[1]))["blocks"]
    assert blocks == parsed["messages"][0]["blocks"]


def test_preview_of_an_unknown_lesson_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--env-file", "/nonexistent", "lessons", "preview", "nope/nothing"])
    assert code == 1
    assert "lesson 'nope/nothing' was not found in lessons" in capsys.readouterr().err


def test_empty_catalog_has_no_render_problems() -> None:
    assert render.check_catalog(Catalog()) == []


def test_graded_feedback_is_rendered_once_yet_every_caller_gets_its_own_copy() -> None:
    question = Question(
        text="Which link is real?",
        options=(Option("a.example", correct=True, feedback="Yes."), Option("b.example")),
        explanation="Read the host.",
    )

    def wrong(asked: Question, *, cached: bool = True) -> dict[str, Any]:
        return render.feedback_message(
            asked, choice=(1,), text="", correct=False, already=False, review=False, cached=cached
        )

    first = wrong(question)
    assert first == wrong(question, cached=False)
    first["blocks"].clear()  # a caller changing its copy changes nobody else's
    again = wrong(question)
    assert "❌" in json.dumps(again, ensure_ascii=False) and again["blocks"]
    edited = replace(question, explanation="Read the host name from the right.")
    assert "from the right" in json.dumps(wrong(edited))
