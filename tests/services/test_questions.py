"""`<course>-questions.csv` and `lessons stats` on an answer set with known figures."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from bot.domain.lesson import Course, Lesson, Option, Question, QuestionKind
from bot.services.csvfile import FORMULA_STARTS
from bot.services.questions import analyse_course, questions_csv, stats_table
from bot.storage.answer_reports import AnswerRow

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LEARNERS = [f"U{n:02}" for n in range(12)]  # U00 … U11
PICK = Question(
    "=Which habit sticks?",  # a question text a spreadsheet would run, unless defused
    QuestionKind.SINGLE,
    (
        Option("Small and daily", correct=True),
        Option("Big and weekly"),
        Option("-Whenever"),
        Option("Never"),
    ),
)
TRUE = (Option("True", correct=True), Option("False"))
LESSON = Lesson(
    course_id="habits",
    id="pick",
    position=1,
    title="Pick a habit",
    objective="Pick one",
    minutes=2,
    body="",
    quiz=(
        PICK,
        Question(
            "How often do you review?", QuestionKind.POLL, (Option("Daily"), Option("Weekly"))
        ),
        Question("What will you start?", QuestionKind.OPEN),
        Question("Habits need cues.", QuestionKind.TRUE_FALSE, TRUE),
        Question("Willpower is enough.", QuestionKind.TRUE_FALSE, TRUE),
    ),
)
COURSE = Course("habits", "Habits", "Small habits.", lessons=(LESSON,))


def row(user: str, position: int, choice: str, correct: bool | None, attempt: int = 1) -> AnswerRow:
    kind = LESSON.quiz[position - 1].kind.value
    return AnswerRow(
        user_id=user,
        learner_name=user,
        course="habits",
        lesson="pick",
        position=position,
        kind=kind,
        choice=choice,
        correct=correct,
        attempt=attempt,
        answered_at=AT + timedelta(minutes=position),
    )


def answers() -> list[AnswerRow]:
    """U00–U05 (the strong half): question 1 right, 4 right, 5 wrong; U06–U11 the reverse.

    Question 1: U00–U05 pick the right option, U06–U10 "Big and weekly", U11 "-Whenever",
    nobody "Never". Course scores: 2/3 for U00–U05, 1/3 for U06–U11; with 12 learners the top
    and bottom groups hold 3 each (U00–U02, U09–U11), so question 1 and 4 discriminate +1,
    question 5 -1.
    """
    rows = []
    for n, user in enumerate(LEARNERS):
        strong = n < 6
        pick = "0" if strong else ("1" if n < 11 else "2")
        rows.append(row(user, 1, pick, strong))
        rows.append(row(user, 2, "0" if n % 3 else "1", None))
        if n < 3:
            rows.append(row(user, 3, "=1+1", None))
        rows.append(row(user, 4, "0" if strong else "1", strong))
        rows.append(row(user, 5, "1" if strong else "0", not strong))
    rows.append(row("U11", 1, "0", True, attempt=2))  # a review answer: not a first try
    return rows


def read(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_the_questions_csv_has_known_pick_rates_and_discrimination() -> None:
    rows = read(questions_csv(COURSE, analyse_course(COURSE, answers())))
    first = [r for r in rows if r["question"] == "'=Which habit sticks?"]
    assert [(r["option"], r["option_picks"], r["option_pick_rate"]) for r in first] == [
        ("Small and daily", "6", "0.500"),
        ("Big and weekly", "5", "0.417"),
        ("'-Whenever", "1", "0.083"),
        ("Never", "0", "0.000"),
    ]
    assert {
        (r["answered"], r["first_try_right"], r["first_try_accuracy"], r["discrimination"])
        for r in first
    } == {("12", "6", "0.500", "1.000")}
    [poll] = [r for r in rows if r["kind"] == "poll"]
    [open_] = [r for r in rows if r["kind"] == "open"]
    for ungraded, answered in ((poll, "12"), (open_, "3")):
        assert ungraded["answered"] == answered
        assert [ungraded[c] for c in ("first_try_right", "first_try_accuracy", "option")] == [
            "",
            "",
            "",
        ]
        assert ungraded["option_picks"] == ungraded["option_pick_rate"] == ""
        assert ungraded["discrimination"] == ""
    willpower = [r for r in rows if r["question"] == "Willpower is enough."]
    assert {r["discrimination"] for r in willpower} == {"'-1.000"}  # negative, read as text


def test_discrimination_is_empty_below_ten_learners() -> None:
    few = [r for r in answers() if r.user_id in LEARNERS[:9]]
    rows = read(questions_csv(COURSE, analyse_course(COURSE, few)))
    assert {r["discrimination"] for r in rows} == {""}


def test_the_questions_csv_opens_cleanly_in_a_spreadsheet() -> None:
    data = questions_csv(COURSE, analyse_course(COURSE, answers()))
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert table[0] == [
        "course",
        "lesson",
        "question",
        "kind",
        "answered",
        "first_try_right",
        "first_try_accuracy",
        "option",
        "option_picks",
        "option_pick_rate",
        "discrimination",
    ]
    assert len(table) == 1 + 4 + 1 + 1 + 2 + 2  # one row per option; poll and open one each
    assert all(len(line) == len(table[0]) for line in table)
    assert not [cell for line in table for cell in line if cell.startswith(FORMULA_STARTS)]


def test_stats_flag_the_distractor_nobody_picks_and_negative_discrimination() -> None:
    text = "\n".join(stats_table(COURSE, analyse_course(COURSE, answers())))
    assert "pick Q1: distractor nobody picks: “Never” (0 %)" in text
    assert "pick Q5: negative discrimination (-1.000)" in text
    assert "nearly everyone" not in text
