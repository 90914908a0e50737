"""Customer segmentation: sources → raw → staging → marts → segments, a GX gate after each.

Each task calls one function of `pipeline.stages`; nothing heavy is imported at parse time.
The run's as-of date is the end of its data interval: facts strictly before it count.
Re-running a date rebuilds the same tables (loads skip files already loaded; marts and
segments are replaced). One task writes the warehouse at a time: `max_active_runs=1`, and
every task in the one-slot `warehouse` pool (backfills and `retrain_models` too).
A task that fails for good is reported by `pipeline.alerts` (log; webhook if configured).

Assets (`pipeline.assets`): each gate that passes updates its layer's tables, and publishing
updates the segment tables, so syncs and reports can wait on them; a model input drifting
past the threshold updates `segments.feature_drift`, which starts `retrain_models`.
"""

from __future__ import annotations

from airflow.sdk import chain, dag, get_current_context, task

from extract_load.sources import SOURCES
from pipeline.assets import FEATURE_DRIFT, MARTS, RAW, SEGMENTS
from pipeline.dag_defaults import DEFAULT_ARGS, START_DATE
from pipeline.dbt_tasks import dbt_layer


@dag(
    dag_id="customer_segmentation",
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["segmentation", "warehouse"],
    doc_md=__doc__,
)
def customer_segmentation() -> None:
    @task
    def generate_sources() -> dict[str, int]:
        """Write demo sources into an empty landing zone (a no-op when files are there)."""
        from pipeline import stages

        context = get_current_context()
        return stages.generate_sources(context["run_id"], stages.as_of_from_context(context))

    # One mapped task per source, each retried on its own; one at a time, since DuckDB
    # allows a single writer.
    @task(max_active_tis_per_dag=1)
    def load_raw(table: str) -> dict[str, int]:
        """Load one source's new landing-zone files into raw (files already loaded are skipped)."""
        from pipeline import stages

        return stages.load_source(get_current_context()["run_id"], table)

    # Data does not change between tries: a failed expectation fails at once, no retries.
    @task(retries=0)
    def quality_gate(layer: str) -> int:
        """Stop the run if the layer breaks a critical expectation (GX; see expectations/)."""
        from pipeline import stages

        context = get_current_context()
        return stages.quality_gate(context["run_id"], layer, stages.as_of_from_context(context))

    # Models: one task each, so a failure or a slow step shows where it is.
    @task
    def segment_customers() -> dict:
        """Segments with the saved model, profiles, names, transitions, drift: candidates."""
        from pipeline import stages

        context = get_current_context()
        return stages.segment_customers(context["run_id"], stages.as_of_from_context(context))

    @task
    def score_propensity() -> dict:
        """Purchase-in-30-days and churn scores from time-split models: candidates."""
        from pipeline import stages

        context = get_current_context()
        return stages.score_propensity(context["run_id"], stages.as_of_from_context(context))

    @task
    def predict_value() -> dict:
        """Predicted 12-month value: candidates."""
        from pipeline import stages

        context = get_current_context()
        return stages.predict_value(context["run_id"], stages.as_of_from_context(context))

    @task(outlets=SEGMENTS)
    def publish_outputs() -> list[str]:
        """Swap the gated candidates into the `segments` schema in one transaction."""
        from pipeline import stages

        return stages.publish_outputs(get_current_context()["run_id"])

    @task(outlets=[FEATURE_DRIFT])
    def flag_drift(segmentation: dict) -> list[str]:
        """Skipped unless a model input drifted; then its asset event starts `retrain_models`."""
        from airflow.exceptions import AirflowSkipException

        if not segmentation["drifted"]:
            raise AirflowSkipException("no model input drifted past the threshold")
        return segmentation["drifted"]

    segmentation = segment_customers()
    loads = load_raw.expand(table=[source.table for source in SOURCES])
    chain(
        generate_sources(),
        loads,
        quality_gate.override(task_id="quality_gate_raw", outlets=RAW)("raw"),
        dbt_layer("staging"),
        quality_gate.override(task_id="quality_gate_staging")("staging"),
        dbt_layer("marts"),
        quality_gate.override(task_id="quality_gate_marts", outlets=MARTS)("marts"),
        segmentation,
        score_propensity(),
        predict_value(),
        quality_gate.override(task_id="quality_gate_outputs")("outputs"),
        publish_outputs(),
        flag_drift(segmentation),
    )


customer_segmentation()
