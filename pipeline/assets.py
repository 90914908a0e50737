"""The warehouse tables other DAGs and tools wait on, as Airflow assets.

A gate that passes emits its layer's assets, so whatever is scheduled on them (a marketing
sync, a BI extract, `retrain_models`) starts on data that passed its checks, not on a clock.
"""

from __future__ import annotations

from airflow.sdk import Asset

from activation.destinations import AUDIENCES
from extract_load.sources import SOURCES


def table_asset(schema: str, table: str) -> Asset:
    """The asset of one warehouse table (the same names on DuckDB and on Postgres)."""
    return Asset(name=f"{schema}.{table}", uri=f"warehouse://{schema}/{table}", group=schema)


# Updated when the raw layer passed its gate.
RAW = [table_asset("raw", source.table) for source in SOURCES]
# The marts BI and the models read, updated when the marts passed their gate.
MARTS = [
    table_asset("marts", table)
    for table in (
        "dim_customers",
        "fct_orders",
        "customer_rfm",
        "customer_engagement",
        "customer_lifecycle",
        "customer_features",
    )
]
# The published model outputs, updated by `publish_outputs`.
SEGMENTS = [
    table_asset("segments", table)
    for table in (
        "customer_segments",
        "segment_profiles",
        "propensity_scores",
        "customer_value",
        "membership_history",
    )
]
# The tables BI and the exports read, updated when the activation layer passed its gate.
ACTIVATION = [
    table_asset("activation", table)
    for table in ("customer_360", *(f"audience_{name}" for name in AUDIENCES))
]
# The audience files, updated when an export wrote them: what a marketing sync waits on.
EXPORTS = Asset(name="exports.audiences", uri="exports://audiences", group="exports")
# An event here means a daily run found a model input drifted past the threshold (which, and
# by how much, is in `segments.feature_drift`): it starts `retrain_models`.
FEATURE_DRIFT = table_asset("segments", "feature_drift")
