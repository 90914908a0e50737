"""Run dbt against the warehouse as a subprocess, its output streamed to our log.

A subprocess (not dbt's in-process runner) keeps dbt's global state and logging out of the
caller. The DAG runs dbt through Cosmos (`pipeline.dbt_tasks`); this runner serves the docs
site and the tests.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections import deque
from datetime import date
from pathlib import Path

from pipeline.settings import DBT_PROJECT_DIR, Settings

log = logging.getLogger(__name__)


class DbtError(RuntimeError):
    """dbt exited non-zero: a model failed to build or a dbt test failed."""


def dbt_env(settings: Settings, inherit: bool = True) -> dict[str, str]:
    """Environment for dbt: the warehouse path, no telemetry, state under the data folder;
    with `inherit`, on top of this process's own environment."""
    return {
        **(os.environ if inherit else {}),
        **settings.as_env(),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        "DBT_TARGET_PATH": str(settings.dbt_target_dir),
        "DBT_LOG_PATH": str(settings.data_dir / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DBT_USE_COLORS": "False",
    }


def run_dbt(settings: Settings, args: list[str], as_of_date: date) -> None:
    """Run `dbt <args>` for the date; raise DbtError with dbt's last lines if it fails."""
    dbt = Path(sys.executable).with_name("dbt")
    command = [str(dbt), *args, "--vars", json.dumps({"as_of_date": as_of_date.isoformat()})]
    log.info("running %s", " ".join(command))
    tail: deque[str] = deque(maxlen=40)
    with subprocess.Popen(
        command,
        cwd=DBT_PROJECT_DIR,
        env=dbt_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            log.info("dbt | %s", line.rstrip())
            tail.append(line.rstrip())
    if process.returncode != 0:
        raise DbtError(
            f"dbt {' '.join(args)} failed (exit {process.returncode}):\n" + "\n".join(tail)
        )


def build_docs(settings: Settings) -> Path:
    """`dbt docs generate` against the warehouse: the site (models, columns, tests, lineage,
    and the catalog of built tables) lands in the dbt target folder; returns its index.html."""
    if not settings.warehouse_path.exists():
        raise DbtError(f"no warehouse at {settings.warehouse_path}: run `make run` first")
    # Every node: the project's default selector leaves the activation layer out of builds.
    run_dbt(settings, ["docs", "generate", "--select", "fqn:*"], date.today())
    return settings.dbt_target_dir / "index.html"


def serve_docs(settings: Settings, port: int) -> None:
    """`dbt docs serve` on localhost (blocks until interrupted)."""
    dbt = Path(sys.executable).with_name("dbt")
    command = [
        str(dbt),
        "docs",
        "serve",
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        "--no-browser",
    ]
    subprocess.run(command, cwd=DBT_PROJECT_DIR, env=dbt_env(settings), check=False)
