"""Run the pipeline DAG through real Airflow (`airflow dags test`), or a local Airflow with its UI.

`make run`, the end-to-end tests and the benchmark all come through here, so they exercise
the same DAG, the same tasks and the same code paths a scheduled run does. `make airflow`
starts `airflow standalone` with the same configuration (`airflow_env`), so the UI shows the
runs `make run` made and runs the DAG the tests run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

from pipeline.dbt_manifest import ensure_manifest
from pipeline.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

DAG_ID = "customer_segmentation"
# Scheduled on the segment assets: a scheduler starts it when DAG_ID publishes.
ACTIVATION_DAG_ID = "activate_segments"
UI_PORT = 8080  # Airflow's default; `make airflow PORT=...` moves it
STOP_GRACE_S = 60  # how long `make airflow` waits on Ctrl-C for running tasks to finish


class DagRunFailed(RuntimeError):
    """The DAG run ended in a failed state; the log file says which task and why."""


def airflow_env(settings: Settings) -> dict[str, str]:
    """Airflow's configuration for a local run: our DAG folder, a home under the data folder.

    The caller's environment passes through, so connections and variables set as
    `AIRFLOW_CONN_*` / `AIRFLOW_VAR_*` reach Airflow (its environment-variable secrets
    backend reads them first). The environment's own `bin` leads PATH: `airflow standalone`
    starts its components as `airflow` from PATH.
    """
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        **settings.as_env(),
        "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
        "AIRFLOW_HOME": str(settings.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get(
            "AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO"
        ),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        # Cosmos: no telemetry call per task (it fails offline), its cache beside Airflow's.
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__COSMOS__CACHE_DIR": str(settings.airflow_home / "cosmos"),
    }


def _airflow(settings: Settings, args: list[str], log_file: Path) -> int:
    airflow = Path(sys.executable).with_name("airflow")
    with log_file.open("a") as out:
        return subprocess.run(
            [str(airflow), *args],
            env=airflow_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        ).returncode


def prepare(settings: Settings, log_file: Path) -> None:
    """The metadata database migrated, the warehouse pool in place, the dbt manifest current."""
    from pipeline.dag_defaults import WAREHOUSE_POOL

    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    ensure_manifest()
    if _airflow(settings, ["db", "migrate"], log_file) != 0:
        raise DagRunFailed(f"airflow db migrate failed; see {log_file}")
    pool = ["pools", "set", WAREHOUSE_POOL, "1", "one writer on the DuckDB warehouse"]
    if _airflow(settings, pool, log_file) != 0:
        raise DagRunFailed(f"creating the {WAREHOUSE_POOL} pool failed; see {log_file}")


def dag_log_file(settings: Settings, dag_id: str, as_of: date) -> Path:
    """Where a DAG run's log goes: dags-test-<date>.log for the daily DAG, else
    dags-test-<dag_id>-<date>.log."""
    prefix = "" if dag_id == DAG_ID else f"{dag_id}-"
    return settings.airflow_home / f"dags-test-{prefix}{as_of.isoformat()}.log"


def run_dags(
    settings: Settings, as_of: date, dag_ids: list[str], *, prepared: bool = False
) -> list[Path]:
    """Run the DAGs for `as_of`, one after another in one Airflow process
    (`pipeline.dag_runs`); return their log files; raise DagRunFailed naming the first that
    failed (the ones after it do not run).

    `prepared`: `prepare` already ran in this process (each of its two Airflow commands
    costs seconds of start-up: 8-17 s together on two cores)."""
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    log_files = [dag_log_file(settings, dag_id, as_of) for dag_id in dag_ids]
    for log_file in log_files:
        log_file.write_text("")
    if not prepared:
        prepare(settings, log_files[0])
    for dag_id, log_file in zip(dag_ids, log_files, strict=True):
        log.info("DAG %s for %s: log in %s", dag_id, as_of, log_file)
    runs = [f"{dag_id}={log_file}" for dag_id, log_file in zip(dag_ids, log_files, strict=True)]
    with log_files[0].open("a") as out:
        status = subprocess.run(
            [sys.executable, "-m", "pipeline.dag_runs", as_of.isoformat(), *runs],
            env=airflow_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        ).returncode
    if 0 < status <= len(dag_ids):
        failed = status - 1
        raise DagRunFailed(f"DAG {dag_ids[failed]} failed for {as_of}; see {log_files[failed]}")
    if status:
        raise DagRunFailed(f"the DAG runs for {as_of} ended with status {status}; see {log_files}")
    return log_files


def run_dag(
    settings: Settings, as_of: date, dag_id: str = DAG_ID, *, prepared: bool = False
) -> Path:
    """Run one DAG for `as_of`; return its log file (see `run_dags`)."""
    return run_dags(settings, as_of, [dag_id], prepared=prepared)[0]


def run_pipeline(settings: Settings, as_of: date, *, prepared: bool = False) -> list[Path]:
    """The daily run, then activation, as a scheduler runs them (`airflow dags test` starts
    no run on an asset event, so the second is run here); return their log files."""
    return run_dags(settings, as_of, [DAG_ID, ACTIVATION_DAG_ID], prepared=prepared)


def ui_env(settings: Settings, port: int = UI_PORT) -> dict[str, str]:
    """`airflow_env` plus the web UI's address: local only unless AIRFLOW__API__HOST says so.

    `[api] base_url` also makes the links in failure alerts and the execution API's address
    (tasks report to it) follow the port.
    """
    return airflow_env(settings) | {
        "AIRFLOW__API__HOST": os.environ.get("AIRFLOW__API__HOST", "127.0.0.1"),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
    }


def serve(settings: Settings, port: int = UI_PORT) -> int:
    """Run `airflow standalone` (scheduler, DAG processor, triggerer, API server and UI) until
    Ctrl-C; return its exit status, after `prepare`. On the first start it prints the `admin`
    password (kept in AIRFLOW_HOME).

    Standalone runs in its own process group and gets exactly one SIGINT on Ctrl-C: when the
    terminal's SIGINT also reached its components, the scheduler hung in shutdown and left
    the LocalExecutor's workers behind. Whatever is still alive after a grace period (or after
    standalone exits) is ended with its group.
    """
    prepare(settings, settings.airflow_home / "prepare.log")
    airflow = Path(sys.executable).with_name("airflow")
    log.info(
        "Airflow UI on http://localhost:%s (home %s, DAGs %s)",
        port,
        settings.airflow_home,
        PROJECT_ROOT / "dags",
    )
    process = subprocess.Popen(
        [str(airflow), "standalone"], env=ui_env(settings, port), start_new_session=True
    )
    try:
        return process.wait()
    except KeyboardInterrupt:
        log.info("stopping Airflow (up to %s s; Ctrl-C again to kill it now)", STOP_GRACE_S)
        process.send_signal(signal.SIGINT)
        try:
            return process.wait(timeout=STOP_GRACE_S)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            _signal_group(process.pid, signal.SIGKILL)
            return process.wait()
    finally:
        _signal_group(process.pid, signal.SIGTERM)  # stragglers: executor workers


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)
