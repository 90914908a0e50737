"""Run the pipeline DAG through real Airflow (`airflow dags test`), no scheduler needed.

`make run`, the end-to-end tests and the benchmark all come through here, so they exercise
the same DAG, the same tasks and the same code paths a scheduled run does.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from pipeline.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

DAG_ID = "customer_segmentation"


class DagRunFailed(RuntimeError):
    """The DAG run ended in a failed state; the log file says which task and why."""


def airflow_env(settings: Settings) -> dict[str, str]:
    """Airflow's configuration for a local run: our DAG folder, a home under the data folder."""
    return {
        **os.environ,
        **settings.as_env(),
        "AIRFLOW_HOME": str(settings.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get(
            "AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO"
        ),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
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


def run_dag(settings: Settings, as_of: date) -> Path:
    """Run the DAG for `as_of`; return the log file; raise DagRunFailed if the run failed."""
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    log_file = settings.airflow_home / f"dags-test-{as_of.isoformat()}.log"
    log_file.write_text("")
    if _airflow(settings, ["db", "migrate"], log_file) != 0:
        raise DagRunFailed(f"airflow db migrate failed; see {log_file}")
    log.info("running DAG %s for %s (log: %s)", DAG_ID, as_of, log_file)
    if _airflow(settings, ["dags", "test", DAG_ID, as_of.isoformat()], log_file) != 0:
        raise DagRunFailed(f"DAG {DAG_ID} failed for {as_of}; see {log_file}")
    return log_file
