"""A lesson body is data, never code: `lessons check`, `preview` and rendering refuse template
tricks that reach Python objects, and a body that skips the check still cannot run anything."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.cli import main
from bot.content import templating
from bot.domain.lesson import Course, Lesson, Source
from bot.slack import render
from tests.content.test_checker import GOOD_LESSON, make_course

# Each one ran `{cmd}` with the plain Jinja environment; most also passed `lessons check`.
EXPLOITS = {
    "mro-chain": (
        "{% for c in learner.first_name.__class__.__mro__[1].__subclasses__() %}"
        "{% if c['__name__'] == '_wrap_close' %}"
        "{{ c['__init__']['__globals__']['popen']('{cmd}').read() }}{% endif %}{% endfor %}"
    ),
    "attr-filter": (
        "{% for c in (learner.first_name|attr('__class__')|attr('__mro__')|last"
        "|attr('__subclasses__'))() %}{% if c|attr('__name__') == '_wrap_close' %}"
        "{{ (c|attr('__init__')|attr('__globals__'))['popen']('{cmd}').read() }}"
        "{% endif %}{% endfor %}"
    ),
    "subscripts": (
        "{% for c in learner.first_name['__class__']['__mro__'][1]['__subclasses__']() %}"
        "{% if c['__name__'] == '_wrap_close' %}"
        "{{ c['__init__']['__globals__']['popen']('{cmd}').read() }}{% endif %}{% endfor %}"
    ),
    "set": (
        "{% set base = learner.first_name.__class__.__mro__[1] %}"
        "{% for c in base['__subclasses__']() %}{% if c['__name__'] == '_wrap_close' %}"
        "{{ c['__init__']['__globals__']['popen']('{cmd}').read() }}{% endif %}{% endfor %}"
    ),
    # A macro parameter named like a global hid the global from the old check.
    "self": (
        "{% macro m(self) %}{% endmacro %}"
        "{{ (self|attr('__init__')|attr('__globals__'))['__builtins__']['__import__']('os')"
        ".popen('{cmd}').read() }}"
    ),
    "cycler": (
        "{% macro m(cycler) %}{% endmacro %}"
        "{{ (cycler|attr('__init__')|attr('__globals__'))['os'].popen('{cmd}').read() }}"
    ),
    "joiner": (
        "{% macro m(joiner) %}{% endmacro %}"
        "{{ (joiner|attr('__init__')|attr('__globals__'))['os'].popen('{cmd}').read() }}"
    ),
    "namespace": (
        "{% macro m(namespace) %}{% endmacro %}"
        "{{ (namespace|attr('__init__')|attr('__globals__'))['os'].popen('{cmd}').read() }}"
    ),
    "lipsum": (
        "{% macro m(lipsum) %}{% endmacro %}"
        "{{ (lipsum|attr('__globals__'))['os'].popen('{cmd}').read() }}"
    ),
    "range": (
        "{% macro m(range) %}{% endmacro %}"
        "{% for c in (range|attr('__mro__')|last|attr('__subclasses__'))() %}"
        "{% if c|attr('__name__') == '_wrap_close' %}"
        "{{ (c|attr('__init__')|attr('__globals__'))['popen']('{cmd}').read() }}"
        "{% endif %}{% endfor %}"
    ),
    "include": "{% include 'course.yaml' %}",
    "import": "{% import 'course.yaml' as c %}",
    "extends": "{% extends 'course.yaml' %}",
}
EXPLOIT_LINE = 20  # GOOD_LESSON's body ends on line 18; a blank line, then the exploit


def exploit(name: str, marker: Path) -> str:
    return EXPLOITS[name].replace("{cmd}", f"touch {marker}")


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--env-file", "/nonexistent", *args], out=out)
    return code, out.getvalue()


@pytest.mark.parametrize("name", sorted(EXPLOITS))
def test_lessons_check_refuses_template_tricks_with_path_and_line(
    tmp_path: Path, name: str
) -> None:
    marker = tmp_path / "ran"
    folder = make_course(
        tmp_path / "lessons", {"01-three-tells.md": GOOD_LESSON + "\n" + exploit(name, marker)}
    )
    code, out = run("lessons", "check", str(tmp_path / "lessons"))
    assert code == 1
    expected = f"{folder / '01-three-tells.md'}:{EXPLOIT_LINE}: "
    problems = [line for line in out.splitlines() if line.startswith(expected)]
    assert problems, out
    assert all(
        "not allowed in a lesson body" in line or "unknown template variable" in line
        for line in problems
    ), problems
    assert not marker.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{{ learner.first_name.__class__ }}", "unknown template variable 'learner.first_name."),
        ("{{ learner.first_name|attr('upper') }}", "the filter 'attr' is not allowed"),
        ("{{ learner['first_name'] }}", "'[…]' is not allowed in a lesson body"),
        ("{{ course.title.upper() }}", "calls are not allowed in a lesson body"),
        ("{% if lesson.number is defined %}x{% endif %}", "the test 'defined' is not allowed"),
        ("{% set x = 1 %}", "'{% set %}' is not allowed in a lesson body"),
        ("{% for x in 'ab' %}{% endfor %}", "'{% for %}' is not allowed in a lesson body"),
        ("{% macro m() %}{% endmacro %}", "'{% macro %}' is not allowed in a lesson body"),
        ("{% with x = 1 %}{% endwith %}", "'{% with %}' is not allowed in a lesson body"),
        ("{{ 'ab' * 3 }}", "'*' is not allowed in a lesson body"),
        ("{{ lesson }}", "unknown template variable 'lesson'"),
        ("{{ self }}", "unknown template variable 'self'"),
        ("{{ lesson.number" + "|trim" * 3000 + " }}", "more than 50 parts is not allowed"),
    ],
    ids=[
        "chain",
        "attr",
        "subscript",
        "call",
        "test",
        "set",
        "for",
        "macro",
        "with",
        "arithmetic",
        "bare-variable",
        "self",
        "deep",
    ],
)
def test_each_construct_outside_the_documented_set_is_named(
    tmp_path: Path, body: str, message: str
) -> None:
    folder = make_course(tmp_path / "lessons", {"01-three-tells.md": GOOD_LESSON + "\n" + body})
    code, out = run("lessons", "check", str(tmp_path / "lessons"))
    assert code == 1
    expected = f"{folder / '01-three-tells.md'}:{EXPLOIT_LINE}: "
    assert any(line.startswith(expected) and message in line for line in out.splitlines()), out


def test_the_documented_filters_and_if_tags_pass_and_render(tmp_path: Path) -> None:
    body = (
        "{% if lesson.number == lesson.total %}Last one, {{ learner.first_name|upper }}!"
        "{% elif lesson.number == 1 and not course.title|lower == 'x' %}Welcome to "
        "{{ course.title|title }}.{% else %}Hi {{ learner.first_name|default('there') }}."
        "{% endif %} {{ '{{' }} {# a comment #}"
    )
    make_course(tmp_path / "lessons", {"01-three-tells.md": GOOD_LESSON + "\n" + body})
    code, out = run("lessons", "check", str(tmp_path / "lessons"))
    assert code == 0, out
    context = templating.BodyContext("Ann", "spot the phish", 1, 3)
    assert templating.render_body(body, context) == "Welcome to Spot The Phish. {{ "


def test_preview_of_a_malicious_lesson_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    make_course(
        tmp_path / "lessons",
        {"01-three-tells.md": GOOD_LESSON + "\n" + exploit("mro-chain", marker)},
    )
    env = tmp_path / ".env"
    env.write_text(f"LESSONS_DIR={tmp_path / 'lessons'}\n", encoding="utf-8")
    out = io.StringIO()
    code = main(["--env-file", str(env), "lessons", "preview", "phish/three-tells"], out=out)
    assert code == 1
    assert not marker.exists()


def unchecked_lesson(body: str, tmp_path: Path) -> tuple[Lesson, Course]:
    """A lesson built without the loader, so its body never went through `lessons check`."""
    lesson = Lesson(
        course_id="phish",
        id="three-tells",
        position=1,
        title="Three tells",
        objective="Spot a phish",
        minutes=3,
        body="Hi {{ learner.first_name }}.\n\n" + body,
        source=Source(tmp_path / "01-three-tells.md", 1),
        body_line=16,
    )
    return lesson, Course(id="phish", title="Phish", description="d", lessons=(lesson,))


@pytest.mark.parametrize("name", sorted(EXPLOITS))
def test_the_delivery_renderer_refuses_an_unchecked_malicious_body(
    tmp_path: Path, name: str
) -> None:
    marker = tmp_path / "ran"
    lesson, course = unchecked_lesson(exploit(name, marker), tmp_path)
    with pytest.raises(render.RenderProblem) as raised:
        render.SlackComposer().lesson(lesson, course, first_name="Ann", done_ref="1")
    assert raised.value.source == Source(tmp_path / "01-three-tells.md", 18)
    assert "not allowed in a lesson body" in raised.value.message or (
        "unknown template variable" in raised.value.message
    )
    assert not marker.exists()


@pytest.mark.parametrize("name", sorted(EXPLOITS))
def test_the_sandbox_alone_stops_each_trick(tmp_path: Path, name: str) -> None:
    """Even with the check skipped, the sandbox raises instead of running anything."""
    marker = tmp_path / "ran"
    context = templating.BodyContext("Ann", "Phish", 1, 3)
    with pytest.raises(templating.TemplateProblem):
        templating.render_unchecked(exploit(name, marker), context)
    assert not marker.exists()
