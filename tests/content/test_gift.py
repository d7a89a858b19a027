"""GIFT import: the project's own bank and Moodle's own files question by question, then the
format's corners."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content.importers import BankError, ParsedBank, Skipped, gift
from bot.domain.lesson import Option, Question, QuestionKind
from tests.support.fixtures import OWN_GIFT, moodle

SINGLE, MULTIPLE = QuestionKind.SINGLE, QuestionKind.MULTIPLE
TRUE_FALSE, OPEN = QuestionKind.TRUE_FALSE, QuestionKind.OPEN
NUMERICAL, MATCHING, SHORT = gift.NUMERICAL, gift.MATCHING, gift.SHORT_ANSWER


def by_line(bank: ParsedBank) -> dict[int, Question]:
    lines = {}
    for question, _ in bank.questions:
        assert question.source is not None
        lines[question.source.line] = question
    assert len(lines) == len(bank.questions)
    return lines


def shape(question: Question) -> list[tuple[str, bool, str]]:
    return [(o.text, o.correct, o.feedback) for o in question.options]


def parse_text(tmp_path: Path, text: str) -> ParsedBank:
    path = tmp_path / "bank.gift"
    path.write_text(text, encoding="utf-8")
    return gift.parse(path)


def only(bank: ParsedBank) -> Question:
    assert not bank.skipped, bank.skipped
    assert len(bank.questions) == 1
    return bank.questions[0][0]


# --- tests/fixtures/gift/workplace-basics.gift: the project's own bank ---------------------------


@pytest.fixture(scope="module")
def own() -> ParsedBank:
    return gift.parse(OWN_GIFT)


def test_own_bank_every_question_is_imported_or_skipped(own: ParsedBank) -> None:
    kinds = {line: q.kind for line, q in by_line(own).items()}
    assert kinds == {
        9: SINGLE, 17: MULTIPLE, 27: TRUE_FALSE, 32: TRUE_FALSE, 34: TRUE_FALSE, 36: TRUE_FALSE,
        39: OPEN, 44: SINGLE, 51: SINGLE, 55: SINGLE, 63: SINGLE, 73: SINGLE, 78: TRUE_FALSE,
    }  # fmt: skip
    assert own.skipped == [
        Skipped(81, "Tools", MATCHING),
        Skipped(88, "Digits", NUMERICAL),
        Skipped(90, "Minutes", NUMERICAL),
        Skipped(93, "Acronym", SHORT),
        Skipped(96, "Note", gift.DESCRIPTION),
    ]
    assert own.warnings == [
        'line 29: "MFA push": ignored \'";\' after the answers',
        "line 56: \"Report\": partial credit is not kept; 'your manager' (50%), "
        "'nobody yet' (25%) count as wrong",
        'line 78: "Html": HTML tags removed from the question',
    ]


def test_own_bank_names_and_categories(own: ParsedBank) -> None:
    assert own.names[:3] == ["Sender", "Strong passwords", "MFA push"]
    assert "Syntax: escapes" in own.names  # an escaped colon in a name
    categories = [category for _, category in own.questions]
    assert categories == ["$course$/top/Security"] * 7 + ["$course$/top/Habits"] * 6


def test_own_bank_single_choice_feedback_and_format_markers(own: ParsedBank) -> None:
    sender = by_line(own)[9]
    assert sender.text == "Which sender address deserves a second look?"
    assert shape(sender) == [
        ("it-support@examp1e.co", True, "Look-alike domains are the classic trick."),
        ("it@example.com", False, "A plain company address."),
        ("payroll@example.com", False, "Also a real one."),
    ]
    assert [o.source.line for o in sender.options if o.source] == [11, 12, 13]


def test_own_bank_weights_make_a_multiple_response(own: ParsedBank) -> None:
    passwords = by_line(own)[17]
    assert shape(passwords) == [
        ("one long random password per site", True, "right"),
        ("the same password everywhere", False, "never"),
        ("passkeys where the site offers them", True, "right"),
        ("a sticky note", False, "no"),
    ]


def test_own_bank_true_false_forms_feedbacks_and_explanation(own: ParsedBank) -> None:
    lines = by_line(own)
    push = lines[27]
    assert push.text == "Approving a sign-in request you did not start is safe."
    assert shape(push) == [
        ("True", False, "Attackers send pushes until someone taps yes."),
        ("False", True, "Right: deny it and report it."),
    ]
    assert push.explanation == "This is called MFA fatigue."
    for line in (32, 34):  # {TRUE} and {T}
        assert shape(lines[line]) == [("True", True, ""), ("False", False, "")]
    assert shape(lines[36]) == [("True", False, ""), ("False", True, "")]  # {FALSE}


def test_own_bank_essay_is_open_with_its_explanation(own: ParsedBank) -> None:
    essay = by_line(own)[39]
    assert (essay.text, essay.options, essay.explanation) == (
        "Describe a phishing attempt you almost fell for.",
        (),
        "Any honest story helps.",
    )


def test_own_bank_missing_words_over_several_lines(own: ParsedBank) -> None:
    review, sessions = by_line(own)[44], by_line(own)[51]
    assert review.text == "The best time to review a missed question is the _____ day."
    assert shape(review) == [("same", False, ""), ("next", True, ""), ("last", False, "")]
    assert [o.source.line for o in review.options if o.source] == [45, 46, 47]
    assert sessions.text == "A micro-lesson should take no more than _____ minutes of your day."
    assert [o.text for o in sessions.options if o.correct] == ["fifteen"]


def test_own_bank_partial_credit_counts_as_wrong(own: ParsedBank) -> None:
    assert shape(by_line(own)[55]) == [
        ("the security team", True, "Yes: they can lock it remotely."),
        ("your manager", False, "Tell them too, but after."),
        ("nobody yet", False, "Every minute counts."),
    ]


def test_own_bank_escapes(own: ParsedBank) -> None:
    escapes = by_line(own)[63]
    assert escapes.text == "In a GIFT file, which character needs no escape?\nPick one."
    assert shape(escapes) == [
        ("~", False, "~ starts a wrong answer."),
        ("=", False, "= starts a right answer."),
        ("#", False, "# starts feedback."),
        ("{", False, "{ opens the answers."),
        ("}", False, "} closes them."),
        ("\\", True, "Right: a backslash only escapes the others."),
    ]


def test_own_bank_markdown_keeps_lines_and_html_loses_tags(own: ParsedBank) -> None:
    lines = by_line(own)
    assert lines[73].text == "Which of these is **bold** in Slack?\n- *one star*\n- _underscores_"
    assert shape(lines[73]) == [("*one star*", True, ""), ("_underscores_", False, "")]
    assert lines[78].text == "Is phishing still the most common attack?"


# --- moodle-test-fixture.gift.txt (question/format/gift/tests/fixtures) ------------------------


@pytest.fixture(scope="module")
def moodle_test() -> ParsedBank:
    return gift.parse(moodle("moodle-test-fixture.gift.txt"))


def test_moodle_fixture_every_question_is_imported_or_skipped(moodle_test: ParsedBank) -> None:
    imported = [(q.source.line if q.source else 0, q.kind) for q, _ in moodle_test.questions]
    assert imported == [(2, OPEN), (14, SINGLE), (22, MULTIPLE), (41, TRUE_FALSE)] + [
        (46, TRUE_FALSE),
        (49, TRUE_FALSE),
    ]
    assert moodle_test.names == ["Q8", "Q2", "colours", "Q1", "2-08 TSL", "2-08 TSL"]
    assert moodle_test.skipped == [
        Skipped(5, "Moodle activities", MATCHING),
        Skipped(31, "Q5", NUMERICAL),
        Skipped(34, "Shortanswer", SHORT),
    ]
    assert all(category is None for _, category in moodle_test.questions)


def test_moodle_fixture_essay_is_open(moodle_test: ParsedBank) -> None:
    q8 = by_line(moodle_test)[2]
    assert (q8.text, q8.kind, q8.options, q8.explanation) == ("How are you?", OPEN, (), "")


def test_moodle_fixture_q2_single_with_feedback_and_format_markers(moodle_test: ParsedBank) -> None:
    q2 = by_line(moodle_test)[14]
    assert q2.text == "What's between orange and green in the spectrum?"
    assert q2.kind is SINGLE
    assert shape(q2) == [
        ("yellow", True, "right; good!"),
        ("red", False, "wrong, it's yellow"),
        ("blue", False, "wrong, it's yellow"),
    ]
    assert [o.source.line for o in q2.options if o.source] == [16, 17, 18]


def test_moodle_fixture_colours_is_multiple_response(moodle_test: ParsedBank) -> None:
    colours = by_line(moodle_test)[22]
    assert colours.kind is MULTIPLE
    assert shape(colours) == [
        ("yellow", True, "right; good!"),
        ("red", False, "wrong"),
        ("off-beige", True, "right; good!"),
        ("blue", False, "wrong"),
    ]
    assert colours.correct_indexes == {0, 2}


def test_moodle_fixture_q1_true_false_feedbacks_and_explanation(moodle_test: ParsedBank) -> None:
    q1 = by_line(moodle_test)[41]
    assert q1.text == "42 is the Absolute Answer to everything."
    assert q1.kind is TRUE_FALSE
    # GIFT: the first feedback follows a wrong answer, the second a right one; FALSE is right.
    assert shape(q1) == [
        ("True", False, "42 is the Ultimate Answer."),
        ("False", True, "You gave the right answer."),
    ]
    assert q1.explanation == "This is, of course, a Hitchiker's Guide to the Galaxy reference."
    assert moodle_test.warnings == ['line 43: "Q1": ignored \'";\' after the answers']


def test_moodle_fixture_t_and_true_are_true(moodle_test: ParsedBank) -> None:
    for line in (46, 49):
        question = by_line(moodle_test)[line]
        assert question.text == "TSL is blablabla."
        assert shape(question) == [("True", True, ""), ("False", False, "")]


# --- moodle-examples.gift.txt (question/format/gift/examples.txt) ------------------------------


@pytest.fixture(scope="module")
def examples() -> ParsedBank:
    return gift.parse(moodle("moodle-examples.gift.txt"))


def test_examples_every_question_is_imported_or_skipped(examples: ParsedBank) -> None:
    kinds = {line: q.kind for line, q in by_line(examples).items()}
    assert kinds == {
        8: SINGLE, 10: SINGLE, 12: TRUE_FALSE, 25: SINGLE, 27: SINGLE, 29: SINGLE, 35: SINGLE,
        49: TRUE_FALSE, 51: TRUE_FALSE, 93: SINGLE, 98: SINGLE, 113: TRUE_FALSE, 115: SINGLE,
        117: SINGLE, 130: MULTIPLE, 136: MULTIPLE, 143: SINGLE, 148: SINGLE, 167: SINGLE,
        169: SINGLE, 171: TRUE_FALSE, 184: SINGLE, 190: SINGLE,
    }  # fmt: skip
    skipped = {s.line: s.reason for s in examples.skipped}
    assert skipped == {
        14: SHORT, 16: NUMERICAL, 43: SHORT, 45: SHORT, 55: MATCHING, 61: MATCHING,
        70: NUMERICAL, 72: NUMERICAL, 74: NUMERICAL, 76: NUMERICAL, 85: NUMERICAL, 90: SHORT,
        103: SHORT, 108: SHORT, 123: SHORT, 173: SHORT, 175: NUMERICAL, 177: MATCHING,
        195: SHORT, 202: NUMERICAL,
    }  # fmt: skip


def test_examples_skipped_items_are_named(examples: ParsedBank) -> None:
    names = {s.line: s.name for s in examples.skipped}
    assert names[90] == "Kanji Origins"
    assert names[55] == "Matching Question."
    assert names[123] == "Jesus' hometown"
    assert names[202] == "Numerical example"
    assert names[14] == "Who's buried in Grant's tomb?"


def test_examples_plain_multiple_choice(examples: ParsedBank) -> None:
    question = by_line(examples)[8]
    assert question.text == "Who's buried in Grant's tomb?"
    assert shape(question) == [("Grant", False, ""), ("Jefferson", False, ""), ("no one", True, "")]


def test_examples_grants_tomb_missing_word(examples: ParsedBank) -> None:
    for line in (10, 27, 169):
        question = by_line(examples)[line]
        assert question.text == "Grant is _____ in Grant's tomb."
        assert shape(question) == [
            ("buried", False, ""),
            ("entombed", True, ""),
            ("living", False, ""),
        ]
    named = by_line(examples)[184]
    assert named.text == "Grant is _____ in Grant's tomb."
    assert shape(named) == [
        ("buried", False, "No one is buried there."),
        ("entombed", True, "Right answer!"),
        ("living", False, "We hope not!"),
    ]


def test_examples_multiline_answers_and_wrapped_text(examples: ParsedBank) -> None:
    thanksgiving = by_line(examples)[29]
    assert thanksgiving.text == (
        "The American holiday of Thanksgiving is celebrated on the _____ Thursday of November."
    )
    assert [o.text for o in thanksgiving.options] == ["second", "third", "fourth"]
    assert [o.source.line for o in thanksgiving.options if o.source] == [30, 31, 32]
    japan = by_line(examples)[35]
    assert japan.text == "Japanese characters originally came from what country?"
    assert [o.text for o in japan.options if o.correct] == ["China"]
    named = by_line(examples)[93]
    assert named.text == thanksgiving.text
    position = next(i for i, (q, _) in enumerate(examples.questions) if q is named)
    assert examples.names[position] == "Thanksgiving Date"


def test_examples_true_false(examples: ParsedBank) -> None:
    lines = by_line(examples)
    for line in (12, 49, 171):
        assert shape(lines[line]) == [("True", False, ""), ("False", True, "")]
    assert lines[51].text == "The sun rises in the east."
    assert shape(lines[51]) == [("True", True, ""), ("False", False, "")]
    # A single feedback is the wrong-answer feedback: it goes on True, the wrong option.
    assert shape(lines[113]) == [
        ("True", False, "No one is buried in Grant's tomb."),
        ("False", True, ""),
    ]


def test_examples_feedback_per_answer(examples: ParsedBank) -> None:
    question = by_line(examples)[98]
    assert question.text == "What's the answer to this multiple-choice question?"
    assert shape(question) == [
        ("wrong answer", False, "feedback comment on the wrong answer"),
        ("another wrong answer", False, "feedback comment on this wrong answer"),
        ("right answer", True, "Very good!"),
    ]
    difficult = by_line(examples)[190]
    assert shape(difficult) == [
        ("wrong answer", False, "comment on wrong answer"),
        ("half credit answer", False, "comment on answer"),
        ("full credit answer", True, "well done!"),
    ]


def test_examples_partial_credit_in_single_choice_is_dropped_with_a_warning(
    examples: ParsedBank,
) -> None:
    hometown = by_line(examples)[117]
    assert hometown.kind is SINGLE
    assert hometown.text == "Jesus Christ was from _____."
    assert shape(hometown) == [
        ("Jerusalem", False, "This was an important city, but the wrong answer."),
        ("Bethlehem", False, "He was born here, but not raised here."),
        ("Galilee", False, "You need to be more specific."),
        ("Nazareth", True, "Yes! That's right!"),
    ]
    assert (
        'line 117: "Jesus\' hometown": partial credit is not kept; '
        "'Bethlehem' (25%), 'Galilee' (50%) count as wrong"
    ) in examples.warnings
    assert [w.split(":")[0] for w in examples.warnings] == ["line 115", "line 117", "line 190"]


def test_examples_weighted_answers_without_equals_are_multiple(examples: ParsedBank) -> None:
    for line in (130, 136):
        question = by_line(examples)[line]
        assert question.text == "What two people are entombed in Grant's tomb?"
        assert question.kind is MULTIPLE
        assert shape(question) == [
            ("No one", False, ""),
            ("Grant", True, ""),
            ("Grant's wife", True, ""),
            ("Grant's father", False, ""),
        ]


def test_examples_escaped_equals(examples: ParsedBank) -> None:
    question = by_line(examples)[143]
    assert question.text == "Which answer equals 5?"
    assert shape(question) == [
        ("= 2 + 2", False, ""),
        ("= 2 + 3", True, ""),
        ("= 2 + 4", False, ""),
    ]


def test_examples_gift_control_characters(examples: ParsedBank) -> None:
    question = by_line(examples)[148]
    assert question.text == (
        "Which of the following is NOT a control character for the GIFT import format?"
    )
    assert shape(question) == [
        ("~", False, "~ is a control character."),
        ("=", False, "= is a control character."),
        ("#", False, "# is a control character."),
        ("{", False, "{ is a control character."),
        ("}", False, "} is a control character."),
        (
            "\\",
            True,
            "Correct! \\ (backslash) is not a control character. BUT, it is used to escape the"
            " control characters. So, to specify a literal backslash, you must escape it with a"
            " backslash (as shown in this example).",
        ),
    ]


# --- the format's corners ----------------------------------------------------------------------


def test_escapes_and_line_breaks(tmp_path: Path) -> None:
    question = only(
        parse_text(
            tmp_path,
            "::a\\:b:: Is 1 \\= 1 \\{really\\}?\\nSay \\~yes\\~ \\# or \\\\no {\n"
            "=yes \\# sure#right \\= good\n~no}\n",
        )
    )
    assert question.text == "Is 1 = 1 {really}?\nSay ~yes~ # or \\no"
    assert shape(question) == [("yes # sure", True, "right = good"), ("no", False, "")]


def test_names_keep_escaped_colons(tmp_path: Path) -> None:
    bank = parse_text(tmp_path, "::Time\\: 12\\:30:: What time? {=noon ~midnight}\n")
    assert bank.names == ["Time: 12:30"]
    assert bank.name(0) == "Time: 12:30"


def test_unnamed_questions_are_named_by_their_text(tmp_path: Path) -> None:
    text = "A question whose text is long enough to be cut when it is used as its name"
    bank = parse_text(tmp_path, text + " {=a ~b}\n")
    assert bank.names == [text[:60] + "…"]


def test_html_is_stripped_with_a_warning(tmp_path: Path) -> None:
    bank = parse_text(
        tmp_path,
        "::H::[html]<p>Pick the <b>bold</b> one &amp; only</p>{\n"
        "=<i>this</i>#<em>yes</em>\n~[plain]<b>not</b> this\n}\n",
    )
    question = only(bank)
    assert question.text == "Pick the bold one & only"
    assert shape(question) == [("this", True, "yes"), ("<b>not</b> this", False, "")]
    assert bank.warnings == [
        'line 1: "H": HTML tags removed from the question',
        'line 2: "H": HTML tags removed from option 1',
        'line 2: "H": HTML tags removed from the feedback of option 1',
    ]


def test_unnamed_html_and_stray_endings_make_clean_names(tmp_path: Path) -> None:
    bank = parse_text(tmp_path, '[html]Is <b>this</b> bold?{T}";\n\n[html]<i>How</i> much?{#1}\n')
    assert bank.names == ["Is this bold?"]
    assert bank.skipped == [Skipped(3, "How much?", NUMERICAL)]
    assert bank.warnings == [
        'line 1: "Is this bold?": ignored \'";\' after the answers',
        'line 1: "Is this bold?": HTML tags removed from the question',
    ]


def test_names_fall_back_to_the_question_text() -> None:
    bank = ParsedBank([(Question("What is it?"), None)], [], [])
    assert bank.name(0) == "What is it?"


def test_html_without_tags_is_not_reported(tmp_path: Path) -> None:
    bank = parse_text(tmp_path, "[html]Plain words? {=yes ~no}\n")
    assert only(bank).text == "Plain words?"
    assert bank.warnings == []


def test_markdown_keeps_its_lines(tmp_path: Path) -> None:
    question = only(
        parse_text(tmp_path, "[markdown]Which is **bold**?\n- one\n- two\n{=one ~two}\n")
    )
    assert question.text == "Which is **bold**?\n- one\n- two"


def test_categories_and_comments(tmp_path: Path) -> None:
    bank = parse_text(
        tmp_path,
        "// a comment\n$CATEGORY: $course$/top/Unit 1\n\nFirst? {=a ~b}\n\n"
        "$CATEGORY: $course$/top/Unit 2\n// the category line may also head a question\n"
        "Second? {T}\n",
    )
    assert [(q.text, c) for q, c in bank.questions] == [
        ("First?", "$course$/top/Unit 1"),
        ("Second?", "$course$/top/Unit 2"),
    ]
    assert [q.source.line for q, _ in bank.questions if q.source] == [4, 8]


def test_essay_takes_general_feedback_as_explanation(tmp_path: Path) -> None:
    question = only(parse_text(tmp_path, "Tell us why. {####Any reason is fine.}\n"))
    assert (question.kind, question.options, question.explanation) == (
        OPEN,
        (),
        "Any reason is fine.",
    )


def test_true_with_both_feedbacks(tmp_path: Path) -> None:
    question = only(parse_text(tmp_path, "Water is wet. {TRUE#Think again.#Indeed.}\n"))
    assert shape(question) == [("True", True, "Indeed."), ("False", False, "Think again.")]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Just words, no answers.", gift.DESCRIPTION),
        ("Pick {=a =b ~c}", "2 answers carry full credit"),
        ("Pick {~a ~b}", "no answer is marked right"),
        ("Pick {~%-50%a ~b}", "no answer is marked right"),
        ("Pick {=a ~a}", "two options read 'a'"),
        ("Pick {=a ~}", "option 2 is empty"),
        ("Pick {=a ~b} and {=c ~d}", "more than one pair of braces"),
        ("stray {words =a ~b}", "'words' has no '=' or '~' in front"),
        ("{=a ~b}", "the question has no text"),
        ("Pick {" + " ".join(f"~o{n}" for n in range(10)) + " =right}", "11 options; Slack shows"),
        ("Pick {=a#" + "x" * 3001 + " ~b}", "the feedback of option 1 is 3001 characters"),
    ],
)
def test_questions_a_slack_quiz_cannot_ask_are_skipped(
    tmp_path: Path, text: str, reason: str
) -> None:
    bank = parse_text(tmp_path, f"// first line\n{text}\n")
    assert bank.questions == []
    assert len(bank.skipped) == 1
    assert bank.skipped[0].line == 2
    assert bank.skipped[0].reason.startswith(reason)


def test_ten_options_fit(tmp_path: Path) -> None:
    text = "Pick {" + " ".join(f"~o{n}" for n in range(9)) + " =right}\n"
    assert len(only(parse_text(tmp_path, text)).options) == 10


def test_unterminated_brace_is_a_bank_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.gift"
    path.write_text(
        "Fine? {T}\n\n::Broken::\nWhich one? {\n=a\n~b\n\nNext? {F}\n", encoding="utf-8"
    )
    with pytest.raises(BankError) as caught:
        gift.parse(path)
    assert (caught.value.path, caught.value.line) == (path, 4)
    assert str(caught.value).startswith(f"{path}:4: '{{' is never closed")


def test_closing_brace_without_opening_is_a_bank_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.gift"
    path.write_text("\n\nOops } here {T}\n", encoding="utf-8")
    with pytest.raises(BankError, match="'}' without an opening '{'") as caught:
        gift.parse(path)
    assert caught.value.line == 3


def test_undecodable_bytes_are_a_bank_error_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.gift"
    path.write_bytes("Fine? {T}\n\nCafé? {T}\n".encode("latin-1"))
    with pytest.raises(BankError, match="not UTF-8") as caught:
        gift.parse(path)
    assert caught.value.line == 3


def test_byte_order_mark_and_windows_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "windows.gift"
    path.write_bytes("\ufeff::Q:: Héllo?\r\n{=oui\r\n~non}\r\n\r\nNext? {F}\r\n".encode())
    bank = gift.parse(path)
    assert [(q.text, q.source.line if q.source else 0) for q, _ in bank.questions] == [
        ("Héllo?", 1),
        ("Next?", 5),
    ]
    assert bank.questions[0][0].options == (Option("oui", True), Option("non"))
