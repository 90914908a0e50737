"""A real Airflow backfill (scheduler, DAG processor, API server: `airflow standalone`, as
`make airflow` starts it) over two dates leaves the warehouse exactly as running those dates
one by one with `airflow dags test` does."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.airflow_runner import DAG_ID, _signal_group, airflow_env, prepare, run_dag, ui_env
from tests.conftest import configure
from tests.e2e.test_pipeline import _checksums

pytestmark = pytest.mark.e2e

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
# The scheduler starts, then runs both dates one after the other.
RUNS_TIMEOUT_S = 1140


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cli(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [AIRFLOW, *args], env=airflow_env(settings), capture_output=True, text=True, check=False
    )


def _wait(what: str, timeout_s: float, probe):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(5)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


def _runs(settings) -> list[dict]:
    listed = _cli(settings, "dags", "list-runs", DAG_ID, "--output", "json")
    # Airflow prints its warnings on stdout too: the JSON is the line that starts with [.
    lines = [line for line in listed.stdout.splitlines() if line.startswith("[")]
    return json.loads(lines[-1]) if listed.returncode == 0 and lines else []


def test_backfill_equals_running_the_dates_one_by_one(tmp_path, monkeypatch):
    # Up to today. With the default (trigger) timetable a run's as-of date is its logical date.
    today = datetime.now(UTC).date()
    dates = [today - timedelta(days=1), today]

    one_by_one = configure(monkeypatch, tmp_path / "one_by_one")
    for as_of in dates:
        run_dag(one_by_one, as_of)
    expected = _checksums(one_by_one, other_warehouse=True)

    backfilled = configure(monkeypatch, tmp_path / "backfill")
    backfilled.airflow_home.mkdir(parents=True)
    prepare(backfilled, backfilled.airflow_home / "prepare.log")
    # Every write to the metadata database happens before the scheduler starts: on SQLite a
    # CLI write beside a running scheduler can fail with "database is locked" (it did in CI,
    # half-way through `backfill create`). `reserialize` stores the DAG the backfill needs.
    stored = _cli(backfilled, "dags", "reserialize")
    assert stored.returncode == 0, stored.stdout + stored.stderr
    created = _cli(
        backfilled,
        "backfill",
        "create",
        "--dag-id",
        DAG_ID,
        "--from-date",
        dates[0].isoformat(),
        "--to-date",
        dates[-1].isoformat(),
        "--max-active-runs",
        "1",
    )
    assert created.returncode == 0, created.stdout + created.stderr
    assert _cli(backfilled, "dags", "unpause", DAG_ID).returncode == 0
    log_path = backfilled.airflow_home / "standalone.log"
    with log_path.open("w") as log_file:
        airflow = subprocess.Popen(
            [AIRFLOW, "standalone"],
            # A backfill only runs on an unpaused DAG, and the scheduler of an unpaused daily
            # DAG adds the newest day's run: once the test crossed midnight UTC (in CI) and
            # that third run changed the warehouse. Only the backfill's runs run here.
            env=ui_env(backfilled, _free_port())
            | {"AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def finished() -> list[dict] | None:
            runs = _runs(backfilled)
            done = [r for r in runs if r["state"] in ("success", "failed")]
            return runs if runs and len(done) == len(runs) >= len(dates) else None

        runs = _wait("the backfill's runs", RUNS_TIMEOUT_S, finished)
    finally:
        _signal_group(airflow.pid, 15)
        airflow.wait(timeout=60)

    assert [r["state"] for r in runs] == ["success"] * 2, f"{runs}; see {log_path}"
    assert all(r["run_id"].startswith("backfill__") for r in runs), runs
    assert sorted(r["logical_date"][:10] for r in runs) == [d.isoformat() for d in dates]
    got = _checksums(backfilled, other_warehouse=True)
    assert got.keys() == expected.keys()
    differ = sorted(name for name in expected if expected[name] != got[name])
    assert not differ, f"tables differ between the backfill and the one-by-one runs: {differ}"
