"""Whatever an author or a question bank contains, the CLI answers with `path:line: message`
problems or a clean result, never a traceback (property-based, with hypothesis)."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.cli import main
from bot.content import templating
from bot.content.importers.csv_bank import HEADER
from bot.content.loader import LESSON_KEYS, MEDIA_KEYS, OPTION_KEYS, QUESTION_KEYS, load_catalog

# Deterministic and quick: the same examples every run, no example database on disk.
PROPERTY = settings(
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PROBLEM = re.compile(r"^(?P<path>.+?):(?P<line>\d+): (?P<message>\S.*)$")

KEYS = sorted(LESSON_KEYS | QUESTION_KEYS | OPTION_KEYS | MEDIA_KEYS | {"titel", "answer"})
WORDS = [
    *("single", "multiple", "true_false", "poll", "open", "text", "video", "image", "link"),
    *("https://example.com/a.png", "ftp://x", "", " ", "True", "-", "{{ learner.first_name }}"),
]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats()
    | st.sampled_from(WORDS)
    | st.text(max_size=30)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=25,
)
OPTION = st.one_of(
    st.text(max_size=90),
    st.fixed_dictionaries(
        {"text": st.text(max_size=90)},
        optional={"correct": st.booleans() | VALUES, "feedback": st.text(max_size=40)},
    ),
)
QUESTION = st.fixed_dictionaries(
    {"question": st.text(max_size=60) | VALUES},
    optional={
        "kind": st.sampled_from(WORDS[:5]) | VALUES,
        "options": st.lists(OPTION, max_size=11) | VALUES,
        "explanation": st.text(max_size=40),
    },
)
PLAUSIBLE = st.fixed_dictionaries(
    {
        "title": st.text(min_size=1, max_size=160),
        "objective": st.text(min_size=1, max_size=60),
        "minutes": st.integers(min_value=1, max_value=15) | st.integers(-1, 16) | VALUES,
    },
    optional={
        "format": st.sampled_from(WORDS[5:9]) | VALUES,
        "media": st.lists(
            st.dictionaries(st.sampled_from(sorted(MEDIA_KEYS)), st.sampled_from(WORDS)),
            max_size=3,
        )
        | VALUES,
        "discussion": st.text(max_size=60),
        "practice": st.text(max_size=60),
        "quiz": st.lists(QUESTION, max_size=3) | VALUES,
    },
)
FRONT_MATTER = st.one_of(
    PLAUSIBLE.map(lambda data: yaml.safe_dump(data, allow_unicode=True, sort_keys=False)),
    PLAUSIBLE.map(lambda data: yaml.safe_dump(data, allow_unicode=True, sort_keys=False)),
    st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), VALUES, max_size=8).map(
        lambda data: yaml.safe_dump(data, allow_unicode=True)
    ),
    st.text(max_size=200),
)
TEMPLATE_BITS = [
    *("{{", "}}", "{%", "%}", "{#", "#}", "{%-", "-%}", " ", "\n", "\n\n", "\r", "\t"),
    *("learner", "course", "lesson", ".", "first_name", "title", "number", "total", "_"),
    *("if", "elif", "else", "endif", "for", "in", "endfor", "set", "macro", "endmacro"),
    *("raw", "endraw", "include", "with", "=", "==", "<", "|", "upper", "default", "attr"),
    *("(", ")", "[", "]", ",", "'x'", '"', "'", "1", "-1", "*", "**", "~", "not", "and", "or"),
    *("is", "defined", "__class__", "self", "range", "lipsum", "*bold*", "# Heading", "- item"),
    *("```", "> quote", "<https://x.y|link>", "&", "<", ">", "—", "\u200b", "\ufeff"),
]
# What authors write: text, Markdown and the allowed template forms, each piece valid alone.
BODY_PIECES = [
    *("{{ learner.first_name }}", "{{ course.title|upper }}", "{{ lesson.number }}", "\n\n"),
    *("{{ learner.first_name|default('there') }}", "{{ lesson.total|trim }}", "{# note #}"),
    *("{% if lesson.number == lesson.total %}Last!{% else %}More{% endif %}", "- item\n"),
    *("{% raw %}{{ x }}{% endraw %}", "**bold** ", "`code` ", "> quote\n", "## Heading\n"),
]
BODY = st.one_of(
    st.lists(st.sampled_from(TEMPLATE_BITS) | st.text(max_size=8), max_size=40).map("".join),
    st.lists(st.sampled_from(BODY_PIECES) | st.text(min_size=1, max_size=30), max_size=12).map(
        "".join
    ),
)
NAMES = st.text(max_size=40)


def run(*args: str) -> tuple[int, list[str], list[str]]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["--env-file", "/nonexistent", *args], out=out)
    # Lines as a terminal shows them: str.splitlines would also split at \x1c-\x1e and \x85.
    return code, out.getvalue().split("\n")[:-1], err.getvalue().split("\n")[:-1]


def assert_problems_name_a_file_and_line(lines: list[str], root: Path) -> None:
    for line in lines:
        match = PROBLEM.match(line)
        assert match, f"not path:line: message: {line!r}"
        path = Path(match["path"])
        assert path == root or root in path.parents, line
        number = int(match["line"])
        if path.is_file():
            # Lines as editors count them: a lone carriage return ends a line too.
            assert 1 <= number <= len(re.split(rb"\r\n|\r|\n", path.read_bytes())), line
        else:
            assert number == 1, line


@PROPERTY
@given(front=FRONT_MATTER, body=BODY, name=NAMES)
@example(front="title: T\x08", body="Hi", name="")  # a control character: YAML refuses it
@example(front="title: T", body="\r{{", name="")  # a lone carriage return ends a line
def test_lessons_check_answers_any_lesson_file_with_problems_or_a_clean_pass(
    front: str, body: str, name: str
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        folder = root / "course"
        folder.mkdir()
        (folder / "course.yaml").write_text("title: T\ndescription: D\n", encoding="utf-8")
        text = f"---\n{front}\n---\n{body}"
        (folder / "01-lesson.md").write_text(text, encoding="utf-8", newline="")
        code, out, _ = run("lessons", "check", str(root))
        if code == 0:
            assert out[-1].endswith("no problems")
            [course] = load_catalog(root).catalog.courses
            [lesson] = course.lessons
            # A checked body renders for every learner, whatever their name.
            context = templating.BodyContext(name, course.title, 1, 1)
            assert isinstance(templating.render_body(lesson.body, context), str)
        else:
            assert code == 1
            assert out, "exit 1 without a problem"
            assert_problems_name_a_file_and_line(out, root)


LINE = st.text(st.characters(exclude_categories=["Cc", "Cs", "Zl", "Zp"]), max_size=30)
"""A line of text as people type it: no control characters or line breaks."""
GIFT_BITS = [
    *("::", "::Q1::", "{", "}", "=", "~", "#", "####", "%50%", "%-100%", "%abc%", "->", "\\"),
    *("$CATEGORY: ", "$course$/top/Unit 1", "// comment", "\n", "\n\n", " ", "\t", "\r"),
    *("TRUE", "FALSE", "T", "F", "[markdown]", "[html]", "<b>x</b>", "[plain]", ":", "1:2"),
    *("Which one?", "yes", "no", "\\=", "\\~", "\\n", "\\{", "_____", "{#1:2}", "{}"),
]
GIFT_ANSWER = st.tuples(
    st.sampled_from(["=", "~", "~%50%", "~%-100%", "=%100%", "~%100%"]),
    LINE,
    st.sampled_from(["", "#"]),
    LINE,
).map(lambda a: f"{a[0]}{a[1]}{a[2]}{a[3] if a[2] else ''}")
GIFT_QUESTION = st.tuples(
    st.sampled_from(["", "::Q::", "::A name::", "[markdown]", "[html]"]),
    LINE,
    st.one_of(
        st.lists(GIFT_ANSWER, max_size=11).map(" ".join),
        st.sampled_from(["T", "F", "TRUE", "FALSE#wrong#right", "", "#3:1", "=a -> b =c -> d"]),
    ),
    st.sampled_from(["", "####Because.", " ####"]),
    st.sampled_from(["", " after.", '";']),
).map(lambda q: f"{q[0]}{q[1]} {{{q[2]}{q[3]}}}{q[4]}")
GIFT = st.lists(
    GIFT_QUESTION | st.sampled_from(["$CATEGORY: Unit 1", "// a comment", "$CATEGORY: a//b/c"]),
    max_size=8,
).map("\n\n".join)
AIKEN_BITS = [
    *("What is 2+2?", "A) 3", "B) 4", "C. 5", "D)", "a) x", "ANSWER: B", "ANSWER: Z"),
    *("ANSWER:", "answer : a", "\n", "\n\n", " ", "\t", "\r", "Z) far", "A.x", "x" * 80),
]
AIKEN_QUESTION = st.tuples(
    st.lists(LINE, min_size=1, max_size=2),
    st.lists(LINE, max_size=6),
    st.sampled_from(["A", "B", "C", "Z", "b", "AB", ""]),
    st.sampled_from([")", "."]),
).map(
    lambda q: "\n".join(
        [*q[0], *(f"{chr(65 + i)}{q[3]} {text}" for i, text in enumerate(q[1])), f"ANSWER: {q[2]}"]
    )
)
AIKEN = st.lists(AIKEN_QUESTION, max_size=8).map("\n\n".join)
CSV_CELLS = [
    *("", "single", "multiple", "true_false", "poll", "open", "bogus", "1", "2", "1;3"),
    *("0", "11", "true", "f", "Which one?", "yes", "no", '"', '""', ",", "\n", "\r\n", "x;y"),
]


def bank_text(bits: list[str], plausible: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    noise = st.lists(st.sampled_from(bits) | st.text(max_size=12), max_size=60).map("".join)
    return plausible | noise


def _csv_line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def csv_text() -> st.SearchStrategy[str]:
    header = st.one_of(st.just(",".join(HEADER)), st.just(",".join(HEADER)), st.text(max_size=40))
    cell = st.sampled_from(CSV_CELLS) | st.text(max_size=10)
    noise_row = st.lists(cell, max_size=16).map(",".join)
    kind = st.sampled_from(["", "single", "multiple", "true_false", "poll", "open", "x"])
    correct = st.sampled_from(["", "1", "2", "1;2", "2;3", "true", "f", "11", "x"])
    filled = st.text(st.characters(exclude_categories=["Cc", "Cs", "Zl", "Zp", "Zs"]), min_size=1)
    options = st.lists(filled, min_size=0, max_size=5, unique=True) | st.lists(LINE, max_size=10)
    graded = st.sampled_from([("", "1"), ("single", "2"), ("multiple", "1;2"), ("poll", "")])
    plausible_row = st.tuples(filled, graded | st.tuples(kind, correct), options, LINE).map(
        lambda r: _csv_line([r[0], r[1][0], *r[2], *[""] * (10 - len(r[2])), r[1][1], r[3]])
    )
    rows = st.lists(plausible_row, max_size=8) | st.lists(plausible_row | noise_row, max_size=8)
    return st.tuples(header, rows).map(lambda parts: "\n".join([parts[0], *parts[1]]))


def import_and_check(fmt: str, text: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        bank = root / f"bank.{fmt}"
        bank.write_text(text, encoding="utf-8", newline="")
        into = root / "lessons"
        code, out, err = run(
            "lessons", "import", str(bank), "--format", fmt, "--course", "bank", "--into", str(into)
        )
        if code == 0:
            assert out[-1].startswith("Imported ")
            check_code, check_out, _ = run("lessons", "check", str(into))
            assert check_code == 0, check_out  # an import passes `lessons check` as written
        else:
            assert code == 1
            assert err, "exit 1 without a reason"
            assert_problems_name_a_file_and_line(err, root)


@PROPERTY
@given(text=bank_text(GIFT_BITS, GIFT))
def test_a_gift_bank_imports_cleanly_or_names_its_problem(text: str) -> None:
    import_and_check("gift", text)


@PROPERTY
@given(text=bank_text(AIKEN_BITS, AIKEN))
def test_an_aiken_bank_imports_cleanly_or_names_its_problem(text: str) -> None:
    import_and_check("aiken", text)


@PROPERTY
@given(text=csv_text())
def test_a_csv_bank_imports_cleanly_or_names_its_problem(text: str) -> None:
    import_and_check("csv", text)


@PROPERTY
@given(data=st.binary(max_size=200), fmt=st.sampled_from(["gift", "aiken", "csv"]))
def test_a_bank_that_is_not_text_is_one_clear_problem(data: bytes, fmt: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        bank = Path(scratch) / "bank"
        bank.write_bytes(data)
        into = Path(scratch) / "lessons"
        code, _, err = run(
            "lessons", "import", str(bank), "--format", fmt, "--course", "bank", "--into", str(into)
        )
        assert code in (0, 1)
        if code == 1:
            assert_problems_name_a_file_and_line(err, Path(scratch))
