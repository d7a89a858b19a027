"""`microlearn lessons check` warns about giveaway cues as `path:line: warning: …`, through the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.cli import main

COURSE_YAML = "title: Giveaways\ndescription: Quizzes crafted to give their answers away.\n"


def single(question: str, options: list[str], right: int, *, shuffle: bool = True) -> str:
    """A `single` question as YAML, options in the given order (`shuffle: false` if not shuffle)."""
    return _question(question, "single", options, {right}, shuffle=shuffle)


def multiple(question: str, options: list[str], right: set[int], *, shuffle: bool = True) -> str:
    return _question(question, "multiple", options, right, shuffle=shuffle)


def true_false(question: str, answer: bool) -> str:
    return _question(question, "true_false", ["True", "False"], {0 if answer else 1})


def _question(
    question: str, kind: str, options: list[str], right: set[int], *, shuffle: bool = True
) -> str:
    lines = [f"  - question: {json.dumps(question)}", f"    kind: {kind}"]
    if not shuffle:
        lines.append("    shuffle: false")
    lines.append("    options:")
    for index, text in enumerate(options):
        lines.append(f"      - text: {json.dumps(text, ensure_ascii=False)}")
        if index in right:
            lines.append("        correct: true")
    return "\n".join(lines) + "\n"


def lesson(*questions: str) -> str:
    front = "---\ntitle: A crafted lesson\nobjective: Answer without cues\nminutes: 3\nquiz:\n"
    return front + "".join(questions) + "---\nThe body of the lesson.\n"


def make_course(root: Path, lessons: list[str], course: str = "giveaways") -> Path:
    folder = root / course
    folder.mkdir(parents=True)
    (folder / "course.yaml").write_text(COURSE_YAML, encoding="utf-8")
    for number, text in enumerate(lessons, start=1):
        (folder / f"{number:02d}-lesson-{number}.md").write_text(text, encoding="utf-8")
    return folder


def check(folder: Path, *flags: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = main(["--env-file", "/nonexistent", "lessons", "check", *flags, str(folder)], out=out)
    return code, out.getvalue().splitlines()


def line_of(path: Path, text: str, occurrence: int = 1) -> int:
    """1-based line of the `occurrence`-th line of `path` containing `text`."""
    found = [n for n, line in enumerate(path.read_text().splitlines(), start=1) if text in line]
    return found[occurrence - 1]


def warnings(lines: list[str]) -> list[str]:
    return [line for line in lines if ": warning: " in line]


def warned(root: Path) -> list[str]:
    """The warnings `lessons check` prints for `root`, which must pass: warnings exit 0."""
    code, lines = check(root)
    assert code == 0, lines
    return warnings(lines)


def distinct(question: int, right: int, count: int = 4) -> tuple[list[str], int]:
    """Options of equal length that no other question shares, the right one at `right`."""
    return [f"Choice {question:02d}-{letter}" for letter in "ABCDEFGH"[:count]], right


def test_a_right_option_much_longer_than_the_wrong_ones(tmp_path: Path) -> None:
    questions = [
        single(
            "Which domain does the link go to?",
            ["examp1e.co", "example.co", "the domain just before the first single slash", "ex.com"],
            right=2,
        ),
        # Markdown is not length: 18 characters as read, against 17.
        single(
            "What do you do with a leaked key?",
            [
                "Rotate it at once",
                "Revoke [the key](https://example.com/keys) now",
                "Ignore it for now",
            ],
            right=1,
        ),
        # Longer than 1.5 times, but by 5 characters: too little to notice.
        single("Is it phishing?", ["Yes", "No", "Maybe so"], right=2),
    ]
    folder = make_course(tmp_path, [lesson(*questions)])
    path = folder / "01-lesson-1.md"
    assert warned(tmp_path) == [
        f"{path}:{line_of(path, 'first single slash')}: warning: the right option is much longer "
        "than the others (45 characters; the longest wrong one has 10): learners pick the "
        "longest option, so shorten it or lengthen the others"
    ]
    summary = check(tmp_path)[1][-1]
    assert summary == f"{tmp_path}: 1 course, 1 lesson, 3 questions, no problems, 1 warning"


def test_a_course_whose_true_false_answers_are_mostly_the_same(tmp_path: Path) -> None:
    mostly_false = [
        true_false("Spelling mistakes prove a message is phishing.", False),
        true_false("Deleting a phishing email protects your colleagues.", False),
        true_false("A padlock icon proves a site is genuine.", False),
        true_false("A passkey only works on the site it was made for.", True),
    ]
    folder = make_course(tmp_path, [lesson(*mostly_false[:2]), lesson(*mostly_false[2:])])
    balanced = [true_false(f"Statement {n}.", n % 2 == 0) for n in range(4)]
    make_course(tmp_path, [lesson(*balanced)], course="balanced")
    too_few_to_tell = [true_false(f"Statement {n}.", False) for n in range(3)]
    make_course(tmp_path, [lesson(*too_few_to_tell)], course="too-few")
    assert warned(tmp_path) == [
        f"{folder / 'course.yaml'}:1: warning: 3 of the course's 4 true/false questions are "
        "answered 'False': answering 'False' every time scores 75 %, so turn some statements "
        "around"
    ]


def test_an_option_repeated_across_questions_of_one_lesson(tmp_path: Path) -> None:
    questions = [
        single("Who decides at level 3?", ["You", "Your lead", "Both of you", "Nobody"], right=2),
        single("Who decides at level 5?", ["You", "Your lead", "The team", "HR"], right=0),
        # Two options are a yes/no choice, however often they repeat.
        single("Is level 1 for emergencies?", ["Yes", "No"], right=0),
        single("Is level 5 for new hires?", ["Yes", "No"], right=1),
    ]
    folder = make_course(tmp_path, [lesson(*questions)])
    path = folder / "01-lesson-1.md"
    code, lines = check(tmp_path)
    assert code == 0
    first = line_of(path, "Who decides at level 3?")
    assert warnings(lines) == [
        f"{path}:{line_of(path, 'text: ' + json.dumps(text), 2)}: warning: the option "
        f"{text!r} is also an option of the question on line {first}: a repeated option tells "
        "learners something about both questions, so word them differently"
        for text in ("You", "Your lead")
    ]


@pytest.mark.parametrize(
    ("options", "how"),
    [
        (
            ["“You’re always late.”", "“You seem annoyed.”", "Ask what got in the way"],
            "the only one not in quotation marks",
        ),
        (
            ["Run `git revert`", "Delete the branch", "Force-push over it"],
            "the only one with code formatting",
        ),
        (
            ["Report it first.", "Delete it", "Forward it to a colleague"],
            "the only one ending with a period",
        ),
        (
            ["report it first", "Delete it", "Forward it to a colleague"],
            "the only one not starting with a capital letter",
        ),
    ],
    ids=["quotes", "code", "period", "capital"],
)
def test_a_right_answer_phrased_unlike_the_others(
    tmp_path: Path, options: list[str], how: str
) -> None:
    right = 2 if how.endswith("quotation marks") else 0
    folder = make_course(tmp_path, [lesson(single("What do you do?", options, right=right))])
    path = folder / "01-lesson-1.md"
    assert warned(tmp_path) == [
        f"{path}:{line_of(path, json.dumps(options[right], ensure_ascii=False))}: warning: the "
        f"right option is {how}: learners spot the odd one out, so phrase the options alike"
    ]


def test_the_right_option_longest_in_most_questions_of_a_course(tmp_path: Path) -> None:
    questions = [
        single(
            f"Question {n}?",
            [f"Wrong {n}a", f"Wrong {n}b", f"Right one {n}", f"Wrong {n}c"],
            right=2,
        )
        for n in range(3)
    ] + [single("Question 3?", ["Right 3", "Wrong one 3a", "Wrong 3b"], right=0)]
    folder = make_course(tmp_path, [lesson(*questions[:2]), lesson(*questions[2:])])
    assert warned(tmp_path) == [
        f"{folder / 'course.yaml'}:1: warning: the right option is the longest in 3 of the "
        "course's 4 single-choice questions: learners pick the longest option, so make a wrong "
        "one the longest in some of them"
    ]


def test_the_right_option_always_in_the_same_place(tmp_path: Path) -> None:
    questions = [single(f"Question {n}?", *distinct(n, right=0), shuffle=False) for n in range(3)]
    folder = make_course(tmp_path, [lesson(questions[0]), lesson(*questions[1:])])
    assert warned(tmp_path) == [
        f"{folder / 'course.yaml'}:1: warning: the right option is always the first one in the "
        "course's 3 single-choice questions shown in file order (a random order would do that 2 times in 100): "
        "learners notice, so move some right answers elsewhere"
    ]


def test_the_right_option_never_last_over_many_questions(tmp_path: Path) -> None:
    questions = [
        single(f"Question {n}?", *distinct(n, right=n % 3), shuffle=False) for n in range(11)
    ]
    folder = make_course(tmp_path, [lesson(*questions[:6]), lesson(*questions[6:])])
    # Never last in 5 questions happens 24 times in 100 by chance: not worth a warning.
    make_course(tmp_path, [lesson(*questions[:5])], course="short")
    assert warned(tmp_path) == [
        f"{folder / 'course.yaml'}:1: warning: the right option is never the last one in the "
        "course's 11 single-choice questions shown in file order (a random order would do that 4 times in 100): "
        "learners notice, so move some right answers elsewhere"
    ]


def test_select_all_questions_whose_wrong_options_always_come_last(tmp_path: Path) -> None:
    questions = [
        multiple(
            f"Which apply ({n})?",
            [f"Yes {n}a", f"Yes {n}b", f"Yes {n}c", f"No {n}d"],
            {0, 1, 2},
            shuffle=False,
        )
        for n in range(3)
    ]
    folder = make_course(tmp_path, [lesson(*questions)])
    assert warned(tmp_path) == [
        f"{folder / 'course.yaml'}:1: warning: the wrong options come last in all 3 select-all "
        "questions of the course shown in file order (a random order would do that 2 times in 100): learners "
        "notice, so mix them in"
    ]


def test_positions_in_the_file_say_nothing_when_learners_see_shuffled_options(
    tmp_path: Path,
) -> None:
    singles = [single(f"Question {n}?", *distinct(n, right=0)) for n in range(11)]
    select_all = [
        multiple(f"Which apply ({n})?", [f"Yes {n}a", f"Yes {n}b", f"No {n}c"], {0, 1})
        for n in range(4)
    ]
    make_course(tmp_path, [lesson(*singles[:6]), lesson(*singles[6:]), lesson(*select_all)])
    assert warned(tmp_path) == []


def test_an_option_pointing_at_others_by_place_needs_the_file_order(tmp_path: Path) -> None:
    above = single("Which are tells?", ["A typo", "A rushed tone", "All of the above"], right=2)
    letters = multiple("Which?", ["Alpha one", "Beta two", "A and B"], {2})
    kept = single("Kept?", ["A typo here", "An odd link", "None of the above"], 2, shuffle=False)
    folder = make_course(tmp_path, [lesson(above, letters, kept)])
    path = folder / "01-lesson-1.md"
    hint = (
        "points at other options by their place, but each learner sees the options in an order "
        "of their own: add 'shuffle: false' to the question to keep the file order, or reword "
        "the option"
    )
    assert warned(tmp_path) == [
        f"{path}:{line_of(path, 'All of the above')}: warning: the option 'All of the above' "
        + hint,
        f"{path}:{line_of(path, 'A and B')}: warning: the option 'A and B' " + hint,
    ]


def test_strict_makes_warnings_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    question = single("Which?", ["No", "Nope", "The long and detailed right answer"], right=2)
    folder = make_course(tmp_path, [lesson(question)])
    code, lines = check(tmp_path, "--strict")
    assert code == 1
    assert len(warnings(lines)) == 1 and lines == warnings(lines)
    assert warnings(lines)[0].startswith(f"{folder / '01-lesson-1.md'}:")
    assert (
        capsys.readouterr().err.strip() == f"1 warning in {tmp_path} (--strict fails on warnings)"
    )
    assert check(tmp_path)[0] == 0


def test_problems_still_fail_and_come_before_warnings(tmp_path: Path) -> None:
    giveaway = lesson(single("Which?", ["No", "Nope", "The long and detailed right answer"], 2))
    broken = lesson(single("Which?", ["a", "b"], right=5))
    make_course(tmp_path, [giveaway, broken])
    code, lines = check(tmp_path)
    assert code == 1
    assert ": warning: " not in lines[0] and "exactly one correct option" in lines[0]
    assert len(warnings(lines)) == 1 and lines[-1] == warnings(lines)[0]


def test_the_shipped_lessons_give_nothing_away() -> None:
    code, lines = check(Path("lessons"), "--strict")
    assert warnings(lines) == []
    assert code == 0, lines
