"""`microlearn lessons import` through the CLI: what it prints, and that the result passes check."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.cli import main
from tests.support.fixtures import OWN_AIKEN, OWN_CSV, OWN_GIFT, moodle, needs_moodle


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(["--env-file", "/nonexistent", *args], out=out), out.getvalue()


@pytest.mark.parametrize(
    ("bank", "fmt", "imported", "skipped"),
    [
        (OWN_GIFT, "gift", 13, 5),
        (OWN_AIKEN, "aiken", 4, 2),
        (OWN_CSV, "csv", 6, 1),
        pytest.param("moodle-test-fixture.gift.txt", "gift", 6, 3, marks=needs_moodle),
        pytest.param("moodle-examples.gift.txt", "gift", 23, 20, marks=needs_moodle),
    ],
)
def test_question_banks_import_into_courses_that_pass_check(
    tmp_path: Path, bank: Path | str, fmt: str, imported: int, skipped: int
) -> None:
    code, output = run(
        "lessons",
        "import",
        str(bank if isinstance(bank, Path) else moodle(bank)),
        "--format",
        fmt,
        "--course",
        "moodle",
        "--into",
        str(tmp_path),
    )
    assert code == 0
    lines = output.splitlines()
    assert sum(line.startswith("imported  ") for line in lines) == imported
    assert sum(line.startswith("skipped  line ") for line in lines) == skipped
    assert lines[-1].startswith(f"Imported {imported} questions into {tmp_path / 'moodle'}")
    code, output = run("lessons", "check", str(tmp_path))
    assert code == 0, output
    assert f"{imported} questions, no problems" in output


def test_aiken_and_csv_import_through_the_cli(tmp_path: Path) -> None:
    aiken = tmp_path / "bank.txt"
    aiken.write_text(
        "Which protocol signs Slack requests?\nA) HMAC-SHA256\nB) MD5\nANSWER: A\n",
        encoding="utf-8",
    )
    csv_bank = tmp_path / "bank.csv"
    csv_bank.write_text(
        "question,kind,option_1,option_2,option_3,option_4,option_5,option_6,option_7,option_8,"
        "option_9,option_10,correct,explanation\n"
        '"Pick the passkey facts",multiple,"Phishing-resistant","Reusable everywhere",'
        '"Bound to the site",,,,,,,,1;3,"Passkeys are per-site key pairs."\n',
        encoding="utf-8",
    )
    lessons = tmp_path / "lessons"
    assert (
        run(
            "lessons",
            "import",
            str(aiken),
            "--format",
            "aiken",
            "--course",
            "a",
            "--into",
            str(lessons),
        )[0]
        == 0
    )
    assert (
        run(
            "lessons",
            "import",
            str(csv_bank),
            "--format",
            "csv",
            "--course",
            "c",
            "--into",
            str(lessons),
        )[0]
        == 0
    )
    code, output = run("lessons", "check", str(lessons))
    assert code == 0, output
    assert "2 courses, 2 lessons, 2 questions" in output


def test_a_bad_bank_is_a_line_numbered_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("question,kind\nx,single\n", encoding="utf-8")
    code, _ = run(
        "lessons", "import", str(bad), "--format", "csv", "--course", "bad", "--into", str(tmp_path)
    )
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{bad}:1: ")
    assert "Traceback" not in err
    assert not (tmp_path / "bad").exists()
