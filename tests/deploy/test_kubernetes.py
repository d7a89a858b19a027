"""deploy/kubernetes/ validates against Kubernetes' own schemas, offline, and fits together.

The schemas come with the `kubernetes-validate` package (every Kubernetes release's API as
JSON schema, in strict variants that refuse unknown fields), so nothing is fetched.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bot import preflight
from bot.config import settings_from
from tests.deploy.manifests import (
    JSON,
    KUBERNETES,
    dockerfile_stages,
    yaml_document,
    yaml_documents,
)
from tests.support.process import ROOT

# The oldest Kubernetes the manifests are written for, and the newest the schemas know.
VERSIONS = ("1.30", kubernetes_validate.latest_version())
MANIFESTS = sorted(path for path in KUBERNETES.glob("*.yaml") if path.name != "kustomization.yaml")


def validate(document: JSON, version: str) -> None:
    """Raise unless `document` is valid for `version`; an unknown kind or field fails too."""
    kubernetes_validate.validate(document, version, strict=True)


def load(name: str) -> JSON:
    return yaml_document(KUBERNETES / name)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=[path.name for path in MANIFESTS])
def test_every_manifest_is_valid_kubernetes(path: Path, version: str) -> None:
    for document in yaml_documents(path):
        validate(document, version)


@pytest.mark.parametrize(
    "break_it",
    [
        lambda d: d["spec"].update(replicas="2"),
        lambda d: d["spec"]["template"]["spec"]["containers"][0].update(readinesProbe={}),
        lambda d: d["spec"]["template"]["spec"]["containers"][0].pop("name"),
    ],
    ids=["replicas-as-text", "misspelt-field", "container-without-name"],
)
def test_the_validator_refuses_a_broken_deployment(break_it: Any) -> None:
    document = copy.deepcopy(load("deployment.yaml"))
    break_it(document)
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(document, VERSIONS[-1])


def test_the_kustomization_lists_every_manifest_but_the_example_secret() -> None:
    kustomization = load("kustomization.yaml")
    listed = kustomization["resources"]
    assert all((KUBERNETES / name).is_file() for name in listed)
    assert sorted(listed) == sorted(p.name for p in MANIFESTS if p.name != "secret.example.yaml")
    (image,) = kustomization["images"]
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert image == {"name": "microlearn", "newTag": version}


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_kustomize_renders_valid_resources_with_the_release_image() -> None:
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(KUBERNETES)], capture_output=True, text=True, check=True
    ).stdout
    documents = [document for document in yaml.safe_load_all(rendered) if document]
    kinds = sorted(document["kind"] for document in documents)
    assert kinds == ["Deployment", "Job", "PodDisruptionBudget", "Service"]
    for document in documents:
        validate(document, VERSIONS[-1])
        assert document["metadata"]["labels"]["app.kubernetes.io/part-of"] == "microlearn"
        pod = _pod(document)
        if pod is not None:
            version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
            assert {c["image"] for c in pod["containers"]} == {f"microlearn:{version}"}


def test_two_replicas_serve_http_with_probes_on_healthz() -> None:
    deployment = load("deployment.yaml")
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= _labels(deployment).items()
    (container,) = pod["containers"]
    args = container["args"]
    assert args[:2] == ["serve", "--http"]
    (port,) = container["ports"]
    assert port["name"] == "http"
    assert int(args[args.index("--port") + 1]) == port["containerPort"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, probe
    # Liveness gives a database outage longer than readiness does before restarting anything.
    window = {
        probe: container[probe]["periodSeconds"] * container[probe]["failureThreshold"]
        for probe in ("readinessProbe", "livenessProbe")
    }
    assert window["livenessProbe"] > window["readinessProbe"]


def test_the_service_and_the_budget_select_the_serving_pods_only() -> None:
    deployment, job = load("deployment.yaml"), load("job-db-upgrade.yaml")
    service, budget = load("service.yaml"), load("poddisruptionbudget.yaml")
    serving, migrating = _labels(deployment), _labels(job)
    for selector in (service["spec"]["selector"], budget["spec"]["selector"]["matchLabels"]):
        assert selector.items() <= serving.items()
        assert not selector.items() <= migrating.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == "http"
    assert budget["spec"]["minAvailable"] < deployment["spec"]["replicas"]


def test_the_job_runs_db_upgrade_once() -> None:
    job = load("job-db-upgrade.yaml")
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["db", "upgrade"]
    assert pod["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] <= 5


@pytest.mark.parametrize("name", ["deployment.yaml", "job-db-upgrade.yaml"])
def test_pods_run_as_the_images_user_on_a_read_only_root(name: str) -> None:
    pod = _pod(load(name))
    assert pod is not None
    user = dockerfile_stages()[-1].last("USER")
    assert user is not None
    uid = int(user.arguments[0].split(":")[0])
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == uid
    assert pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    # The server's one writable folder is /tmp, for gunicorn; the migration needs none.
    mounts = container.get("volumeMounts", [])
    volumes = {volume["name"]: volume for volume in pod.get("volumes", [])}
    assert [mount["mountPath"] for mount in mounts] == (
        ["/tmp"] if name == "deployment.yaml" else []
    )
    assert all("emptyDir" in volumes[mount["name"]] for mount in mounts)
    resources = container["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert _mebibytes(resources["limits"]["memory"]) >= _mebibytes(resources["requests"]["memory"])


def test_the_example_secret_is_every_setting_http_mode_needs_and_only_placeholders() -> None:
    secret = load("secret.example.yaml")
    for name in ("deployment.yaml", "job-db-upgrade.yaml"):
        pod = _pod(load(name))
        assert pod is not None
        (container,) = pod["containers"]
        assert container["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]
    values = secret["stringData"]
    settings = settings_from(values)  # raises, naming the variable, on a malformed value
    assert preflight.missing_credentials(settings, http=True) == []
    assert settings.database_url.startswith("postgresql+psycopg://")  # replicas share it
    assert all("replace-me" in value for value in values.values())


def _labels(document: JSON) -> dict[str, str]:
    labels: dict[str, str] = document["spec"]["template"]["metadata"]["labels"]
    return labels


def _pod(document: JSON) -> JSON | None:
    template = document.get("spec", {}).get("template")
    return None if template is None else template["spec"]


def _mebibytes(quantity: str) -> float:
    units = {"Mi": 1.0, "Gi": 1024.0}
    return float(quantity[:-2]) * units[quantity[-2:]]
