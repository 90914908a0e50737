"""Retrain the segmentation, propensity and value models, then republish the segment tables.

Runs weekly (`SEGMENTS_RETRAIN_SCHEDULE`, cron in UTC) and whenever a daily
`customer_segmentation` run flags drift (the `segments.feature_drift` asset). Between
retrains, the daily run scores everyone with the models saved here. It trains on the latest
features the warehouse holds, passes the same outputs gate, and publishes the same way, so
the segment assets update and whatever waits on them follows.
"""

from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, chain, dag, task

from pipeline import settings as config
from pipeline.assets import FEATURE_DRIFT, SEGMENTS
from pipeline.dag_defaults import DEFAULT_ARGS, START_DATE


@dag(
    dag_id="retrain_models",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(config.load().retrain_schedule, timezone="UTC"),
        assets=FEATURE_DRIFT,
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["segmentation", "models"],
    doc_md=__doc__,
)
def retrain_models() -> None:
    @task
    def features_date() -> str:
        """The as-of date of the newest features in the warehouse: what the models learn."""
        from pipeline import stages

        return stages.latest_features_date().isoformat()

    @task
    def retrain(stage: str, as_of: str) -> dict:
        """Train a new model of the kind on the features as of the date and score everyone."""
        from datetime import date

        from airflow.sdk import get_current_context

        from pipeline import stages

        job = {
            "segmentation": stages.segment_customers,
            "propensity": stages.score_propensity,
            "value": stages.predict_value,
        }[stage]
        return job(get_current_context()["run_id"], date.fromisoformat(as_of), retrain="always")

    # Data does not change between tries: a failed expectation fails at once, no retries.
    @task(retries=0)
    def quality_gate_outputs(as_of: str) -> int:
        """Stop before publishing if the new models' outputs break a critical expectation."""
        from datetime import date

        from airflow.sdk import get_current_context

        from pipeline import stages

        run_id = get_current_context()["run_id"]
        return stages.quality_gate(run_id, "outputs", date.fromisoformat(as_of))

    @task(outlets=SEGMENTS)
    def publish_outputs() -> list[str]:
        """Swap the gated candidates into the `segments` schema in one transaction."""
        from airflow.sdk import get_current_context

        from pipeline import stages

        return stages.publish_outputs(get_current_context()["run_id"])

    as_of = features_date()
    chain(
        as_of,
        retrain.override(task_id="retrain_segmentation")("segmentation", as_of),
        retrain.override(task_id="retrain_propensity")("propensity", as_of),
        retrain.override(task_id="retrain_value")("value", as_of),
        quality_gate_outputs(as_of),
        publish_outputs(),
    )


retrain_models()
