"""Task-failure alerts: say which task failed and why, in the log and optionally to a webhook.

The DAG wires `notify_failure` as every task's `on_failure_callback`; Airflow calls it once a
task has failed for good (after its retries). A data engineer reading the task log, or a chat
channel behind `SEGMENTS_ALERT_WEBHOOK`, then sees the task, the run and the exception without
opening the UI. Only the standard library is used: the DAG imports this module at parse time,
and an alert must not need a provider package installed on every worker.

The callback never raises: a webhook that is down is logged, and the task's own failure stays
what the run reports.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pipeline import settings as config

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_S = 10  # a slow endpoint must not hold a worker slot for long
MAX_EXCEPTION_CHARS = 2000  # a small message: chat tools truncate or reject large bodies


def failure_report(context: Mapping[str, Any]) -> dict[str, Any]:
    """The facts of a failure from Airflow's task context, as plain JSON-ready values.

    Reads only `ti`, `exception`, `logical_date`, `run_id` and `dag_run`, each optional, so a
    context built by a scheduler-side callback (fewer keys) still gives a report.
    """
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    exception = context.get("exception")
    logical_date = context.get("logical_date") or getattr(dag_run, "logical_date", None)
    map_index = getattr(ti, "map_index", -1)
    report: dict[str, Any] = {
        "dag_id": getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "map_index": map_index if map_index is not None and map_index >= 0 else None,
        "run_id": context.get("run_id") or getattr(ti, "run_id", None),
        "logical_date": logical_date.isoformat() if isinstance(logical_date, datetime) else None,
        "try_number": getattr(ti, "try_number", None),
        "exception": _describe(exception),
        "log_url": _log_url(ti),
    }
    report["text"] = _text(report)
    return report


def notify_failure(context: Mapping[str, Any]) -> None:
    """`on_failure_callback`: log the failure; POST it to the alert webhook when one is set."""
    report = failure_report(context)
    log.error("%s", report["text"])
    url = config.load().alert_webhook
    if url:
        post_json(url, report)


def post_json(url: str, payload: Mapping[str, Any]) -> bool:
    """POST `payload` as JSON; return whether the endpoint accepted it. Never raises."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, default=str).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "segments-alerts"},
        method="POST",
    )
    # The URL often carries a token (Slack, Teams): log where it goes, not the URL itself.
    target = urlsplit(url).netloc or "<invalid URL>"
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
            status = response.status
    # Whatever goes wrong here (refused, timeout, HTTP error, a malformed URL) must not turn
    # into a second failure: Airflow would log it over the task's own error.
    except Exception as error:
        log.warning("alert webhook %s failed: %s: %s", target, type(error).__name__, error)
        return False
    log.info("alert sent to webhook %s (HTTP %s)", target, status)
    return True


def _describe(exception: object) -> str | None:
    if exception is None:
        return None
    text = (
        f"{type(exception).__name__}: {exception}"
        if isinstance(exception, BaseException)
        else str(exception)
    )
    return text if len(text) <= MAX_EXCEPTION_CHARS else text[: MAX_EXCEPTION_CHARS - 1] + "…"


def _log_url(ti: object) -> str | None:
    """The task's log page in the UI (`[api] base_url`); None when it can't be built."""
    try:
        return getattr(ti, "log_url", None)
    except Exception:  # a property reading configuration; never worth failing the alert for
        return None


def _text(report: Mapping[str, Any]) -> str:
    task = report["task_id"] or "?"
    if report["map_index"] is not None:
        task = f"{task}[{report['map_index']}]"
    text = (
        f"Airflow task failed: {report['dag_id']}.{task} "
        f"(run {report['run_id']}, try {report['try_number']}): {report['exception']}"
    )
    return f"{text}\nLog: {report['log_url']}" if report["log_url"] else text
