"""The dbt project is portable: built on PostgreSQL from the same raw data, the marts equal
DuckDB's row for row."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from demo_data.generate import generate
from extract_load.load import load_all
from extract_load.raw_to_postgres import copy_raw_layer
from tests.conftest import AS_OF
from tests.dbt_cli import run_dbt

DEFAULT_DSN = "postgresql://segments:segments-local@127.0.0.1:5432/shop"
DATABASE = "segments_dbt_test"
# The marts compared row for row, with the key they are ordered by.
MARTS = {
    "marts.person_identifiers": "identifier_type, identifier_value",
    "marts.dim_customers": "person_id",
    "marts.fct_orders": "order_id",
    "marts.customer_rfm": "person_id",
    "marts.customer_features": "person_id, as_of_date",
}


@pytest.fixture(scope="module")
def warehouse_dsn():
    """A fresh database on the test server (the one `make postgres` starts)."""
    admin = os.environ.get("SEGMENTS_TEST_PG_DSN", DEFAULT_DSN)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as con:
            con.execute(f"drop database if exists {DATABASE}")
            con.execute(f"create database {DATABASE}")
    except psycopg.OperationalError as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL to test against (run `make postgres`): {error}")
    return make_conninfo(admin, dbname=DATABASE)


def _dbt_build(tmp: Path, target: str, env: dict[str, str]) -> None:
    run_dbt(tmp / target, "build", "--target", target, env=env)


def test_marts_on_postgres_equal_marts_on_duckdb(tmp_path, warehouse_dsn):
    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    generate(landing, 600, seed=4, end_date=AS_OF, progress=False)
    load_all(warehouse, landing)
    copied = copy_raw_layer(warehouse, warehouse_dsn)
    assert copied["shop__orders"] > 0

    _dbt_build(tmp_path, "duckdb", {"SEGMENTS_WAREHOUSE": str(warehouse)})
    parts = conninfo_to_dict(warehouse_dsn)
    _dbt_build(
        tmp_path,
        "postgres",
        {
            "SEGMENTS_PG_HOST": str(parts.get("host", "127.0.0.1")),
            "SEGMENTS_PG_PORT": str(parts.get("port", "5432")),
            "SEGMENTS_PG_USER": str(parts.get("user", "segments")),
            "SEGMENTS_PG_PASSWORD": str(parts.get("password", "")),
            "SEGMENTS_PG_DATABASE": DATABASE,
        },
    )

    # Each model's table analyzed as it was built: the next model is planned from its
    # statistics, not from autovacuum's guess (see the `analyze_for_planner` macro).
    with psycopg.connect(warehouse_dsn) as con:
        analyzed = dict(
            con.execute(
                "select schemaname || '.' || relname, last_analyze is not null"
                " from pg_stat_user_tables"
                " where schemaname in ('staging', 'intermediate', 'marts')"
            ).fetchall()
        )
    assert set(MARTS) <= set(analyzed)
    assert all(analyzed.values()), sorted(t for t, done in analyzed.items() if not done)

    for table, key in MARTS.items():
        query = f"select * from {table} order by {key}"
        with duckdb.connect(str(warehouse), read_only=True) as con:
            on_duckdb = con.execute(query).df()
        with psycopg.connect(warehouse_dsn) as con:
            cursor = con.execute(query)
            rows = cursor.fetchall()
            on_postgres = pd.DataFrame(rows, columns=[d.name for d in cursor.description])
        assert len(on_duckdb) == len(on_postgres) > 0, table
        assert list(on_duckdb.columns) == list(on_postgres.columns), table
        for column in on_duckdb.columns:
            left, right = _comparable(on_duckdb[column]), _comparable(on_postgres[column])
            differ = left != right
            assert not differ.any(), (table, column, left[differ][:3], right[differ][:3])


def _comparable(values: pd.Series):
    """Values as text both engines spell alike: numbers rounded to cents' precision, times as
    naive UTC, nulls as one marker."""
    if (
        pd.api.types.is_datetime64_any_dtype(values)
        or values.map(lambda v: hasattr(v, "isoformat")).any()
    ):
        stamps = pd.to_datetime(values, utc=True)
        return stamps.dt.tz_localize(None).astype(str).fillna("null").to_numpy()
    converted = pd.to_numeric(values, errors="coerce")
    if converted.notna().sum() == values.notna().sum() and values.notna().any():
        return converted.astype(float).round(6).fillna(-1e18).astype(str).to_numpy()
    return values.astype(str).where(values.notna(), "null").to_numpy()
