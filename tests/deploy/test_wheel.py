"""The built wheel, installed with its runtime dependencies only into a clean virtualenv, runs:
what deploy/Dockerfile's build stage does, without a container engine.

Slow (pip installs every runtime dependency: some 6 s of CPU, more on a busy machine), so it
runs on CI (CI=true) or when asked for with MICROLEARN_SLOW_TESTS=1, and is skipped otherwise.

The dependencies' wheels are kept in build/wheelhouse/ for a day (WHEELHOUSE_HOURS): pip reading
the package index's pages for them (54,000 links, numpy's and matplotlib's most of them) was half
of the install's CPU and most of its wall time. Within that day the install takes them from
there, with pip's own resolver, offline; a changed dependency list, or a wheel the wheelhouse
lacks, sends it back to the index (for every dependency, kept for the next day).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import venv
from pathlib import Path

import pytest

from tests.support.process import LESSONS, ROOT

RUN_SLOW = os.environ.get("CI") == "true" or os.environ.get("MICROLEARN_SLOW_TESTS") == "1"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
WHEELHOUSE = ROOT / "build" / "wheelhouse"
WHEELHOUSE_HOURS = 24.0  # then the dependencies come from the index again (new releases too)

pytestmark = [
    pytest.mark.slow,
    # One worker builds and installs the wheel once for all four tests (a module fixture is
    # per worker: split across two, both would build it).
    pytest.mark.xdist_group("wheel"),
    pytest.mark.skipif(
        not RUN_SLOW,
        reason="slow: pip installs the runtime dependencies (several seconds); "
        "runs on CI (CI=true) or with MICROLEARN_SLOW_TESTS=1",
    ),
]


def run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh virtualenv holding the wheel and its runtime dependencies."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    # What the Dockerfile copies into its build stage (the .dockerignore leaves caches out).
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "bot", source / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    wheels, environment = work / "wheels", work / "venv"
    built = run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", wheels, ".", cwd=source
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("microlearn-*.whl")
    venv.EnvBuilder(with_pip=False).create(environment)
    python = environment / "bin" / "python"
    # --no-compile: byte-compiling every dependency (matplotlib, numpy, SQLAlchemy: some 2,900
    # modules) was 9.5 of the install's 14.5 s of CPU, and it is pip's own step, not the wheel's.
    # The wheel's own modules are compiled below, as the Dockerfile's install compiles them.
    install = _install(python, wheel, cwd=work)
    assert install.returncode == 0, install.stdout + install.stderr
    package = run(python, "-c", "import bot, os; print(os.path.dirname(bot.__file__))", cwd=work)
    assert package.returncode == 0 and package.stdout.strip(), package.stderr
    installed_at = Path(package.stdout.strip()).resolve()
    assert installed_at.is_relative_to(environment.resolve()), installed_at  # not ./bot
    compiled = run(python, "-m", "compileall", "-q", installed_at, cwd=work)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    return environment / "bin"


def test_only_the_runtime_dependencies_are_installed(installed: Path) -> None:
    listing = run(
        installed / "python",
        "-c",
        "import importlib.metadata as m, json; "
        "print(json.dumps([d.metadata['Name'] for d in m.distributions()]))",
        cwd=installed,
    )
    names = {_name(name) for name in json.loads(listing.stdout)}
    declared = {_name(requirement) for requirement in PROJECT["dependencies"]}
    assert "microlearn" in names
    assert declared <= names
    dev = {_name(requirement) for requirement in PROJECT["optional-dependencies"]["dev"]}
    assert not (names & (dev | {"pip", "setuptools", "hypothesis"})), names & dev


def test_db_upgrade_migrates_a_new_sqlite_file(installed: Path, tmp_path: Path) -> None:
    env_file = tmp_path / "settings.env"
    env_file.write_text(f"DATABASE_URL=sqlite:///{tmp_path / 'microlearn.db'}\n")
    command = (installed / "microlearn", "--env-file", env_file, "db", "upgrade")
    first, again = run(*command, cwd=tmp_path), run(*command, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    head = max(path.name[:4] for path in (ROOT / "bot/storage/migrations/versions").glob("0*.py"))
    assert first.stdout.strip() == f"database migrated empty → {head}"
    assert again.returncode == 0 and again.stdout.strip() == f"database already at {head}"
    assert (tmp_path / "microlearn.db").stat().st_size > 0


def test_the_lessons_check_and_render_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    """The templates and the checker ship in the wheel: what `serve` needs before it starts."""
    check = run(installed / "microlearn", "lessons", "check", LESSONS, cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.rstrip().endswith("no problems")
    preview = run(
        installed / "microlearn",
        *("lessons", "preview", "security-basics/spot-phishing", "--folder", LESSONS),
        "--no-links",
        cwd=tmp_path,
    )
    assert preview.returncode == 0, preview.stderr
    assert json.loads(preview.stdout)["lesson"] == "security-basics/spot-phishing"


def test_version_names_the_release(installed: Path, tmp_path: Path) -> None:
    result = run(installed / "microlearn", "--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"microlearn {PROJECT['version']}"


def _install(python: Path, wheel: Path, *, cwd: Path) -> subprocess.CompletedProcess[str]:
    """pip installs the wheel and the dependencies its metadata names into `python`'s virtualenv
    (as the Dockerfile does), taking them from the wheelhouse when it has them all."""
    pip = (sys.executable, "-m", "pip", "--python", python, "install", "--no-compile")
    house = _wheelhouse()
    if house is not None:
        offline = run(*pip, "--no-index", "--find-links", house, wheel, cwd=cwd)
        if offline.returncode == 0:
            return offline
        # Something is missing (a new dependency, a raised lower bound): from the index.
    fresh = cwd / "downloaded"
    download = run(sys.executable, "-m", "pip", "download", "--dest", fresh, wheel, cwd=cwd)
    if download.returncode != 0:
        return download
    for ours in fresh.glob("microlearn-*"):
        ours.unlink()
    house = _keep_wheelhouse(fresh)
    return run(*pip, "--no-index", "--find-links", house, wheel, cwd=cwd)


def _wheelhouse_key() -> str:
    """The dependencies as declared and the interpreter: either changed, another wheelhouse."""
    text = json.dumps([sys.implementation.cache_tag, sys.platform, PROJECT["dependencies"]])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _wheelhouse() -> Path | None:
    house = WHEELHOUSE / _wheelhouse_key()
    try:
        age = time.time() - house.stat().st_mtime
    except FileNotFoundError:
        return None
    return house if age < WHEELHOUSE_HOURS * 3600 else None


def _keep_wheelhouse(fresh: Path) -> Path:
    """`fresh` becomes the wheelhouse for these dependencies: copied beside it, then renamed into
    place, so that another run reads the old one or this one, whole. Should that fail (another
    run at the same moment), `fresh` serves this run."""
    house = WHEELHOUSE / _wheelhouse_key()
    staged, old = (WHEELHOUSE / f".{house.name}.{part}-{os.getpid()}" for part in ("new", "old"))
    try:
        shutil.copytree(fresh, staged)  # build/ is in the tree; `fresh` in the temporary folder
        if house.exists():
            house.rename(old)
        staged.rename(house)
    except OSError:
        return fresh
    finally:
        for leftover in (staged, old):
            shutil.rmtree(leftover, ignore_errors=True)
    return house


def _name(requirement: str) -> str:
    """The distribution's name, normalized (PEP 503): slack_sdk and Slack-SDK are slack-sdk."""
    name = re.split(r"[<>=\[ ;]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()
