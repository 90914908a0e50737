"""`make airflow` configures Airflow like the tests and `make run` do, without starting a server.

The configuration is the one `airflow dags test` runs under (`airflow_env`), plus the UI's
address; Airflow itself, started with it, must see our DAG folder, no examples, and the
connections and variables set in the environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

from pipeline import airflow_runner, cli
from tests.conftest import AS_OF, REPO

CONN_URI = "postgres://reader:secret@shop-db:5432/shop"


def test_ui_env_is_the_run_configuration_plus_the_ui(settings, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_DB", CONN_URI)
    monkeypatch.setenv("AIRFLOW_VAR_AUDIENCE_LIMIT", "5000")
    env = airflow_runner.ui_env(settings, port=8123)

    assert env.items() >= airflow_runner.airflow_env(settings).items()
    assert env["AIRFLOW_HOME"] == str(settings.data_dir / "airflow")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(REPO / "dags")
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__API__PORT"] == "8123"
    assert env["AIRFLOW__API__BASE_URL"] == "http://localhost:8123"
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    # standalone starts its components as `airflow` from PATH: it must be this environment's.
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)
    assert env["AIRFLOW_CONN_SHOP_DB"] == CONN_URI
    assert env["AIRFLOW_VAR_AUDIENCE_LIMIT"] == "5000"
    assert env["SEGMENTS_WAREHOUSE"] == str(settings.warehouse_path)


def test_airflow_reads_that_configuration(settings, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SHOP_DB", CONN_URI)
    monkeypatch.setenv("AIRFLOW_VAR_AUDIENCE_LIMIT", "5000")
    probe = (
        "import json\n"
        "from airflow.configuration import conf\n"
        "from airflow.models.connection import Connection\n"
        "from airflow.models.variable import Variable\n"
        "print(json.dumps({\n"
        "    'dags_folder': conf.get('core', 'dags_folder'),\n"
        "    'load_examples': conf.getboolean('core', 'load_examples'),\n"
        "    'port': conf.getint('api', 'port'),\n"
        "    'conn': Connection.get_connection_from_secrets('shop_db').get_uri(),\n"
        "    'var': Variable.get('audience_limit'),\n"
        "}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=airflow_runner.ui_env(settings, port=8123),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {
        "dags_folder": str(REPO / "dags"),
        "load_examples": False,
        "port": 8123,
        "conn": CONN_URI,
        "var": "5000",
    }


class FakeProcess:
    """Stands in for `airflow standalone`: records how it was started, exits at once."""

    started: ClassVar[list[tuple[list[str], dict]]] = []

    def __init__(self, args: list[str], **kwargs: object) -> None:
        FakeProcess.started.append((args, kwargs))
        self.pid = 2**22 + 1  # no such process group: the clean-up finds nothing to stop

    def wait(self, timeout: float | None = None) -> int:
        return 0


def test_make_airflow_starts_standalone_with_that_configuration(settings, monkeypatch):
    FakeProcess.started.clear()
    prepared = []
    # The metadata database, the warehouse pool and the manifest come first (their own
    # tests run them for real); then standalone.
    monkeypatch.setattr(airflow_runner, "prepare", lambda s, log: prepared.append(s))
    monkeypatch.setattr(airflow_runner.subprocess, "Popen", FakeProcess)

    assert cli.main(["airflow", "--port", "8124"]) == 0

    assert prepared == [settings]
    [(args, kwargs)] = FakeProcess.started
    assert args == [str(Path(sys.executable).with_name("airflow")), "standalone"]
    assert kwargs["env"] == airflow_runner.ui_env(settings, port=8124)
    assert kwargs["start_new_session"] is True


def test_makefile_has_the_target():
    makefile = (REPO / "Makefile").read_text()
    assert "\nairflow: setup\n\t$(BIN)/segments airflow" in makefile
    assert "\ndag-parse: setup\n" in makefile


def test_the_ui_listens_beyond_localhost_only_when_asked(settings, monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__HOST", "0.0.0.0")
    assert airflow_runner.ui_env(settings)["AIRFLOW__API__HOST"] == "0.0.0.0"


def test_a_failed_dag_run_is_named_with_its_log_and_stops_the_runs_after_it(settings):
    """`run_dags` runs its DAGs in one Airflow process: the error names the one that failed
    and its log file, whose text says why, and the DAG after it never starts."""
    first, second = "no_such_dag", airflow_runner.ACTIVATION_DAG_ID
    with pytest.raises(airflow_runner.DagRunFailed) as failure:
        airflow_runner.run_dags(settings, AS_OF, [first, second])

    first_log = airflow_runner.dag_log_file(settings, first, AS_OF)
    assert str(failure.value) == f"DAG {first} failed for {AS_OF}; see {first_log}"
    assert f"Dag '{first}' could not be found" in first_log.read_text()
    assert airflow_runner.dag_log_file(settings, second, AS_OF).read_text() == ""
