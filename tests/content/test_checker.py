"""`microlearn lessons check`: every problem as `path:line: message`, through the CLI."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from bot.cli import main

GOOD_LESSON = """\
---
title: Three tells of a phishing email
objective: Spot a phishing email before you click
minutes: 3
discussion: What's the most convincing phish you have seen?
practice: This week, report one suspicious email.
quiz:
  - question: Which sender is most suspicious?
    options:
      - text: it@example.com
      - text: it-support@examp1e.co
        correct: true
        feedback: Look-alike domains are the classic trick.
    explanation: Attackers register domains that differ by one character.
---
Hi {{ learner.first_name }}, lesson {{ lesson.number }} of {{ lesson.total }} in *{{ course.title }}*.

Check the sender's domain, the urgency, and where links really go.
"""


def make_course(root: Path, files: dict[str, str], course: str = "phish") -> Path:
    folder = root / course
    folder.mkdir(parents=True)
    files = {"course.yaml": "title: Spot the phish\ndescription: Short lessons.\n", **files}
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def check(folder: Path) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = main(["--env-file", "/nonexistent", "lessons", "check", str(folder)], out=out)
    return code, out.getvalue().splitlines()


def test_a_clean_folder_passes_with_a_summary(tmp_path: Path) -> None:
    make_course(tmp_path, {"01-three-tells.md": GOOD_LESSON})
    code, lines = check(tmp_path)
    assert code == 0
    assert lines == [f"{tmp_path}: 1 course, 1 lesson, 1 question, no problems"]


def test_the_shipped_lessons_pass() -> None:
    code, lines = check(Path("lessons"))
    assert code == 0, lines
    assert lines[-1].endswith("no problems")


@pytest.mark.parametrize(
    ("lesson", "line", "message"),
    [
        (
            GOOD_LESSON.replace("title: Three", "titel: Three"),
            2,
            "unknown key 'titel' (did you mean 'title'?)",
        ),
        (
            GOOD_LESSON.replace("minutes: 3", "minutes: 20"),
            4,
            "'minutes' must be a whole number from 1 to 15, got 20",
        ),
        (GOOD_LESSON.replace("minutes: 3\n", ""), 2, "missing 'minutes'"),
        (
            GOOD_LESSON.replace(
                "      - text: it@example.com",
                "      - text: it@example.com\n        correct: true",
            ),
            9,
            "a 'single' question has exactly one correct option, it has 2",
        ),
        (
            GOOD_LESSON.replace("    options:", "    kind: poll\n    options:"),
            10,
            "a 'poll' has no correct option",
        ),
        (
            GOOD_LESSON.replace("    options:", "    kind: multi\n    options:"),
            9,
            "'kind' must be one of single | multiple | true_false | poll | open, got 'multi'",
        ),
        (
            GOOD_LESSON.replace("        feedback: Look", "        feedbak: Look"),
            13,
            "unknown key 'feedbak' (did you mean 'feedback'?)",
        ),
        (
            GOOD_LESSON.replace(
                "objective: Spot a phishing email before you click", "objective: [spot, report]"
            ),
            3,
            "a lesson has ONE objective",
        ),
        (
            GOOD_LESSON.replace(
                "practice:",
                "media:\n  - kind: image\n    url: https://example.com/a.png\npractice:",
            ),
            7,
            "images need 'alt'",
        ),
        (
            GOOD_LESSON.replace(
                "practice:", "media:\n  - kind: video\n    url: ftp://example.com/a.mp4\npractice:"
            ),
            8,
            "media URLs must start with https:// or http://, got 'ftp://example.com/a.mp4'",
        ),
        (
            GOOD_LESSON.replace("title: Three tells of a phishing email", "title: [unclosed"),
            3,
            "unreadable YAML",
        ),
        (GOOD_LESSON.replace("minutes: 3", "minutes: 3\nminutes: 4"), 5, "duplicate key 'minutes'"),
        (
            GOOD_LESSON.replace("{{ learner.first_name }}", "{{ learner.frist_name }}"),
            16,
            "unknown template variable 'learner.frist_name'; a lesson may use learner.first_name, "
            "course.title, lesson.number, lesson.total",
        ),
        (GOOD_LESSON + "\nSee {{ company }}.\n", 20, "unknown template variable 'company'"),
        (GOOD_LESSON + "\n{% if learner.first_name %}\n", 20, "template error"),
        (
            GOOD_LESSON.replace("title: Three tells of a phishing email", "title: " + "x" * 151),
            2,
            "'title' is 151 characters; at most 150 fit",
        ),
        (
            GOOD_LESSON + "\n" + "word " * 700 + "\n",
            20,
            "this paragraph is 3499 characters in Slack; at most 3000",
        ),
        (
            GOOD_LESSON.replace("    options:", "    shuffle: no thanks\n    options:"),
            9,
            "'shuffle' must be true or false, got 'no thanks'; 'shuffle: false' shows the "
            "options in file order",
        ),
    ],
    ids=[
        "unknown-key",
        "minutes-range",
        "minutes-missing",
        "two-correct",
        "poll-correct",
        "bad-kind",
        "option-key",
        "two-objectives",
        "image-alt",
        "media-url",
        "bad-yaml",
        "duplicate-key",
        "jinja-typo",
        "jinja-unknown",
        "jinja-syntax",
        "long-title",
        "long-paragraph",
        "shuffle-not-a-boolean",
    ],
)
def test_problems_name_file_and_line(tmp_path: Path, lesson: str, line: int, message: str) -> None:
    folder = make_course(tmp_path, {"01-three-tells.md": lesson})
    code, lines = check(tmp_path)
    assert code == 1
    expected = f"{folder / '01-three-tells.md'}:{line}: "
    assert any(out.startswith(expected) and message in out for out in lines), lines


def test_file_names_and_duplicate_ids(tmp_path: Path) -> None:
    folder = make_course(
        tmp_path,
        {
            "01-three-tells.md": GOOD_LESSON,
            "02-three-tells.md": GOOD_LESSON,
            "3-intro.md": GOOD_LESSON,
        },
    )
    code, lines = check(tmp_path)
    assert code == 1
    assert (
        f"{folder / '3-intro.md'}:1: lesson files are named NN-lesson-id.md, like 01-spot-the-phish.md"
        in lines
    )
    assert (
        f"{folder / '02-three-tells.md'}:1: duplicate lesson id 'three-tells': also 01-three-tells.md"
        in lines
    )


def test_course_yaml_problems(tmp_path: Path) -> None:
    folder = make_course(
        tmp_path,
        {
            "course.yaml": "title: Spot the phish\ndescrption: typo\n",
            "01-three-tells.md": GOOD_LESSON,
        },
    )
    bad_name = make_course(tmp_path, {"01-three-tells.md": GOOD_LESSON}, course="Bad_Name")
    code, lines = check(tmp_path)
    assert code == 1
    course_file = folder / "course.yaml"
    assert any(line.startswith(f"{course_file}:2: unknown key 'descrption'") for line in lines)
    assert f"{course_file}:1: missing 'description'" in lines
    assert any(line.startswith(f"{bad_name}:1: course folder names") for line in lines)


def test_quiz_kind_rules(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.replace(
        "quiz:\n",
        "quiz:\n"
        "  - question: Pick any\n    kind: multiple\n    options: [a, b]\n"
        "  - question: True?\n    kind: true_false\n    options:\n      - {text: 'True', correct: true}\n"
        "      - {text: 'False'}\n      - {text: Maybe}\n"
        "  - question: Say more\n    kind: open\n    options: [a, b]\n"
        "  - question: Only one\n    options: [{text: a, correct: true}]\n",
    )
    folder = make_course(tmp_path, {"01-three-tells.md": lesson})
    code, lines = check(tmp_path)
    path = folder / "01-three-tells.md"
    assert code == 1
    assert f"{path}:10: a 'multiple' question needs at least one correct option" in lines
    assert f"{path}:13: a 'true_false' question has exactly two options (True and False)" in lines
    assert f"{path}:19: an 'open' question takes no options: people type their answer" in lines
    assert f"{path}:21: a 'single' question needs 2–10 options, it has 1" in lines


def test_a_missing_folder_is_one_clear_line(tmp_path: Path) -> None:
    code, lines = check(tmp_path / "absent")
    assert code == 1
    assert lines == [f"{tmp_path / 'absent'}:1: not a folder of courses (check LESSONS_DIR)"]
