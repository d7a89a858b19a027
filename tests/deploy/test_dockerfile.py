"""deploy/Dockerfile and .dockerignore keep the image's contract (no container engine here)."""

from __future__ import annotations

import re
import subprocess
import sysconfig
import tomllib
from pathlib import Path

import pytest

from tests.deploy.manifests import (
    DOCKERFILE,
    Stage,
    dockerfile_stages,
    dockerignore_rules,
    in_build_context,
)
from tests.support.process import ROOT

DEV_TOOLS = ("pytest", "ruff", "mypy", "hypothesis", "import-linter", "lint-imports")


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return dockerfile_stages()


def test_the_image_is_built_in_stages_onto_a_slim_python(stages: list[Stage]) -> None:
    assert len(stages) >= 2
    build, final = stages[0], stages[-1]
    assert build.name == "build"
    assert re.fullmatch(r"python:3\.(1[1-9])-slim(-\w+)?", final.base), final.base
    assert build.base == final.base  # the environment is copied between them: same Python
    copied = [
        item for item in final.all("COPY") if any(f.startswith("--from=") for f in item.flags)
    ]
    assert [item.flags for item in copied] == [("--from=build",)]


def test_the_final_stage_runs_microlearn_serve_as_a_user_who_is_not_root(
    stages: list[Stage],
) -> None:
    final = stages[-1]
    user = final.last("USER")
    assert user is not None
    name = user.arguments[0].split(":")[0]
    assert name not in ("root", "0")
    assert name.isdigit()  # Kubernetes' runAsNonRoot can only check a numeric user
    entrypoint, cmd = final.last("ENTRYPOINT"), final.last("CMD")
    assert entrypoint is not None and cmd is not None
    assert entrypoint.json_form and cmd.json_form  # exec form: microlearn is PID 1 and gets SIGTERM
    assert [*entrypoint.arguments, *cmd.arguments] == ["microlearn", "serve"]
    env = _env(final)
    assert env["LESSONS_DIR"] == "/app/lessons"
    assert env["DATABASE_URL"] == "sqlite:////data/microlearn.db"
    assert env["PATH"].startswith("/opt/microlearn/bin:")
    volume = final.last("VOLUME")
    assert volume is not None and "/data" in volume.arguments


def test_the_healthcheck_asks_healthz_on_the_port_the_image_names(stages: list[Stage]) -> None:
    final = stages[-1]
    check = final.last("HEALTHCHECK")
    assert check is not None
    assert check.arguments[0] == "CMD"
    assert list(check.arguments[1:]) == ["python", "/app/healthcheck.py"]
    assert ("deploy/healthcheck.py", "/app/healthcheck.py") in _copies(final)
    assert _env(final)["MICROLEARN_HTTP_PORT"] == "3000"
    exposed = final.last("EXPOSE")
    assert exposed is not None and exposed.arguments == ("3000",)
    assert "--timeout=5s" in check.flags  # healthcheck.py gives up after 4 s and says why


def test_only_the_wheel_and_its_runtime_dependencies_are_installed(stages: list[Stage]) -> None:
    build, final = stages[0], stages[-1]
    (install,) = build.all("RUN")
    command = " ".join(install.arguments)
    assert "pip wheel --no-deps --wheel-dir /wheels ." in command
    assert "venv --without-pip /opt/microlearn" in command
    assert "pip --python /opt/microlearn/bin/python install /wheels/microlearn-" in command
    assert "[dev]" not in command
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    dev_names = {re.split(r"[<>=\[ ]", requirement)[0] for requirement in dev["dev"]}
    for item in final.all("RUN"):
        text = " ".join(item.arguments)
        assert "pip" not in text and "apt-get" not in text, f"line {item.line}: {text}"
        for tool in (*DEV_TOOLS, *dev_names):
            assert tool not in text, f"line {item.line} installs {tool}"
    assert {source for source, _ in _copies(final)} == {
        "/opt/microlearn",
        "lessons",
        "deploy/healthcheck.py",
    }


def test_the_build_context_holds_what_the_image_copies_and_nothing_private(
    stages: list[Stage],
) -> None:
    rules = dockerignore_rules()
    files = subprocess.run(  # tracked, and new files not yet committed
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    sent = {path for path in files if in_build_context(path, rules)}
    for stage in stages:
        for source, _ in _copies(stage):
            if not source.startswith("/"):
                assert any(p == source or p.startswith(source + "/") for p in sent), source
    assert (
        "bot/cli/__init__.py" in sent
        and "bot/storage/migrations/versions/0001_initial_tables.py" in sent
    )
    for private in (
        ".env",
        ".env.example",
        ".venv/bin/python",
        ".git/config",
        "microlearn.db",
        "microlearn.db-wal",
        "lessons/microlearn.db",
        "bot/__pycache__/cli.cpython-311.pyc",
        ".mypy_cache/3.11/cache.db",
        ".pytest_cache/v/cache/nodeids",
        "tests/conftest.py",
        "deploy/kubernetes/secret.yaml",
    ):
        assert not in_build_context(private, rules), private


def test_hadolint_finds_nothing() -> None:
    """hadolint, the Dockerfile linter (a dev dependency), at its strictest threshold."""
    hadolint = Path(sysconfig.get_path("scripts")) / "hadolint"
    result = subprocess.run(
        [str(hadolint), "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _env(stage: Stage) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in stage.all("ENV"):
        # BuildKit's parser gives ENV as name, value, name, value …
        values.update(zip(item.arguments[::2], item.arguments[1::2], strict=True))
    return values


def _copies(stage: Stage) -> list[tuple[str, str]]:
    """(source, destination) of every COPY; sources of `--from` copies are absolute paths."""
    pairs: list[tuple[str, str]] = []
    for item in stage.all("COPY"):
        *sources, destination = item.arguments
        pairs.extend((source.rstrip("/"), destination) for source in sources)
    return pairs
