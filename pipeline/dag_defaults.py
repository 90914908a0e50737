"""What every DAG of the project shares: owner, retries with backoff, the failure alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.alerts import notify_failure

START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_ARGS = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    # Which task failed and why: logged, and POSTed to SEGMENTS_ALERT_WEBHOOK when set.
    "on_failure_callback": notify_failure,
}
