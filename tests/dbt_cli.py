"""Run the dbt command line on the project for a test: its own target and log folders under
`root`, no telemetry, the run's as-of date as a var."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pipeline.settings import DBT_PROJECT_DIR
from tests.conftest import AS_OF


def run_dbt(
    root: Path,
    *args: str,
    env: dict[str, str],
    dbt_vars: dict | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """`dbt <args> --vars {as_of_date, **dbt_vars}`; with check, a failure fails the test
    with the tail of dbt's output."""
    dbt = Path(sys.executable).with_name("dbt")
    result = subprocess.run(
        [
            str(dbt),
            *args,
            "--vars",
            json.dumps({"as_of_date": AS_OF.isoformat(), **(dbt_vars or {})}),
        ],
        cwd=DBT_PROJECT_DIR,
        env={
            **os.environ,
            **env,
            "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
            "DBT_TARGET_PATH": str(root / "dbt" / "target"),
            "DBT_LOG_PATH": str(root / "dbt" / "logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            "DBT_USE_COLORS": "False",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result
