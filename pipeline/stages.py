"""The pipeline's stages as plain functions of (settings, run id, as-of date).

The DAG wires these together; the CLI, tests and the benchmark call the same functions, so
there is one code path. Each stage is idempotent for its as-of date.
"""

from __future__ import annotations

import logging
from datetime import date

from pipeline import settings as config
from pipeline.stage_metrics import measure

log = logging.getLogger(__name__)

SHOP_DATABASE_TABLES = ("shop__orders", "shop__order_items")


def generate_sources(run_id: str, as_of_date: date) -> dict[str, int]:
    """Write the demo company into the landing zone, unless real orders are there already
    (files in the landing zone, or the shop's database)."""
    from demo_data.generate import generate, has_sources

    settings = config.load()
    if settings.shop_dsn or has_sources(settings.landing_dir):
        log.info("orders already available (landing zone or shop database); not generating")
        return {"customers": 0, "orders": 0}
    with measure(settings.warehouse_path, run_id, "generate") as stage:
        counts = generate(
            settings.landing_dir,
            settings.demo_customers,
            settings.demo_seed,
            as_of_date,
            settings.demo_history_days,
        )
        stage.rows = counts.total_rows
    return {"customers": counts.customers, "orders": counts.orders}


def load_source(run_id: str, table: str) -> dict[str, int]:
    """Load one source's new landing-zone files into raw; returns rows in/loaded/quarantined."""
    from extract_load.load import load_source as load

    settings = config.load()
    with measure(settings.warehouse_path, run_id, f"extract_load:{table}") as stage:
        if settings.shop_dsn and table in SHOP_DATABASE_TABLES:
            # The shop's database replaces its files: orders and their lines come in one
            # consistent snapshot, so the orders task loads both.
            from extract_load.postgres import load_shop_from_postgres

            results = []
            if table == "shop__orders":
                results = load_shop_from_postgres(
                    settings.warehouse_path, settings.shop_dsn, settings.landing_dir / "postgres"
                )
        else:
            results = load(
                settings.warehouse_path,
                settings.landing_dir,
                table,
                settings.load_threads,
                settings.duckdb_memory_limit,
            )
        stage.rows = sum(r.rows_in for r in results)
    return {
        "files": len(results),
        "rows_in": sum(r.rows_in for r in results),
        "rows_loaded": sum(r.rows_loaded for r in results),
        "rows_quarantined": sum(r.rows_quarantined for r in results),
    }


def quality_gate(run_id: str, layer: str, as_of_date: date) -> int:
    """Great Expectations gate on one layer; raises QualityGateFailed on a critical failure,
    so nothing downstream runs; warnings are recorded and logged."""
    from expectations.gate import run_gate

    settings = config.load()
    with measure(settings.warehouse_path, run_id, f"quality_{layer}") as stage:
        outcomes = run_gate(
            settings.warehouse_path,
            layer,
            run_id,
            as_of_date,
            settings.quality_dir,
            settings.quality_volume_tolerance,
        )
        stage.rows = len(outcomes)
    return len(outcomes)


def segment_customers(run_id: str, as_of_date: date, retrain: str | None = None) -> dict:
    """Assign everyone a segment (training when there is no usable model, or `retrain` says
    so), profile and name the segments, and write the candidate tables (published after the
    outputs gate passes). Returns the segment sizes and the inputs that drifted."""
    from expectations.outputs import CANDIDATE
    from ml.segment_customers import SegmentationConfig, run_segmentation

    settings = config.load()
    with measure(settings.warehouse_path, run_id, "segmentation") as stage:
        result = run_segmentation(
            settings.warehouse_path,
            settings.models_dir,
            as_of_date,
            SegmentationConfig(
                algorithm=settings.segments_algorithm,
                k_min=settings.segments_k_min,
                k_max=settings.segments_k_max,
                min_share=settings.segments_min_share,
                retrain=retrain or settings.segments_retrain,
                drift_threshold=settings.segments_drift_threshold,
                random_state=settings.random_state,
            ),
            schema=CANDIDATE,
        )
        stage.rows = sum(result.sizes.values())
    return {"sizes": result.sizes, "drifted": result.drifted}


def _scores(run_id: str, stage_name: str, job, as_of_date: date, retrain: str | None) -> dict:
    """Run a scoring model's job (train when due, score everyone, write its candidate table)
    under the stage's measurement; returns the run's metadata."""
    from expectations.outputs import CANDIDATE

    settings = config.load()
    with measure(settings.warehouse_path, run_id, stage_name) as stage:
        metadata = job(
            settings.warehouse_path,
            settings.models_dir,
            as_of_date,
            settings.random_state,
            schema=CANDIDATE,
            retrain=retrain or settings.segments_retrain,
        )
        stage.rows = metadata["rows_scored"]
    return metadata


def score_propensity(run_id: str, as_of_date: date, retrain: str | None = None) -> dict:
    """Train the purchase and churn models on their time splits and score everyone."""
    from ml.propensity import run_propensity

    metadata = _scores(run_id, "propensity", run_propensity, as_of_date, retrain)
    return {
        "purchase_roc_auc": metadata["purchase_30d"]["roc_auc"],
        "churn_roc_auc": metadata["churn_365d"]["roc_auc"],
    }


def predict_value(run_id: str, as_of_date: date, retrain: str | None = None) -> dict:
    """Train the 12-month value model on the year before the date and predict the next."""
    from ml.value import run_value

    return _scores(run_id, "value", run_value, as_of_date, retrain)["metrics"]["cross_validated"]


def publish_outputs(run_id: str) -> list[str]:
    """Replace the `segments` tables with the candidates that passed the outputs gate, and
    append the memberships to `segments.membership_history`, all in one transaction, so
    readers see the previous run's tables or this run's, never a mix."""
    import duckdb

    from expectations.outputs import CANDIDATE

    settings = config.load()
    with (
        measure(settings.warehouse_path, run_id, "publish") as stage,
        duckdb.connect(str(settings.warehouse_path)) as con,
    ):
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = ?",
                [CANDIDATE],
            ).fetchall()
        ]
        con.execute("begin transaction")
        con.execute("create schema if not exists segments")
        for table in tables:
            con.execute(
                f"create or replace table segments.{table} as select * from {CANDIDATE}.{table}"
            )
            con.execute(f"drop table {CANDIDATE}.{table}")
        if "customer_segments" in tables:
            # Every published membership is kept, one set per as-of date (a re-run replaces
            # its date's): what the stability comparison and the report read back.
            con.execute(
                "create table if not exists segments.membership_history as "
                "select * from segments.customer_segments with no data"
            )
            con.execute(
                "delete from segments.membership_history where as_of_date in "
                "(select distinct as_of_date from segments.customer_segments)"
            )
            con.execute(
                "insert into segments.membership_history by name "
                "select * from segments.customer_segments"
            )
        con.execute("commit")
        stage.rows = len(tables)
    return tables


def as_of_from_context(context: dict) -> date:
    """The date a run describes: the end of its data interval, else when it was due to run.

    With the default (trigger) timetable the interval is empty and ends at the logical date;
    a manual or asset-triggered run with no logical date falls back to `run_after`.
    """
    moment = context.get("data_interval_end") or context["dag_run"].run_after
    return moment.date()


def latest_features_date() -> date:
    """The as-of date of the newest features in `marts.customer_features`."""
    import duckdb

    settings = config.load()
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        [(latest,)] = con.execute("select max(as_of_date) from marts.customer_features").fetchall()
    if latest is None:
        raise LookupError(f"no features in {settings.warehouse_path}: run customer_segmentation")
    return latest


def published_segments_date() -> date:
    """The as-of date of the published segments: what activation exports and reports on."""
    import duckdb

    settings = config.load()
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        [(published,)] = con.execute(
            "select max(as_of_date) from segments.customer_segments"
        ).fetchall()
    if published is None:
        raise LookupError(f"no segments in {settings.warehouse_path}: run customer_segmentation")
    return published


def export_audiences(run_id: str) -> dict[str, dict[str, int]]:
    """Write every destination's audience files and their deltas (`activation.exports`)."""
    from activation.exports import export_audiences as export

    settings = config.load()
    with measure(settings.warehouse_path, run_id, "activation_exports") as stage:
        results = export(settings.warehouse_path, settings.exports_dir)
        stage.rows = sum(r.members for r in results)
    return {
        f"{r.destination}/{r.audience}": {
            "members": r.members,
            "added": r.added,
            "removed": r.removed,
        }
        for r in results
    }


def build_report(run_id: str) -> str:
    """Rebuild the segment report, one HTML page (`activation.report`)."""
    from activation.report import build_report as build

    settings = config.load()
    with measure(settings.warehouse_path, run_id, "report"):
        path = build(settings.warehouse_path, settings.report_path, settings.models_dir)
    return str(path)
