"""deploy/compose.yaml: valid Compose, its services wired as the README says, every path real."""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from bot.config import settings_from
from tests.deploy.manifests import COMPOSE, DEPLOY, JSON, dockerfile_stages
from tests.support.process import ROOT

VARIANT = re.compile(
    r"^# socket-mode-variant:begin\n(.*?)^# socket-mode-variant:end\n", re.M | re.S
)


@pytest.fixture(scope="module")
def compose() -> JSON:
    document: JSON = yaml.safe_load(COMPOSE.read_text())
    return document


@pytest.fixture(scope="module")
def socket_variant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The commented Socket Mode variant, uncommented, as the file an operator would write."""
    match = VARIANT.search(COMPOSE.read_text())
    assert match is not None
    lines = [line.removeprefix("#").removeprefix(" ") for line in match.group(1).splitlines()]
    path = tmp_path_factory.mktemp("variant") / "compose.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@cache
def compose_schema() -> Validator:
    """The Compose specification's JSON schema, as the check-jsonschema package ships it."""
    vendored = files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(vendored.read_text())
    validator: type[Validator] = validator_for(schema)
    validator.check_schema(schema)
    return validator(schema)


def compose_errors(path: Path) -> list[str]:
    errors = compose_schema().iter_errors(yaml.safe_load(path.read_text()))
    return [f"{error.json_path}: {error.message}" for error in errors]


@pytest.mark.parametrize("which", ["http-postgresql", "socket-mode-sqlite"])
def test_the_file_is_valid_compose(which: str, socket_variant: Path) -> None:
    assert compose_errors(COMPOSE if which == "http-postgresql" else socket_variant) == []


def test_the_schema_check_refuses_a_misspelt_file(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("condition: service_healthy", "condition: up"))
    errors = compose_errors(broken)
    # Both services that wait on the database, and nothing else.
    assert {error.split(":")[0].split(".depends_on")[0] for error in errors} == {
        "$.services.migrate",
        "$.services.microlearn",
    }, errors


def test_microlearn_serves_http_after_postgresql_is_healthy_and_migrated(compose: JSON) -> None:
    services = compose["services"]
    assert set(services) == {"db", "migrate", "microlearn"}
    server, migrate, db = services["microlearn"], services["migrate"], services["db"]
    assert server["command"] == ["serve", "--http", "--port", "3000"]
    assert server["ports"] == ["3000:3000"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["restart"] == "no"
    assert server["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert server["image"] == migrate["image"] and server["build"] == migrate["build"]
    assert db["image"].startswith("postgres:")
    assert db["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert set(compose["volumes"]) == {"pgdata"}


def test_both_services_talk_to_the_compose_database(compose: JSON) -> None:
    db = compose["services"]["db"]["environment"]
    for name in ("migrate", "microlearn"):
        url = _defaults(compose["services"][name]["environment"]["DATABASE_URL"])
        settings = settings_from({"DATABASE_URL": url})
        password = _defaults(db["POSTGRES_PASSWORD"])
        assert settings.database_url == (
            f"postgresql+psycopg://{db['POSTGRES_USER']}:{password}@db:5432/{db['POSTGRES_DB']}"
        )


def test_healthchecks_ask_what_the_image_and_postgresql_provide(compose: JSON) -> None:
    services = compose["services"]
    assert services["db"]["healthcheck"]["test"][0] == "CMD-SHELL"
    assert "pg_isready" in services["db"]["healthcheck"]["test"][1]
    check = services["microlearn"]["healthcheck"]
    assert check["test"] == ["CMD", "python", "/app/healthcheck.py"]
    final = dockerfile_stages()[-1]
    copied = {item.arguments[-1]: item.arguments[0] for item in final.all("COPY")}
    assert copied["/app/healthcheck.py"] == "deploy/healthcheck.py"
    assert (ROOT / "deploy/healthcheck.py").is_file()


@pytest.mark.parametrize("which", ["http-postgresql", "socket-mode-sqlite"])
def test_every_path_it_names_exists(which: str, compose: JSON, socket_variant: Path) -> None:
    document = compose if which == "http-postgresql" else yaml.safe_load(socket_variant.read_text())
    for name, service in document["services"].items():
        if "build" in service:
            context = (DEPLOY / service["build"]["context"]).resolve()
            assert context == ROOT, name
            assert (context / service["build"]["dockerfile"]).is_file(), name
        if "env_file" in service:
            # The operator's own .env: the README has them start from the example.
            env_file = DEPLOY / service["env_file"]
            assert env_file.resolve() == ROOT / ".env", name
            assert env_file.with_name(".env.example").is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (DEPLOY / source).resolve().is_dir(), f"{name}: {volume}"
            else:
                assert source in document["volumes"], f"{name}: {volume}"


def test_the_socket_mode_variant_keeps_sqlite_on_a_volume(socket_variant: Path) -> None:
    document = yaml.safe_load(socket_variant.read_text())
    (name,) = document["services"]
    service = document["services"][name]
    assert service["command"] == ["serve"]
    settings = settings_from(service["environment"])
    assert settings.database_url == "sqlite:////data/microlearn.db"
    assert "microlearn-data:/data" in service["volumes"]
    # The image's MICROLEARN_HTTP_PORT serves /healthz and /metrics in Socket Mode too: the
    # image's own health check applies.
    assert "healthcheck" not in service
    assert service["ports"] == ["3000:3000"]


def _defaults(value: str) -> str:
    """Compose's ${NAME:-default} with nothing set: the default."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)
