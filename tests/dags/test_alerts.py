"""The failure callback says which task failed and why: in the log, and to a webhook if set.

A real HTTP server (standard library, in a thread) plays the webhook; the context is built
from Airflow's own task-instance class and the DAG's real task, and one test lets real Airflow
(`airflow dags test`) fail a task and call the callback itself.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipeline import alerts
from tests.conftest import REPO

RUN_ID = "scheduled__2026-11-25T00:00:00+00:00"
LOGICAL_DATE = datetime(2026, 11, 25, tzinfo=UTC)


class Webhook:
    """A local endpoint that records every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(
                    {"path": self.path, "type": self.headers["Content-Type"], **json.loads(body)}
                )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:  # keep pytest's output clean
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/segments"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    hook.thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags")).dags["customer_segmentation"]


def failure_context(dag, task_id: str, error: BaseException, map_index: int = -1) -> dict:
    """A context like the one Airflow's task runner hands `on_failure_callback`."""
    from airflow.dag_processing.bundles.local import LocalDagBundle
    from airflow.sdk.api.datamodels._generated import DagRun
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    task = dag.get_task(task_id)
    ti = RuntimeTaskInstance.model_construct(
        id=uuid.uuid4(),
        task_id=task_id,
        dag_id=dag.dag_id,
        run_id=RUN_ID,
        try_number=3,
        map_index=map_index,
        dag_version_id=uuid.uuid4(),
        task=task,
        bundle_instance=LocalDagBundle(name="dags-folder", path=str(REPO / "dags")),
        start_date=datetime.now(UTC),
        max_tries=2,
    )
    dag_run = DagRun.model_construct(
        dag_id=dag.dag_id, run_id=RUN_ID, logical_date=LOGICAL_DATE, run_type="scheduled"
    )
    return {
        "dag": dag,
        "task": task,
        "ti": ti,
        "task_instance": ti,
        "run_id": RUN_ID,
        "logical_date": LOGICAL_DATE,
        "dag_run": dag_run,
        "exception": error,
    }


def failure_callbacks(task) -> list:
    """A task's failure callbacks (a mapped task keeps a single one unwrapped)."""
    callbacks = task.on_failure_callback
    return list(callbacks) if isinstance(callbacks, list | tuple) else [callbacks]


def test_every_task_reports_its_failure(dag):
    for task in dag.tasks:
        assert alerts.notify_failure in failure_callbacks(task), task.task_id


def test_webhook_receives_which_task_failed_and_why(dag, webhook, monkeypatch, caplog):
    monkeypatch.setenv("SEGMENTS_ALERT_WEBHOOK", webhook.url)
    error = RuntimeError("dbt build failed: 2 of 214 tests failed")
    context = failure_context(dag, "dbt_marts.customer_rfm.run", error)

    with caplog.at_level(logging.INFO, logger="pipeline.alerts"):
        for callback in failure_callbacks(dag.get_task("dbt_marts.customer_rfm.run")):
            callback(context)

    [body] = webhook.received
    assert body["path"] == "/hooks/segments"
    assert body["type"] == "application/json"
    assert body["dag_id"] == "customer_segmentation"
    assert body["task_id"] == "dbt_marts.customer_rfm.run"
    assert body["map_index"] is None
    assert body["run_id"] == RUN_ID
    assert body["logical_date"] == "2026-11-25T00:00:00+00:00"
    assert body["try_number"] == 3
    assert body["exception"] == "RuntimeError: dbt build failed: 2 of 214 tests failed"
    assert body["log_url"].endswith(
        "/dags/customer_segmentation/runs/scheduled__2026-11-25T00%3A00%3A00%2B00%3A00"
        "/tasks/dbt_marts.customer_rfm.run?try_number=3"
    )
    assert "customer_segmentation.dbt_marts.customer_rfm.run" in body["text"]
    assert "alert sent to webhook 127.0.0.1" in caplog.text
    assert webhook.url not in caplog.text, "the webhook URL may hold a token: never log it"


def test_mapped_task_names_its_index(dag, webhook, monkeypatch):
    monkeypatch.setenv("SEGMENTS_ALERT_WEBHOOK", webhook.url)
    alerts.notify_failure(failure_context(dag, "load_raw", ValueError("bad file"), map_index=4))
    [body] = webhook.received
    assert (body["task_id"], body["map_index"]) == ("load_raw", 4)
    assert "customer_segmentation.load_raw[4]" in body["text"]


def test_without_webhook_the_failure_is_logged_and_nothing_sent(dag, webhook, caplog):
    # conftest clears every SEGMENTS_* variable: no webhook is configured here.
    with caplog.at_level(logging.INFO, logger="pipeline.alerts"):
        alerts.notify_failure(failure_context(dag, "publish_outputs", KeyError("segments")))

    assert webhook.received == []
    [record] = [r for r in caplog.records if r.name == "pipeline.alerts"]
    assert record.levelno == logging.ERROR
    assert "customer_segmentation.publish_outputs" in record.getMessage()
    assert "KeyError: 'segments'" in record.getMessage()


def test_a_webhook_that_is_down_never_fails_the_callback(dag, monkeypatch, caplog):
    closed = HTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = closed.server_port
    closed.server_close()  # nothing listens on this port any more
    monkeypatch.setenv("SEGMENTS_ALERT_WEBHOOK", f"http://127.0.0.1:{port}/hook")

    with caplog.at_level(logging.INFO, logger="pipeline.alerts"):
        alerts.notify_failure(failure_context(dag, "quality_gate_staging", OSError("disk full")))

    assert f"alert webhook 127.0.0.1:{port} failed" in caplog.text


def test_long_exception_text_is_cut():
    report = alerts.failure_report({"exception": ValueError("x" * 10_000)})
    assert len(report["exception"]) == alerts.MAX_EXCEPTION_CHARS


FAILING_DAG = """
from datetime import UTC, datetime

from airflow.sdk import dag, task

from pipeline.alerts import notify_failure


@dag(
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    default_args={"retries": 0, "on_failure_callback": notify_failure},
)
def planted_failure():
    @task
    def boom() -> None:
        raise ValueError("planted failure")

    boom()


planted_failure()
"""


def test_airflow_calls_the_callback_when_a_task_fails(settings, webhook, tmp_path: Path):
    """Real Airflow runs a failing task: the webhook hears which task failed and why."""
    from pipeline.airflow_runner import airflow_env

    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "planted_failure.py").write_text(FAILING_DAG)
    env = airflow_env(settings) | {
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "SEGMENTS_ALERT_WEBHOOK": webhook.url,
    }
    airflow = str(Path(sys.executable).with_name("airflow"))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [airflow, *args], env=env, capture_output=True, text=True, check=False
        )

    migrate = run("db", "migrate")
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    result = run("dags", "test", "planted_failure", "2026-11-25")
    assert result.returncode != 0, "the planted task should fail the run"
    [body] = webhook.received
    assert (body["dag_id"], body["task_id"]) == ("planted_failure", "boom")
    assert body["exception"] == "ValueError: planted failure"
    assert body["logical_date"] == "2026-11-25T00:00:00+00:00"
    assert "Airflow task failed: planted_failure.boom" in result.stdout + result.stderr
