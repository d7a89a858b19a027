"""The `microlearn` command never answers with a traceback: one clear line, and an exit code."""

from __future__ import annotations

import io
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from bot.cli import main
from tests.content.test_checker import GOOD_LESSON, make_course
from tests.support.process import ROOT

LONG_PARAGRAPH = "---\ntitle: Long\nobjective: Read a lot\nminutes: 3\n---\nIntro.\n\n" + (
    "word " * 800
)


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    real_err, sys.stderr = sys.stderr, err
    try:
        code = main(["--env-file", "/nonexistent", *args], out=out)
    finally:
        sys.stderr = real_err
    return code, out.getvalue(), err.getvalue()


def test_preview_of_a_lesson_that_fails_the_render_check_names_file_and_line(
    tmp_path: Path,
) -> None:
    make_course(tmp_path, {"01-long.md": LONG_PARAGRAPH})
    code, out, err = _run("lessons", "preview", "phish/long", "--folder", str(tmp_path))
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        f"{tmp_path}/phish/01-long.md:8: this paragraph is 3999 characters in Slack; at most "
        "3000 fit in one block: split it into shorter paragraphs"
    ]


def test_check_of_a_course_folder_checks_that_course(tmp_path: Path) -> None:
    course = make_course(tmp_path, {"01-three-tells.md": GOOD_LESSON})
    code, out, _err = _run("lessons", "check", str(course))
    assert (code, out.splitlines()) == (
        0,
        [f"{course}: 1 course, 1 lesson, 1 question, no problems"],
    )
    (course / "02-long.md").write_text(LONG_PARAGRAPH, encoding="utf-8")
    code, out, err = _run("lessons", "check", str(course))
    assert code == 1
    assert out.splitlines() == [
        f"{course}/02-long.md:8: this paragraph is 3999 characters in Slack; at most 3000 fit "
        "in one block: split it into shorter paragraphs"
    ]
    assert err.splitlines() == [f"1 problem in {course}"]


def test_report_without_the_lessons_folder_names_lessons_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LESSONS_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'microlearn.db'}")
    code, _out, err = _run("report", "security-basics", "--csv", str(tmp_path / "a.csv"))
    assert code == 1
    assert err.splitlines() == [
        f"microlearn: the lessons folder {tmp_path / 'nowhere'} does not exist: set LESSONS_DIR "
        "to the folder of courses the report is about"
    ]


def test_version_comes_from_the_package() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"microlearn {metadata.version('microlearn')}\n"


def test_make_run_with_credentials_missing_explains_without_looking_like_a_crash() -> None:
    """With no credential at all `make run` opens the sandbox (tests/sandbox/); with some of
    them it says what is missing."""
    result = subprocess.run(
        # The installed environment as it is: never reinstall from inside a test.
        [
            "make",
            "--no-print-directory",
            "-o",
            ".venv/.installed-stamp",
            f"BIN={Path(sys.executable).parent}",
            "run",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        # Empty values win over anything a developer's .env holds.
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": "/tmp",
            "SLACK_BOT_TOKEN": "xoxb-only-the-bot-token",
            "SLACK_APP_TOKEN": "",
            "SLACK_SIGNING_SECRET": "",
        },
    )
    assert "Missing: SLACK_APP_TOKEN" in result.stderr
    assert "***" not in result.stderr + result.stdout and "Error" not in result.stderr
    assert result.returncode == 0
