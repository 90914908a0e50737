"""dbt layers as Airflow task groups: a task per model and per model's tests, one dbt build.

Cosmos renders the groups from the manifest parsed ahead of time (`pipeline.dbt_manifest`),
so parsing the DAG file never runs dbt. It runs them in *watcher* mode: one producer task
runs a single `dbt build` of the layer and records each node's outcome; each model's task
(and its tests' task) then reports that outcome, with dbt's log lines for the node. The UI
shows every model's state and log while the cost stays one dbt process per layer: rendering
each model as its own `dbt build` process (Cosmos' local mode) pays dbt's start-up and the
project parse once per model.

Changes to Cosmos' layout, measured under a real scheduler (LocalExecutor, two cores, 1,500
customers, a backfill of two dates): the model tasks start after the build instead of beside
it, wait on nothing else, and leave the warehouse pool, since they only read what the build
recorded. Beside the build, each re-checked dbt's progress every few seconds in a process of
its own (228 s and 173 s a run); after it but chained along dbt's lineage, they took a
scheduler round per level, and the identity models are ten deep (186 s and 176 s; the marts'
tasks ended 52 s after their build); after it and side by side: 138 s and 120 s, 22 s after.

A failed node fails the layer: the producer does not retry (Cosmos' producer skips its
retries rather than run a second build, and a skipped producer would let the run look
successful); clearing it re-runs the layer.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cosmos import (
    DbtTaskGroup,
    ExecutionConfig,
    ExecutionMode,
    InvocationMode,
    LoadMode,
    ProfileConfig,
    ProjectConfig,
    RenderConfig,
    TestBehavior,
)
from cosmos.constants import (
    PRODUCER_WATCHER_DONE_TASK_ID,
    PRODUCER_WATCHER_TASK_ID,
    TestIndirectSelection,
)

from pipeline import settings as config
from pipeline.dbt_manifest import manifest_for_dag
from pipeline.settings import DBT_PROJECT_DIR

PROJECT_NAME = "customer_segmentation"
# The run's date, as `pipeline.stages.as_of_from_context` defines it, for dbt's `--vars`.
AS_OF_DATE_TEMPLATE = "{{ (data_interval_end or dag_run.run_after) | ds }}"

# The layers: (select, exclude, indirect selection). Staging takes the seeds its models
# read (tagged `staging_input`), the marts everything after it, with the other seeds, the
# staging gate between the two. Activation (the `activate_segments` DAG) reads the segments
# the ML task publishes. No test spans two layers (Cosmos would wait for a test another layer
# runs; an eager layer would run it before the other layer built). Staging runs only tests
# whose every parent it builds (cautious); the others every test touching their models.
LAYERS = {
    "staging": (
        ["tag:staging_input", "path:models/staging"],
        [],
        TestIndirectSelection.CAUTIOUS,
    ),
    "marts": (
        ["resource_type:seed", "path:models/intermediate", "path:models/marts"],
        ["tag:staging_input"],
        TestIndirectSelection.EAGER,
    ),
    "activation": (["path:models/activation"], [], TestIndirectSelection.EAGER),
}
# A run's first build parses the project in full (8 s of a 23 s staging build at 10k
# customers). The builds after it reuse that parse (dbt's partial parsing: 1 s), which dbt
# keeps in its target folder and takes only while the project, the profile and the --vars
# (the run's date) are the same; `share_parse` makes it usable by them.
FULL_PARSE_LAYER = "staging"
# dbt's unit tests check the models' logic on fixed inputs, not the day's data: the test suite
# runs them (tests/conftest.py, tests/dbt); the daily builds leave them out (18 tests, 8.6 s
# of node time a run).
BUILD_FLAGS = ["--exclude-resource-type", "unit_test"]


def _is_producer(context: dict) -> bool:
    return context["ti"].task_id.rpartition(".")[2] == PRODUCER_WATCHER_TASK_ID


def share_parse(context: dict) -> None:
    """Success callback: point the saved parse's file paths at the dbt project.

    Cosmos runs each build in a copy of the project that it deletes afterwards, and the parse
    dbt saves records that copy as the seeds' folder: a later build reusing it would read the
    seed files from a folder that no longer exists. Cosmos' own patch for its cached parse
    repoints such paths; here it repoints the one dbt keeps in the target folder."""
    if not _is_producer(context):
        return
    from cosmos.cache import patch_partial_parse_content

    path = config.load().dbt_target_dir / "partial_parse.msgpack"
    if path.exists():
        patch_partial_parse_content(path, DBT_PROJECT_DIR)


def record_dbt_stage(context: dict) -> None:
    """Success callback: the producer's time, nodes and dbt's peak memory into
    `ops.stage_runs` as `dbt_<layer>` (other tasks of the group record nothing), and the
    build's run results kept as the layer's (`Settings.dbt_layer_results`): the next layer's
    build overwrites run_results.json.

    The peak is the largest child process this worker process has waited for: with one
    process per task (a scheduler's executors), exactly this dbt's."""
    import json
    import resource
    import shutil
    from datetime import UTC, datetime

    from pipeline.stage_metrics import record

    if not _is_producer(context):
        return
    ti = context["ti"]
    group = ti.task_id.rpartition(".")[0]
    settings = config.load()
    results = settings.dbt_target_dir / "run_results.json"
    nodes = 0
    if results.exists():
        nodes = len(json.loads(results.read_text())["results"])
        shutil.copyfile(results, settings.dbt_layer_results(group.removeprefix("dbt_")))
    record(
        settings.warehouse_path,
        context["run_id"],
        group,
        ti.start_date,
        (datetime.now(UTC) - ti.start_date).total_seconds(),
        nodes,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    )


def dbt_layer(layer: str) -> DbtTaskGroup:
    """The task group `dbt_<layer>`: a producer running `dbt build` of the layer for the
    run's date, and a task per model that finishes when dbt has built and tested it."""
    from pipeline.dbt_runner import dbt_env

    select, exclude, indirect_selection = LAYERS[layer]
    settings = config.load()
    group = DbtTaskGroup(
        group_id=f"dbt_{layer}",
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=manifest_for_dag(),
            project_name=PROJECT_NAME,
            install_dbt_deps=False,
            partial_parse=layer != FULL_PARSE_LAYER,
        ),
        profile_config=ProfileConfig(
            profile_name=PROJECT_NAME,
            # The pipeline's warehouse: the model stages read DuckDB. The Postgres target runs
            # the same project outside the DAG (README, "Portability").
            target_name="duckdb",
            profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml",
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER,
            # A child process keeps dbt's memory and global state out of the Airflow worker.
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=Path(sys.executable).with_name("dbt"),
            test_indirect_selection=indirect_selection,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            select=select,
            exclude=exclude,
            test_behavior=TestBehavior.AFTER_EACH,
            emit_datasets=False,
        ),
        operator_args={
            "vars": {"as_of_date": AS_OF_DATE_TEMPLATE},
            "env": dbt_env(settings, inherit=False),
            "install_deps": False,
            # The producer's `dbt build` (Cosmos passes the selection's indirect mode only to
            # per-test commands).
            "dbt_cmd_flags": ["--indirect-selection", indirect_selection.value, *BUILD_FLAGS],
            # Each model's task checks on dbt every few seconds, between checks giving its
            # worker slot back (reschedule) rather than holding it or needing a triggerer.
            "deferrable": False,
            "mode": "reschedule",
            "poke_interval": 3,
            "on_success_callback": [record_dbt_stage, share_parse],
        },
    )
    producer = group.children[f"{group.group_id}.{PRODUCER_WATCHER_TASK_ID}"]
    producer.retries = 0
    reports = {
        task.task_id: task
        for task in group.iter_tasks()
        if task is not producer and not task.task_id.endswith(PRODUCER_WATCHER_DONE_TASK_ID)
    }
    for task_id, task in reports.items():
        # After the build, a report waits on nothing but the build: chained along dbt's
        # lineage, they ran one scheduler round each (the identity models are ten deep).
        for upstream in task.upstream_task_ids & reports.keys():
            task.upstream_task_ids.discard(upstream)
            reports[upstream].downstream_task_ids.discard(task_id)
        producer >> task
        task.pool = "default_pool"
    return group
