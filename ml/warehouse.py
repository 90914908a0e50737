"""Write model outputs back to the warehouse.

Outputs go to a candidate schema that the outputs quality gate checks before
pipeline.stages.publish_outputs swaps them into `segments`; `segments.model_runs` is a log
of every training and scoring, kept whether or not its outputs are published.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd


def write_tables(warehouse_path: Path, schema: str, tables: dict[str, pd.DataFrame]) -> None:
    """Replace each table in the schema, all in one transaction."""
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute(f"create schema if not exists {schema}")
        con.execute("begin transaction")
        for name, frame in tables.items():
            con.register("frame", frame)
            con.execute(f"create or replace table {schema}.{name} as select * from frame")
            con.unregister("frame")
        con.execute("commit")


def log_model_run(
    warehouse_path: Path, model_version: str, kind: str, as_of_date: date, metrics: dict
) -> None:
    """One row per (model version, kind, as-of date): re-running a date replaces its row."""
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute("create schema if not exists segments")
        columns = {
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'segments' and table_name = 'model_runs'"
            ).fetchall()
        }
        if columns and "as_of_date" not in columns:
            # The first layout logged trainings only, keyed by version: keep it aside.
            con.execute("alter table segments.model_runs rename to model_runs_trainings_v1")
        con.execute(
            """
            create table if not exists segments.model_runs (
                model_version varchar, kind varchar, as_of_date date, trained_at timestamptz,
                metrics json, primary key (model_version, kind, as_of_date)
            )
            """
        )
        con.execute(
            "insert or replace into segments.model_runs values (?, ?, ?, ?, ?)",
            [model_version, kind, as_of_date, datetime.now(UTC), json.dumps(metrics, default=str)],
        )


def read_table(
    warehouse_path: Path, table: str, where: str = "true", params: list | None = None
) -> pd.DataFrame | None:
    """Rows of a published table (`where` selects them), or None when the table does not
    exist yet (the first run)."""
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        schema, name = table.split(".")
        found = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? "
            "and table_name = ?",
            [schema, name],
        ).fetchone()[0]
        if not found:
            return None
        return con.execute(f"select * from {table} where {where}", params or []).df()


def write_scores(
    warehouse_path: Path,
    schema: str,
    table: str,
    frame: pd.DataFrame,
    kind: str,
    as_of_date: date,
    run: dict,
) -> dict:
    """Write a model's per-person output and log the run (its metadata plus how it went)."""
    from ml.registry import library_versions

    write_tables(warehouse_path, schema, {table: frame})
    run = run | {"rows_scored": len(frame), "versions": library_versions()}
    log_model_run(warehouse_path, run["model_version"], kind, as_of_date, run)
    return run
