"""Writing courses as lesson files, and `import_bank` end to end (grouping, refusals, summary)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.content.cues import find_cues
from bot.content.importers import BankError, ImportReport, Skipped, import_bank
from bot.content.loader import load_catalog
from bot.content.writer import dump_lesson, slugify, write_course
from bot.domain.lesson import (
    Course,
    Lesson,
    LessonFormat,
    Media,
    MediaKind,
    Option,
    Question,
    QuestionKind,
)
from tests.support.fixtures import OWN_AIKEN, OWN_CSV, OWN_GIFT, moodle, needs_moodle

TRICKY = [
    "yes",
    "no",
    "on",
    "off",
    "null",
    "~",
    "1.0",
    "0x1F",
    "2024-01-01",
    "true",
    "a: b",
    "ends with:",
    "x #not a comment",
    "#starts with a hash",
    "{{ learner.first_name }}",
    "{a: 1}",
    "[1, 2]",
    "* bullet",
    "- dash",
    "> quote",
    "| pipe",
    "@at",
    "`tick`",
    "'single' and \"double\" quotes",
    "  leading and trailing spaces  ",
    "two\nlines",
    "trailing newline\n",
    "tab\there",
    "---",
    "...",
    "%percent",
    "!tag",
    "&anchor *alias",
    "é ü — “curly” 日本語 🙂",
    "x" * 1200 + " " + "y" * 1200,
]


def lesson(quiz: tuple[Question, ...] = (), **changes: Any) -> Lesson:
    fields: dict[str, Any] = {
        "course_id": "demo",
        "id": "first",
        "position": 1,
        "title": "First",
        "objective": "Know the first thing",
        "minutes": 3,
        "body": "Hi {{ learner.first_name }}.\n",
        "quiz": quiz,
    }
    fields.update(changes)
    return Lesson(**fields)


def front_matter(text: str) -> tuple[dict[str, Any], str]:
    assert text.startswith("---\n")
    front, _, body = text[4:].partition("\n---\n")
    data = yaml.safe_load(front)
    assert isinstance(data, dict)
    return data, body


def test_lesson_file_format_exactly() -> None:
    quiz = (
        Question(
            "Which sender?",
            options=(Option("it@example.com"), Option("it@examp1e.co", True, "Look-alike.")),
            explanation="One character off.",
        ),
        Question("Thoughts?", QuestionKind.OPEN),
        Question("Tea?", QuestionKind.POLL, (Option("Tea"), Option("Coffee"))),
    )
    assert dump_lesson(lesson(quiz)) == (
        "---\n"
        "title: First\n"
        "objective: Know the first thing\n"
        "minutes: 3\n"
        "quiz:\n"
        "- question: Which sender?\n"
        "  options:\n"
        "  - text: it@example.com\n"
        "  - text: it@examp1e.co\n"
        "    correct: true\n"
        "    feedback: Look-alike.\n"
        "  explanation: One character off.\n"
        "- question: Thoughts?\n"
        "  kind: open\n"
        "- question: Tea?\n"
        "  kind: poll\n"
        "  options:\n"
        "  - text: Tea\n"
        "  - text: Coffee\n"
        "---\n"
        "Hi {{ learner.first_name }}.\n"
    )


def test_a_question_kept_in_file_order_round_trips(tmp_path: Path) -> None:
    kept = Question(
        "Which are tells?",
        QuestionKind.MULTIPLE,
        (Option("Urgency"), Option("A look-alike domain"), Option("All of the above", True)),
        shuffle=False,
    )
    shuffled = Question("Tea?", QuestionKind.POLL, (Option("Tea"), Option("Coffee")))
    data, _ = front_matter(dump_lesson(lesson((kept, shuffled))))
    assert data["quiz"][0]["shuffle"] is False
    assert list(data["quiz"][0]) == ["question", "kind", "options", "shuffle"]
    assert "shuffle" not in data["quiz"][1]  # shuffled is the default: not written
    write_course(Course("demo", "Demo", "d", lessons=(lesson((kept, shuffled)),)), tmp_path / "d")
    loaded = load_catalog(tmp_path).catalog.courses[0].lessons[0].quiz
    assert [question.shuffle for question in loaded] == [False, True]
    assert loaded == (kept, shuffled)


def test_optional_keys_in_order_and_only_when_set() -> None:
    full = lesson(
        format=LessonFormat.VIDEO,
        media=(
            Media(MediaKind.IMAGE, "https://example.com/a.png", "An image"),
            Media(MediaKind.LINK, "https://example.com"),
        ),
        discussion="What did you see?",
        practice="Try it today.",
        body="No newline at the end",
    )
    data, body = front_matter(dump_lesson(full))
    assert list(data) == [
        "title",
        "objective",
        "minutes",
        "format",
        "media",
        "discussion",
        "practice",
    ]
    assert data["format"] == "video"
    assert data["media"] == [
        {"kind": "image", "url": "https://example.com/a.png", "alt": "An image"},
        {"kind": "link", "url": "https://example.com"},
    ]
    assert body == "No newline at the end\n"
    assert list(front_matter(dump_lesson(lesson()))[0]) == ["title", "objective", "minutes"]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_text_round_trips_through_yaml(tmp_path: Path, text: str) -> None:
    question = Question(
        text,
        QuestionKind.MULTIPLE,
        (Option(text, True, text), Option(text + "!")),
        explanation=text,
    )
    course = Course(
        id="demo",
        title=text,
        description=text,
        skills=(text,),
        lessons=(lesson((question,), title=text, objective=text, discussion=text, practice=text),),
    )
    course_file, lesson_file = write_course(course, tmp_path / "demo")
    assert yaml.safe_load(course_file.read_text("utf-8")) == {
        "title": text,
        "description": text,
        "skills": [text],
    }
    data, _ = front_matter(lesson_file.read_text("utf-8"))
    assert data == {
        "title": text,
        "objective": text,
        "minutes": 3,
        "discussion": text,
        "practice": text,
        "quiz": [
            {
                "question": text,
                "kind": "multiple",
                "options": [
                    {"text": text, "correct": True, "feedback": text},
                    {"text": text + "!"},
                ],
                "explanation": text,
            }
        ],
    }


def test_unicode_is_written_as_is(tmp_path: Path) -> None:
    course = Course("demo", "Café — 日本語 🙂", "d", lessons=(lesson(),))
    course_file = write_course(course, tmp_path / "demo")[0]
    assert course_file.read_text("utf-8") == "title: Café — 日本語 🙂\ndescription: d\n"


def test_file_names_are_numbered_in_order(tmp_path: Path) -> None:
    lessons = tuple(lesson(id=f"l{n}", position=n) for n in range(1, 4))
    files = write_course(Course("demo", "Demo", "d", lessons=lessons), tmp_path / "new" / "demo")
    assert [f.name for f in files] == ["course.yaml", "01-l1.md", "02-l2.md", "03-l3.md"]
    many = tuple(lesson(id=f"l{n}", position=n) for n in range(1, 101))
    names = [f.name for f in write_course(Course("big", "B", "d", lessons=many), tmp_path / "big")]
    assert names[1] == "001-l1.md" and names[-1] == "100-l100.md"
    assert names[1:] == sorted(names[1:])


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Quiz 1", "quiz-1"),
        ("Grant's Tomb", "grants-tomb"),
        ("  Éclairs & Crème brûlée!  ", "eclairs-creme-brulee"),
        ("a--b__c", "a-b-c"),
        ("日本語", ""),
        ("x" * 80, "x" * 50),
        ("word " * 20, ("word-" * 10)[:-1]),
    ],
)
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


# --- import_bank --------------------------------------------------------------------------------


def gift_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bank.gift"
    path.write_text(text, encoding="utf-8")
    return path


def test_import_own_gift_bank(tmp_path: Path) -> None:
    report = import_bank(OWN_GIFT, fmt="gift", course_id="workplace", into=tmp_path)
    folder = tmp_path / "workplace"
    assert [p.name for p in report.files] == [
        "course.yaml",
        "01-security-1-2.md",
        "02-security-2-2.md",
        "03-habits-1-2.md",
        "04-habits-2-2.md",
    ]
    assert report.course.description == (
        "Imported from workplace-basics.gift (GIFT): 13 questions."
    )
    lines = report.summary_lines()
    assert sum(line.startswith("imported  ") for line in lines) == 13
    assert [line.split(":")[0] for line in lines if line.startswith("skipped")] == [
        "skipped  line 81  Tools",
        "skipped  line 88  Digits",
        "skipped  line 90  Minutes",
        "skipped  line 93  Acronym",
        "skipped  line 96  Note",
    ]
    assert lines[-1] == f"Imported 13 questions into {folder} (4 lessons); skipped 5."
    data, _ = front_matter((folder / "01-security-1-2.md").read_text("utf-8"))
    assert data["quiz"][2] == {
        "question": "Approving a sign-in request you did not start is safe.",
        "kind": "true_false",
        "options": [
            {"text": "True", "feedback": "Attackers send pushes until someone taps yes."},
            {"text": "False", "correct": True, "feedback": "Right: deny it and report it."},
        ],
        "explanation": "This is called MFA fatigue.",
    }


def test_import_moodle_fixture(tmp_path: Path) -> None:
    report = import_bank(
        moodle("moodle-test-fixture.gift.txt"),
        fmt="gift",
        course_id="moodle-demo",
        into=tmp_path / "lessons",
    )
    folder = tmp_path / "lessons" / "moodle-demo"
    assert report.folder == folder
    assert sorted(p.name for p in folder.iterdir()) == [
        "01-quiz-1.md",
        "02-quiz-2.md",
        "course.yaml",
    ]
    assert [p.name for p in report.files] == ["course.yaml", "01-quiz-1.md", "02-quiz-2.md"]
    course = report.course
    assert (course.id, course.title) == ("moodle-demo", "Moodle demo")
    assert course.description == "Imported from moodle-test-fixture.gift.txt (GIFT): 6 questions."
    assert [(ls.id, ls.title, len(ls.quiz), ls.minutes) for ls in course.lessons] == [
        ("quiz-1", "Quiz 1", 3, 3),
        ("quiz-2", "Quiz 2", 3, 3),
    ]
    first = course.lessons[0]
    assert first.objective == "Check what you know about Moodle demo"
    assert (
        first.body == "Hi {{ learner.first_name }} — 3 quick questions from *{{ course.title }}*.\n"
    )
    assert (first.discussion, first.practice, first.media) == ("", "", ())
    assert report.counts == {
        QuestionKind.SINGLE: 1,
        QuestionKind.MULTIPLE: 1,
        QuestionKind.TRUE_FALSE: 3,
        QuestionKind.OPEN: 1,
    }
    assert report.summary_lines() == [
        "imported  open        Q8",
        "imported  single      Q2",
        "imported  multiple    colours",
        "imported  true_false  Q1",
        "imported  true_false  2-08 TSL",
        "imported  true_false  2-08 TSL",
        "skipped  line 5  Moodle activities: matching questions cannot be asked as a Slack quiz",
        "skipped  line 31  Q5: numerical questions are graded on a typed number, which a Slack"
        " quiz cannot ask",
        "skipped  line 34  Shortanswer: short-answer questions are graded on typed text, which a"
        " Slack quiz cannot ask",
        'warning  line 43: "Q1": ignored \'";\' after the answers',
        f"Imported 6 questions into {folder} (2 lessons); skipped 3.",
    ]
    data, _ = front_matter((folder / "02-quiz-2.md").read_text("utf-8"))
    assert data["quiz"][0] == {
        "question": "42 is the Absolute Answer to everything.",
        "kind": "true_false",
        "options": [
            {"text": "True", "feedback": "42 is the Ultimate Answer."},
            {"text": "False", "correct": True, "feedback": "You gave the right answer."},
        ],
        "explanation": "This is, of course, a Hitchiker's Guide to the Galaxy reference.",
    }


@pytest.mark.parametrize(
    ("bank", "fmt", "questions", "lessons"),
    [
        (OWN_GIFT, "gift", 13, 4),  # two categories, each split in two lessons
        (OWN_AIKEN, "aiken", 4, 1),
        (OWN_CSV, "csv", 6, 2),
        pytest.param("moodle-examples.gift.txt", "gift", 23, 5, marks=needs_moodle),
        pytest.param("moodle-test-fixture.gift.txt", "gift", 6, 2, marks=needs_moodle),
    ],
)
def test_imported_courses_pass_the_lesson_checker(
    tmp_path: Path, bank: Path | str, fmt: str, questions: int, lessons: int
) -> None:
    from bot.content.loader import load_catalog

    into = tmp_path / "lessons"
    path = bank if isinstance(bank, Path) else moodle(bank)
    report = import_bank(path, fmt=fmt, course_id="imported", into=into)
    result = load_catalog(into)
    assert [str(p) for p in result.problems] == []
    loaded = result.catalog.course("imported")
    assert loaded is not None
    assert (loaded.title, loaded.description) == (report.course.title, report.course.description)
    assert [lesson.quiz for lesson in loaded.lessons] == [ls.quiz for ls in report.course.lessons]
    assert (result.catalog.question_count, len(loaded.lessons)) == (questions, lessons)


def test_categories_make_lessons_and_long_runs_are_split(tmp_path: Path) -> None:
    questions = "\n\n".join(f"Q{n}? {{=a ~b}}" for n in range(7))
    text = (
        f"Loose? {{T}}\n\n$CATEGORY: $course$/top/Unit: one\n\n{questions}\n\n"
        "$CATEGORY: Other/Unit: one\n\nLast? {F}\n\n$CATEGORY: $course$/top/Unit: one\n\nBack? {T}"
    )
    report = import_bank(
        gift_file(tmp_path, text),
        fmt="gift",
        course_id="units",
        into=tmp_path,
        title="  My   units ",
    )
    assert report.course.title == "My units"
    got = [(ls.id, ls.title, ls.objective, len(ls.quiz)) for ls in report.course.lessons]
    assert got == [
        ("quiz-1", "Quiz 1", "Check what you know about My units", 1),
        ("unit-one-1-2", "Unit: one (1/2)", "Check what you know about Unit: one", 4),
        ("unit-one-2-2", "Unit: one (2/2)", "Check what you know about Unit: one", 4),
        ("unit-one", "Unit: one", "Check what you know about Unit: one", 1),
    ]
    assert [ls.position for ls in report.course.lessons] == [1, 2, 3, 4]
    assert report.course.lessons[2].quiz[-1].text == "Back?"


def test_lesson_ids_stay_unique(tmp_path: Path) -> None:
    text = "$CATEGORY: a/Quiz 1\n\nA? {T}\n\n$CATEGORY: b/Quiz 1\n\nB? {T}\n\n$CATEGORY: c/日本\n\nC? {T}"
    report = import_bank(gift_file(tmp_path, text), fmt="gift", course_id="ids", into=tmp_path)
    assert [ls.id for ls in report.course.lessons] == ["quiz-1", "quiz-1-2", "lesson-3"]


def test_minutes_grow_with_the_questions_within_limits() -> None:
    from bot.content.importers import lesson_minutes

    assert [lesson_minutes(n) for n in (1, 2, 4, 5, 20, 40)] == [1, 2, 3, 4, 15, 15]


def test_import_other_formats(tmp_path: Path) -> None:
    aiken_file = tmp_path / "bank.txt"
    aiken_file.write_text("One?\nA. x\nB. y\nANSWER: B\n\nBroken?\nA. x\n", encoding="utf-8")
    report = import_bank(aiken_file, fmt="aiken", course_id="aiken", into=tmp_path / "out")
    assert report.course.description == "Imported from bank.txt (Aiken): 1 question."
    assert report.skipped == (Skipped(6, "Broken?", "no 'ANSWER: X' line ends this question"),)
    assert report.summary_lines()[-1] == (
        f"Imported 1 question into {tmp_path / 'out' / 'aiken'} (1 lesson); skipped 1."
    )
    csv_file = tmp_path / "bank.csv"
    header = "question,kind," + ",".join(f"option_{n}" for n in range(1, 11)) + ",correct,expl"
    csv_file.write_text(header + "anation\nTea?,poll,Tea,Coffee,,,,,,,,,,\n", encoding="utf-8")
    report = import_bank(csv_file, fmt="csv", course_id="csv", into=tmp_path / "out")
    assert report.counts == {QuestionKind.POLL: 1}


def test_imported_options_pointing_by_place_keep_the_file_order(tmp_path: Path) -> None:
    aiken_file = tmp_path / "bank.txt"
    aiken_file.write_text(
        "Which are tells?\nA. Urgency\nB. A look-alike domain\nC. All of the above\nANSWER: C\n\n"
        "Which is safest?\nA. A passkey\nB. A password\nANSWER: A\n",
        encoding="utf-8",
    )
    report = import_bank(aiken_file, fmt="aiken", course_id="aiken", into=tmp_path / "out")
    assert report.warnings == (
        "\"Which are tells?\": the option 'All of the above' points at others by place, so its "
        "options keep the file's order (shuffle: false)",
    )
    [lesson_file] = report.files[1:]
    data, _ = front_matter(lesson_file.read_text("utf-8"))
    assert [question.get("shuffle") for question in data["quiz"]] == [False, None]
    assert find_cues(load_catalog(tmp_path / "out").catalog) == []  # nothing left to warn about


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"course_id": "Moodle Demo"}, "course id 'Moodle Demo' must be lowercase"),
        ({"course_id": ""}, "course id '' must be lowercase"),
        ({"fmt": "qti"}, "unknown format 'qti'"),
        ({"title": "x" * 151}, "the title is 151 characters"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, arguments: dict[str, Any], message: str) -> None:
    options: dict[str, Any] = {"fmt": "gift", "course_id": "demo", "title": None} | arguments
    with pytest.raises(ValueError, match=message):
        import_bank(gift_file(tmp_path, "A? {T}"), into=tmp_path / "out", **options)
    assert not (tmp_path / "out").exists()


def test_an_existing_course_folder_is_not_overwritten(tmp_path: Path) -> None:
    existing = tmp_path / "lessons" / "demo"
    existing.mkdir(parents=True)
    (existing / "course.yaml").write_text("title: Mine\n", encoding="utf-8")
    path = gift_file(tmp_path, "A? {T}")
    with pytest.raises(ValueError, match="already exists and is not empty"):
        import_bank(path, fmt="gift", course_id="demo", into=tmp_path / "lessons")
    assert [p.name for p in existing.iterdir()] == ["course.yaml"]
    (existing / "course.yaml").unlink()
    report: ImportReport = import_bank(
        path, fmt="gift", course_id="demo", into=tmp_path / "lessons"
    )
    assert len(report.course.lessons) == 1


def test_a_bank_with_nothing_to_ask_is_refused(tmp_path: Path) -> None:
    path = gift_file(tmp_path, "// only\n\nHow much? {#42}\n")
    with pytest.raises(BankError, match="no question to import: 1 skipped") as caught:
        import_bank(path, fmt="gift", course_id="demo", into=tmp_path / "out")
    assert "line 3" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_an_unwritable_destination_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot write"):
        import_bank(gift_file(tmp_path, "A? {T}"), fmt="gift", course_id="demo", into=blocker)


@pytest.mark.parametrize(
    ("category", "title"),
    [
        ("$course$/top/Unit 2", "Unit 2"),
        ("a/b//c", "b/c"),
        ("  Solo  ", "Solo"),
        ("a/b/", "b"),
        ("/", ""),
    ],
)
def test_category_titles(category: str, title: str) -> None:
    from bot.content.importers import category_title

    assert category_title(category) == title


def test_unreadable_bank_is_a_bank_error(tmp_path: Path) -> None:
    with pytest.raises(BankError, match="cannot be read"):
        import_bank(tmp_path / "missing.gift", fmt="gift", course_id="demo", into=tmp_path)
