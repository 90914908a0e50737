"""The tables BI reads keep their names and types from run to run.

The activation models are held to theirs by dbt's enforced contracts; the `segments` tables
are written by the ML task from data frames, where a dtype change would silently change a
column's type under a dashboard. This pins them.
"""

from __future__ import annotations

import duckdb

TEXT, INT, FLOAT, DATE = "VARCHAR", "INTEGER", "DOUBLE", "DATE"
SEGMENT_TABLES = {
    "customer_segments": {
        "person_id": TEXT,
        "segment_id": INT,
        "segment_name": TEXT,
        "distance": FLOAT,
        "model_version": TEXT,
        "as_of_date": DATE,
    },
    "propensity_scores": {
        "person_id": TEXT,
        "p_purchase_30d": FLOAT,
        "decile": INT,
        "p_churn": FLOAT,
        "model_version": TEXT,
        "as_of_date": DATE,
    },
    "customer_value": {
        "person_id": TEXT,
        "predicted_value_12m": FLOAT,
        "value_decile": INT,
        "method": TEXT,
        "model_version": TEXT,
        "as_of_date": DATE,
    },
    "model_runs": {
        "model_version": TEXT,
        "kind": TEXT,
        "as_of_date": DATE,
        "trained_at": "TIMESTAMP WITH TIME ZONE",
        "metrics": "JSON",
    },
}
SEGMENT_TABLES["membership_history"] = SEGMENT_TABLES["customer_segments"]


def _types(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    return dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
    )


def test_segment_tables_keep_their_columns_and_types(activated_settings):
    with duckdb.connect(str(activated_settings.warehouse_path), read_only=True) as con:
        for table, expected in SEGMENT_TABLES.items():
            actual = _types(con, "segments", table)
            # Columns may be added; the contract's may not change or go.
            assert {c: actual.get(c) for c in expected} == expected, table


def test_customer_360_types_are_the_declared_contract(activated_settings):
    """What dbt enforced is what BI finds (a spot check of the kinds of columns)."""
    with duckdb.connect(str(activated_settings.warehouse_path), read_only=True) as con:
        actual = _types(con, "activation", "customer_360")
    assert actual["person_id"] == TEXT and actual["segment_id"] == INT
    assert actual["monetary"] == "DECIMAL(18,2)" and actual["has_ad_targeting_consent"] == "BOOLEAN"
    assert actual["p_purchase_30d"] == FLOAT and actual["as_of_date"] == DATE
