"""Every DAG file imports cleanly, cheaply, and declares what operators rely on."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest

from tests.conftest import REPO

DAG_FILES = sorted((REPO / "dags").glob("*.py"))
HEAVY = ("pandas", "great_expectations", "sklearn", "duckdb", "dbt", "numpy")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_dag_files_import_without_errors(dagbag):
    assert DAG_FILES, "no DAG files found"
    assert dagbag.import_errors == {}
    assert {"customer_segmentation", "retrain_models", "activate_segments"} <= set(dagbag.dags)


def test_every_dag_has_owner_retries_tags_and_docs(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no documentation"
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag_id}.{task.task_id}: no owner"
            assert task.retries is not None, f"{dag_id}.{task.task_id}: retries unset"
        assert any(task.retries > 0 for task in dag.tasks), f"{dag_id}: no task retries"


def test_no_cycles(dagbag):
    for dag_id, dag in dagbag.dags.items():
        pending = {t.task_id: set(t.upstream_task_ids) for t in dag.tasks}
        while pending:
            ready = [task for task, upstream in pending.items() if not upstream]
            assert ready, f"{dag_id} has a cycle among {sorted(pending)}"
            for task in ready:
                del pending[task]
            for upstream in pending.values():
                upstream.difference_update(ready)


def _tasks(dag, name: str) -> set[str]:
    """A task, or every task of a task group (the dbt layers), by name."""
    if name in dag.task_dict:
        return {name}
    return {task_id for task_id in dag.task_dict if task_id.startswith(f"{name}.")}


def test_pipeline_order(dagbag):
    dag = dagbag.dags["customer_segmentation"]
    chain = [
        "generate_sources",
        "load_raw",
        "quality_gate_raw",
        "dbt_staging",
        "quality_gate_staging",
        "dbt_marts",
        "quality_gate_marts",
        "segment_customers",
        "score_propensity",
        "predict_value",
        "quality_gate_outputs",
        "publish_outputs",
    ]
    for upstream, downstream in itertools.pairwise(chain):
        for before, after in itertools.product(_tasks(dag, upstream), _tasks(dag, downstream)):
            assert after in dag.get_task(before).get_flat_relative_ids(upstream=False), (
                f"{after} does not wait for {before}"
            )


def test_activation_order(dagbag):
    """Nothing is exported before the activation layer passed its gate; the report last."""
    dag = dagbag.dags["activate_segments"]
    chain = ["dbt_activation", "quality_gate_activation", "export_audiences", "build_report"]
    for upstream, downstream in itertools.pairwise(chain):
        for before, after in itertools.product(_tasks(dag, upstream), _tasks(dag, downstream)):
            assert after in dag.get_task(before).get_flat_relative_ids(upstream=False), (
                f"{after} does not wait for {before}"
            )


def test_every_dbt_model_and_its_tests_have_a_task(dagbag):
    """Rendered from the manifest: each model and seed is a task in exactly one layer of one
    DAG (activation's in `activate_segments`), its tests a task after it, and the layer's
    quality gate waits for all of them."""
    import json

    from pipeline.dbt_manifest import MANIFEST_PATH

    dags = [dagbag.dags["customer_segmentation"], dagbag.dags["activate_segments"]]
    nodes = json.loads(MANIFEST_PATH.read_text())["nodes"].values()
    suffix = {"model": "run", "seed": "seed"}
    built = {n["name"]: n["resource_type"] for n in nodes if n["resource_type"] in suffix}
    for name, kind in built.items():
        [(dag, task_id)] = [
            (dag, t) for dag in dags for t in dag.task_dict if t.endswith(f".{name}.{suffix[kind]}")
        ]
        layer = task_id.split(".")[0]
        assert layer in ("dbt_staging", "dbt_marts", "dbt_activation"), task_id
        gate = dag.get_task(f"quality_gate_{layer.removeprefix('dbt_')}")
        assert task_id in gate.get_flat_relative_ids(upstream=True)
    tested = {n["attached_node"].split(".")[-1] for n in nodes if n.get("attached_node")}
    for name in tested & set(built):
        assert any(t.endswith(f".{name}.test") for dag in dags for t in dag.task_dict), name


def test_assets_connect_the_stages(dagbag):
    """Gates emit their layer's assets, publishing the segment tables; drift flagged by the
    daily run is what (besides the weekly cron) starts `retrain_models`; publishing (by either)
    starts `activate_segments`."""
    from pipeline.assets import ACTIVATION, EXPORTS, FEATURE_DRIFT, MARTS, RAW, SEGMENTS

    daily, retrain = dagbag.dags["customer_segmentation"], dagbag.dags["retrain_models"]
    activation = dagbag.dags["activate_segments"]
    assert daily.get_task("quality_gate_raw").outlets == RAW
    assert daily.get_task("quality_gate_marts").outlets == MARTS
    assert daily.get_task("publish_outputs").outlets == SEGMENTS
    assert retrain.get_task("publish_outputs").outlets == SEGMENTS
    flag = daily.get_task("flag_drift")
    assert flag.outlets == [FEATURE_DRIFT]
    assert {"segment_customers", "publish_outputs"} <= flag.upstream_task_ids
    schedule = retrain.timetable
    assert schedule.asset_condition == FEATURE_DRIFT
    assert schedule.timetable.expression == "0 4 * * 0"  # SEGMENTS_RETRAIN_SCHEDULE's default
    # Activation follows whichever DAG published; a sync can wait on the exports.
    assert set(activation.timetable.asset_condition.objects) == set(SEGMENTS)
    assert activation.get_task("quality_gate_activation").outlets == ACTIVATION
    assert activation.get_task("export_audiences").outlets == [EXPORTS]


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_parsing_imports_nothing_heavy(dag_file):
    """Parsing runs on every scheduler loop: heavy libraries belong inside tasks."""
    code = (
        "import runpy, sys; runpy.run_path(sys.argv[1]); "
        f"print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(dag_file)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[-1]
    assert out == "HEAVY:", f"{dag_file.name} imports {out} at parse time"
