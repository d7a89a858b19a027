"""Settings from the environment and `.env`, and what `microlearn` says when they are wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings, parse_env_file, settings_from


def test_defaults_match_the_documented_table() -> None:
    settings = settings_from({})
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url == "sqlite:///microlearn.db"
    assert settings.lessons_dir == Path("lessons")
    assert settings.admins == frozenset()
    assert settings.tick_seconds == 30
    assert settings.sandbox_port == 3000
    assert (settings.remind_hours, settings.reminders) == (24.0, 2)
    assert (settings.auto_pause_after, settings.reviews_per_day) == (3, 3)
    assert not settings.socket_mode


def test_reminder_and_review_settings_come_from_their_variables() -> None:
    settings = settings_from(
        {
            "MICROLEARN_REMIND_HOURS": "1.5",
            "MICROLEARN_REMINDERS": "0",
            "MICROLEARN_AUTO_PAUSE_AFTER": "0",
            "MICROLEARN_REVIEWS_PER_DAY": "5",
        }
    )
    assert (settings.remind_hours, settings.reminders) == (1.5, 0)
    assert (settings.auto_pause_after, settings.reviews_per_day) == (0, 5)


def test_the_sandbox_port_comes_from_its_variable() -> None:
    assert settings_from({"MICROLEARN_SANDBOX_PORT": "4000"}).sandbox_port == 4000


def test_answers_are_kept_unless_a_retention_period_is_set() -> None:
    assert settings_from({}).retention_days is None
    assert settings_from({"MICROLEARN_RETENTION_DAYS": " 365 "}).retention_days == 365


def test_posts_in_flight_follow_the_rate_unless_set() -> None:
    assert settings_from({}).posts_in_flight == 2  # 4 a second
    assert settings_from({"MICROLEARN_SEND_RATE": "100"}).posts_in_flight == 40
    assert settings_from({"MICROLEARN_SEND_RATE": "1000"}).posts_in_flight == 64
    assert settings_from({"MICROLEARN_SEND_THREADS": "1"}).posts_in_flight == 1


def test_socket_mode_serves_from_two_processes_unless_set() -> None:
    assert settings_from({}).socket_processes == 2
    assert settings_from({"MICROLEARN_SOCKET_PROCESSES": "1"}).socket_processes == 1
    assert settings_from({"MICROLEARN_SOCKET_PROCESSES": "10"}).socket_processes == 10


def test_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\n"
        "export SLACK_BOT_TOKEN=xoxb-from-file\n"
        "SLACK_APP_TOKEN='xapp-from-file'\n"
        'MICROLEARN_ADMINS="U0ADMIN1, U0ADMIN2"\n'
        "MICROLEARN_TICK_SECONDS=10  # seconds\n"
        "\n",
        encoding="utf-8",
    )
    settings = load_settings({"MICROLEARN_TICK_SECONDS": "5"}, env_file=env_file)
    assert settings.slack_bot_token == "xoxb-from-file"
    assert settings.slack_app_token == "xapp-from-file"
    assert settings.socket_mode
    assert settings.admins == {"U0ADMIN1", "U0ADMIN2"}
    assert settings.tick_seconds == 5


def test_the_env_file_is_read_as_python_dotenv_reads_it(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        'SLACK_BOT_TOKEN="xoxb-123-abc"  # my bot\n'
        "export SLACK_APP_TOKEN = 'xapp-1-#not-a-comment'\n"
        "SLACK_SIGNING_SECRET=s3cr3t # from Basic Information\n"
        'DATABASE_URL="postgresql://learn:p%40ss$word@db:5432/learn"\n'
        "LESSONS_DIR=\n"
        "MICROLEARN_ADMINS='U0ADMIN1, U0ADMIN2'   # who may grant the lead role\n"
        'MICROLEARN_LOG_LEVEL="warning\\n"\n',
        encoding="utf-8",
    )
    settings = load_settings({"SLACK_SIGNING_SECRET": "from-the-environment"}, env_file=env_file)
    assert settings.slack_bot_token == "xoxb-123-abc"
    assert settings.slack_app_token == "xapp-1-#not-a-comment"
    assert settings.slack_signing_secret == "from-the-environment"  # the environment wins
    assert settings.database_url == "postgresql+psycopg://learn:p%40ss$word@db:5432/learn"
    assert settings.lessons_dir == Path("lessons")  # empty: the default
    assert settings.admins == {"U0ADMIN1", "U0ADMIN2"}
    assert settings.log_level == "WARNING"  # an escaped newline, trimmed like any value


def test_a_missing_env_file_is_fine(tmp_path: Path) -> None:
    assert load_settings({}, env_file=tmp_path / "absent").tick_seconds == 30


def test_postgres_urls_get_the_psycopg_driver() -> None:
    settings = settings_from({"DATABASE_URL": "postgresql://u:p@db:5432/learn"})
    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/learn"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SLACK_BOT_TOKEN", "xoxp-user-token"),
        ("SLACK_APP_TOKEN", "xoxb-wrong-kind"),
        ("SLACK_API_URL", "slack.com/api"),
        ("DATABASE_URL", "mysql://root@localhost/db"),
        ("MICROLEARN_ADMINS", "U0ADMIN1,@ann"),
        ("MICROLEARN_TICK_SECONDS", "0"),
        ("MICROLEARN_TICK_SECONDS", "soon"),
        ("MICROLEARN_SEND_RATE", "fast"),
        ("MICROLEARN_SEND_THREADS", "0"),
        ("MICROLEARN_SEND_THREADS", "1000"),
        ("MICROLEARN_SEND_THREADS", "many"),
        ("MICROLEARN_SOCKET_PROCESSES", "0"),
        ("MICROLEARN_SOCKET_PROCESSES", "11"),  # Slack opens 10 connections per app at most
        ("MICROLEARN_LOG_LEVEL", "chatty"),
        ("MICROLEARN_SANDBOX_PORT", "70000"),
        ("MICROLEARN_SANDBOX_PORT", "web"),
        ("MICROLEARN_REMIND_HOURS", "0"),
        ("MICROLEARN_REMIND_HOURS", "a day"),
        ("MICROLEARN_REMINDERS", "-1"),
        ("MICROLEARN_REMINDERS", "1.5"),
        ("MICROLEARN_AUTO_PAUSE_AFTER", "three"),
        ("MICROLEARN_REVIEWS_PER_DAY", "0"),
        ("MICROLEARN_RETENTION_DAYS", "0"),
        ("MICROLEARN_RETENTION_DAYS", "a year"),
        ("MICROLEARN_RETENTION_DAYS", "+30"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        settings_from({variable: value})


def test_a_malformed_env_line_names_file_and_line() -> None:
    with pytest.raises(ConfigError, match=r"\.env:2: expected KEY=value"):
        parse_env_file("SLACK_BOT_TOKEN=xoxb-1\nthis is not a setting\n")


def _microlearn(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


# `microlearn …` in this process: exit code and standard error, with only `env` set, in tmp_path.
Here = Callable[..., tuple[int, str]]


@pytest.fixture
def here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Here:
    """For the commands that get as far as importing the whole app (a new process would only
    import it again, a second or more each); the lines and codes are bot.cli.main's either way,
    and `python -m bot` is that main (the tests above and test_cli's run it as a process)."""

    def run(*args: str, env: dict[str, str]) -> tuple[int, str]:
        for name in list(os.environ):
            if name.startswith(("SLACK_", "MICROLEARN_")) or name in (
                "DATABASE_URL",
                "LESSONS_DIR",
                "PROMETHEUS_MULTIPROC_DIR",
            ):
                monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        code = main(list(args))
        return code, capsys.readouterr().err

    return run


def test_bad_configuration_stops_with_one_clear_line(tmp_path: Path) -> None:
    result = _microlearn("serve", env={"MICROLEARN_TICK_SECONDS": "soon"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "microlearn: MICROLEARN_TICK_SECONDS must be a whole number ≥ 1, got 'soon'"
    ]
    assert "Traceback" not in result.stderr


def test_serve_without_credentials_explains_how_to_get_them(here: Here) -> None:
    code, stderr = here("serve", env={})
    assert code == 1
    assert "Traceback" not in stderr
    assert "Missing: SLACK_BOT_TOKEN, SLACK_APP_TOKEN" in stderr
    assert "deploy/slack-manifest.yaml" in stderr
    assert "connections:write" in stderr
    assert len(stderr.splitlines()) <= 24  # one screen


def test_http_mode_asks_for_the_signing_secret(tmp_path: Path, here: Here) -> None:
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-1\n", encoding="utf-8")
    code, stderr = here("serve", "--http", env={})
    assert code == 1
    assert "Missing: SLACK_SIGNING_SECRET" in stderr


def test_serve_refuses_broken_lessons_and_lists_the_problems(tmp_path: Path, here: Here) -> None:
    course = tmp_path / "lessons" / "demo"
    course.mkdir(parents=True)
    (course / "course.yaml").write_text("title: Demo\ndescription: d\n", encoding="utf-8")
    (course / "01-intro.md").write_text(
        "---\ntitle: Intro\nobjective: o\nminutes: 3\n---\nHi {{ learner.frist_name }}\n",
        encoding="utf-8",
    )
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "LESSONS_DIR": "lessons"}
    code, stderr = here("serve", env=env)
    assert code == 1
    lines = stderr.splitlines()
    assert lines[0].startswith(
        "lessons/demo/01-intro.md:6: unknown template variable 'learner.frist_name'"
    )
    assert lines[-1] == (
        "microlearn: 1 problem in lessons; fix them before serving "
        "(`microlearn lessons check lessons` lists them)"
    )
    assert not (tmp_path / "microlearn.db").exists()  # nothing was started or migrated


OAUTH = {
    "SLACK_CLIENT_ID": "1234567890.0987654321",
    "SLACK_CLIENT_SECRET": "client-secret",
    "SLACK_STATE_SECRET": "a-long-random-state-secret",
}


def test_the_three_oauth_variables_turn_on_installs_in_several_workspaces() -> None:
    settings = settings_from(OAUTH)
    assert settings.oauth
    assert settings.slack_client_id == "1234567890.0987654321"
    assert settings.slack_client_secret == "client-secret"
    assert not settings_from({"SLACK_BOT_TOKEN": "xoxb-1"}).oauth


@pytest.mark.parametrize("left_out", sorted(OAUTH))
def test_the_oauth_variables_come_all_three_or_none(left_out: str) -> None:
    given = {name: value for name, value in OAUTH.items() if name != left_out}
    with pytest.raises(ConfigError) as raised:
        settings_from(given)
    message = str(raised.value)
    assert f"but {left_out} not" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SLACK_CLIENT_ID", "my-app"), ("SLACK_STATE_SECRET", "short")],
)
def test_a_bad_oauth_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        settings_from({**OAUTH, variable: value})


def test_half_an_oauth_setup_stops_with_one_clear_line(tmp_path: Path) -> None:
    env = {"SLACK_CLIENT_ID": OAUTH["SLACK_CLIENT_ID"], "SLACK_SIGNING_SECRET": "s"}
    result = _microlearn("serve", "--http", env=env, cwd=tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("microlearn: SLACK_CLIENT_ID set but SLACK_CLIENT_SECRET, SLACK_STATE")


def test_oauth_needs_http_mode(here: Here) -> None:
    code, stderr = here("serve", env={**OAUTH, "SLACK_APP_TOKEN": "xapp-1"})
    assert code == 2
    assert stderr.splitlines() == [
        "microlearn: installing in several workspaces (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, "
        "SLACK_STATE_SECRET) needs HTTP mode: run `microlearn serve --http` (Slack's install "
        "redirect needs a public URL)"
    ]


def test_log_format_and_probe_port_settings() -> None:
    assert settings_from({}).log_format == "text"
    assert settings_from({}).http_port is None
    assert settings_from({"MICROLEARN_LOG_FORMAT": "JSON"}).log_format == "json"
    assert settings_from({"MICROLEARN_HTTP_PORT": "9090"}).http_port == 9090
    with pytest.raises(ConfigError, match="MICROLEARN_HTTP_PORT must be a TCP port"):
        settings_from({"MICROLEARN_HTTP_PORT": "70000"})


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"MICROLEARN_LOG_FORMAT": "yaml"},
            "microlearn: MICROLEARN_LOG_FORMAT must be text or json, got 'yaml'",
        ),
        (
            {"MICROLEARN_HTTP_PORT": "http"},
            "microlearn: MICROLEARN_HTTP_PORT must be a whole number ≥ 1, got 'http'",
        ),
    ],
    ids=["log-format", "http-port"],
)
def test_a_bad_log_format_or_probe_port_is_one_line_and_exit_2(
    env: dict[str, str], line: str, tmp_path: Path
) -> None:
    result = _microlearn("serve", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [line]


def test_an_unusable_prometheus_directory_is_one_line_and_exit_2(
    tmp_path: Path, here: Here
) -> None:
    taken = tmp_path / "not-a-directory"
    taken.write_text("")
    code, stderr = here("serve", "--http", env={"PROMETHEUS_MULTIPROC_DIR": str(taken)})
    assert code == 2
    assert stderr.splitlines() == [
        f"microlearn: PROMETHEUS_MULTIPROC_DIR={taken} cannot be used (File exists); point it "
        "at a writable directory of its own, or unset it to let microlearn make one"
    ]
