"""The built wheel, installed with its runtime dependencies only into a clean virtualenv, runs:
what deploy/Dockerfile's build stage does, without a container engine.

Slow (pip installs every runtime dependency: some 6 s of CPU, more on a busy machine), so it
runs on CI (CI=true) or when asked for with MICROLEARN_SLOW_TESTS=1, and is skipped otherwise.

The dependencies' wheels are kept in build/wheelhouse/ for a day (WHEELHOUSE_HOURS): pip reading
the package index's pages for them (54,000 links, numpy's and matplotlib's most of them) was half
of the install's CPU and most of its wall time. Within that day the install takes them from
there, with pip's own resolver, offline; a changed dependency list, or a wheel the wheelhouse
lacks, sends it back to the index (for every dependency, kept for the next day).

The wheel is built as pip's build isolation builds it, without pip's three hook processes and
its build environment installed anew each run (2.5 s of CPU): the backend that pyproject.toml
names runs in one interpreter that sees the standard library and build-system.requires only,
installed once a day into build/build-env/ (BUILD_ENV).
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
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT, BUILD_SYSTEM = PYPROJECT["project"], PYPROJECT["build-system"]
WHEELHOUSE = ROOT / "build" / "wheelhouse"
BUILD_ENV = ROOT / "build" / "build-env"
WHEELHOUSE_HOURS = 24.0  # then the dependencies come from the index again (new releases too)
# PEP 517's two hooks for a wheel, in a fresh interpreter: -I -S leave out the environment's
# variables, the current folder and every site-packages (this one's too), as pip's isolation
# does; the build environment alone is put in front of the standard library.
BUILD_HOOKS = (
    "import importlib, json, sys; env, backend, out = sys.argv[1:]; sys.path[:0] = [env]; "
    "hooks = importlib.import_module(backend); "
    "print(json.dumps([hooks.get_requires_for_build_wheel(), hooks.build_wheel(out)]))"
)

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
    wheel = _build_wheel(source, wheels, work=work)
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


def _build_wheel(source: Path, wheels: Path, *, work: Path) -> Path:
    """`pip wheel --no-deps .` in `source`, the same wheel file for file: the backend builds it
    with nothing installed beside it but build-system.requires, and asks for nothing more."""
    assert "backend-path" not in BUILD_SYSTEM  # an in-tree backend would need its folder too
    wheels.mkdir()
    hooks = (BUILD_HOOKS, _build_env(work), BUILD_SYSTEM["build-backend"], wheels)
    built = run(sys.executable, "-I", "-S", "-c", *hooks, cwd=source)
    assert built.returncode == 0, built.stdout + built.stderr
    asked, name = json.loads(built.stdout.splitlines()[-1])
    assert asked == [], asked  # pip would install these too before building
    (wheel,) = wheels.glob("microlearn-*.whl")
    assert wheel.name == name, name
    return wheel


def _build_env(work: Path) -> Path:
    """A folder holding build-system.requires (pip install --target), kept for a day as the
    wheelhouse is; a changed list, or another interpreter, is another folder."""
    kept = BUILD_ENV / _key(BUILD_SYSTEM["requires"])
    if _fresh(kept):
        return kept
    fresh = work / "build-env"
    pip = (sys.executable, "-m", "pip", "install", "--target", fresh)
    installed = run(*pip, *BUILD_SYSTEM["requires"], cwd=work)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return _keep(fresh, kept)


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
    house = _keep(fresh, WHEELHOUSE / _key(PROJECT["dependencies"]))
    return run(*pip, "--no-index", "--find-links", house, wheel, cwd=cwd)


def _key(requirements: list[str]) -> str:
    """The requirements as declared and the interpreter: either changed, another folder."""
    text = json.dumps([sys.implementation.cache_tag, sys.platform, requirements])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _wheelhouse() -> Path | None:
    house = WHEELHOUSE / _key(PROJECT["dependencies"])
    return house if _fresh(house) else None


def _fresh(kept: Path) -> bool:
    """`kept` exists and is younger than WHEELHOUSE_HOURS."""
    try:
        age = time.time() - kept.stat().st_mtime
    except FileNotFoundError:
        return False
    return age < WHEELHOUSE_HOURS * 3600


def _keep(fresh: Path, kept: Path) -> Path:
    """`fresh` becomes `kept`: copied beside it, then renamed into place, so that another run
    reads the old one or this one, whole. Should that fail (another run at the same moment),
    `fresh` serves this run."""
    staged, old = (kept.parent / f".{kept.name}.{part}-{os.getpid()}" for part in ("new", "old"))
    try:
        shutil.copytree(fresh, staged)  # build/ is in the tree; `fresh` may be elsewhere
        if kept.exists():
            kept.rename(old)
        staged.rename(kept)
    except OSError:
        return fresh
    finally:
        for leftover in (staged, old):
            shutil.rmtree(leftover, ignore_errors=True)
    return kept


def _name(requirement: str) -> str:
    """The distribution's name, normalized (PEP 503): slack_sdk and Slack-SDK are slack-sdk."""
    name = re.split(r"[<>=\[ ;]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()
