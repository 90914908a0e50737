"""What every DAG of the project shares: owner, retries with backoff, the failure alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.alerts import notify_failure

START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
# DuckDB takes one writing process at a time. `max_active_runs=1` keeps a DAG's runs apart,
# but a backfill's runs, the scheduled run and `retrain_models` are counted separately: every
# task takes this pool's single slot (`pipeline.airflow_runner.prepare` and compose's
# `airflow-init` create it). A dbt model's task holds it only for a look at dbt's progress.
WAREHOUSE_POOL = "warehouse"
DEFAULT_ARGS = {
    "owner": "data-engineering",
    "pool": WAREHOUSE_POOL,
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    # Which task failed and why: logged, and POSTed to SEGMENTS_ALERT_WEBHOOK when set.
    "on_failure_callback": notify_failure,
}
