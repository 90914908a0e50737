"""Copy the raw layer from the DuckDB warehouse into a PostgreSQL database.

The dbt project is portable: the same models build on PostgreSQL (`--target postgres`). This
is how a PostgreSQL warehouse gets its raw layer in this project's tests and for a team that
wants to try the models on their server: every `raw.*` table is streamed as CSV out of DuckDB
and into PostgreSQL with COPY, as text columns exactly like in DuckDB, replacing what was there.
No rows pass through Python objects: DuckDB writes the CSV, psycopg streams it in blocks.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

BLOCK = 1 << 20


def copy_raw_layer(warehouse_path: Path, dsn: str, schema: str = "raw") -> dict[str, int]:
    """Replace `schema`.* in PostgreSQL with DuckDB's raw tables; returns rows per table."""
    copied: dict[str, int] = {}
    with (
        duckdb.connect(str(warehouse_path), read_only=True) as duck,
        psycopg.connect(dsn) as pg,
        tempfile.TemporaryDirectory() as tmp,
    ):
        tables = duck.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' "
            "and table_name not like '\\_%' escape '\\' order by 1"
        ).fetchall()
        pg.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        for (table,) in tables:
            columns = [
                row[0]
                for row in duck.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = 'raw' and table_name = ? order by ordinal_position",
                    [table],
                ).fetchall()
            ]
            target = sql.Identifier(schema, table)
            pg.execute(sql.SQL("drop table if exists {}").format(target))
            pg.execute(
                sql.SQL("create table {} ({})").format(
                    target,
                    sql.SQL(", ").join(
                        sql.SQL("{} text").format(sql.Identifier(c)) for c in columns
                    ),
                )
            )
            path = Path(tmp) / f"{table}.csv"
            duck.execute(
                f"copy (select * from raw.\"{table}\") to '{path}' (format csv, header false)"
            )
            with pg.cursor() as cursor, path.open("rb") as handle:
                copy = sql.SQL("copy {} from stdin with (format csv)").format(target)
                with cursor.copy(copy) as stream:
                    while block := handle.read(BLOCK):
                        stream.write(block)
                copied[table] = cursor.rowcount
            path.unlink()
            log.info(
                "copied raw.%s to PostgreSQL %s.%s: %d rows", table, schema, table, copied[table]
            )
        pg.commit()
    return copied
