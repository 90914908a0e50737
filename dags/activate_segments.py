"""Activation: customer_360 and the audiences in dbt, a GX gate, the exports, the report.

Runs whenever the segment tables are published (the `segments.*` assets), by the daily
`customer_segmentation` run or by `retrain_models`, so marketing gets fresh audiences without
a clock of its own. It works on the published segments' date, whichever run published them.
Consent is read as the latest change the warehouse holds, so an export honours every
withdrawal loaded so far. The exports update the `exports.audiences` asset, which a sync can
wait on. Every task takes the one-slot `warehouse` pool, like the other DAGs.
"""

from __future__ import annotations

from airflow.sdk import chain, dag, get_current_context, task

from pipeline.assets import ACTIVATION, EXPORTS, SEGMENTS
from pipeline.dag_defaults import DEFAULT_ARGS, START_DATE
from pipeline.dbt_tasks import dbt_layer

DAG_ID = "activate_segments"


@dag(
    dag_id=DAG_ID,
    schedule=SEGMENTS,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["segmentation", "activation"],
    doc_md=__doc__,
)
def activate_segments() -> None:
    # Data does not change between tries: a failed expectation fails at once, no retries.
    @task(retries=0, outlets=ACTIVATION)
    def quality_gate_activation() -> int:
        """Stop before any export if customer_360 or an audience breaks a critical check."""
        from pipeline import stages

        run_id = get_current_context()["run_id"]
        return stages.quality_gate(run_id, "activation", stages.published_segments_date())

    @task(outlets=[EXPORTS])
    def export_audiences() -> dict[str, dict[str, int]]:
        """Members, added and removed per destination and audience, CSV and Parquet."""
        from pipeline import stages

        return stages.export_audiences(get_current_context()["run_id"])

    @task
    def build_report() -> str:
        """The segment report, one self-contained HTML page."""
        from pipeline import stages

        return stages.build_report(get_current_context()["run_id"])

    chain(dbt_layer("activation"), quality_gate_activation(), export_audiences(), build_report())


activate_segments()
