"""The same dbt project on the PostgreSQL target, timed beside the DuckDB run it came from.

Run after `make bench SCALE=N`: it copies that run's raw layer into a fresh PostgreSQL
database (`extract_load.raw_to_postgres`), builds the models and their tests there with the
default selector (everything up to the marts, as on DuckDB), and prints dbt's time per layer
next to the DuckDB run's figures from `data/bench/results.json`. Airflow, the gates and the
models are DuckDB-only today, so only the dbt layers compare.

    .venv/bin/python -m benchmarks.postgres --scale 100000 \
        --dsn postgresql://segments:segments-local@127.0.0.1:5432/shop
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from extract_load.raw_to_postgres import copy_raw_layer
from pipeline.settings import DBT_PROJECT_DIR, PROJECT_ROOT

BENCH_DIR = PROJECT_ROOT / "data" / "bench"
DEFAULT_DSN = "postgresql://segments:segments-local@127.0.0.1:5432/shop"
WORK_MEM = "256MB"
# The node groups the DuckDB benchmark reports (benchmarks/run.py), by the model's folder.
GROUPS = {
    "staging": "models/staging",
    "identity": "models/intermediate/identity",
    "marts": ("models/intermediate/features", "models/marts"),
}


def _group(node: dict) -> str:
    if node["unique_id"].startswith(("test.", "unit_test.")):
        return "tests"
    path = node.get("original_file_path", "")
    for group, prefixes in GROUPS.items():
        if path.startswith(prefixes):
            return group
    return "seeds"


def _fresh_database(admin_dsn: str, name: str) -> str:
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as con:
        con.execute(f'drop database if exists "{name}"')
        con.execute(f'create database "{name}"')
        # PostgreSQL's default of 4 MB per sort or hash sends every large aggregate and join
        # to disk in small batches; a server warehouse is given more. The rest stays default.
        con.execute(f"alter database \"{name}\" set work_mem = '{WORK_MEM}'")
    return make_conninfo(admin_dsn, dbname=name)


def run(scale: int, admin_dsn: str, results: Path) -> dict:
    duckdb_run = json.loads(results.read_text())
    if duckdb_run["scale"] != scale:
        raise SystemExit(
            f"{results} is a run at {duckdb_run['scale']:,} customers: "
            f"run `make bench SCALE={scale}` first"
        )
    warehouse = BENCH_DIR / f"scale-{scale}" / "warehouse.duckdb"
    dsn = _fresh_database(admin_dsn, f"segments_bench_{scale}")

    started = time.perf_counter()
    copied = copy_raw_layer(warehouse, dsn)
    copy_seconds = time.perf_counter() - started

    parts = conninfo_to_dict(dsn)
    target_path = BENCH_DIR / f"scale-{scale}" / "dbt-postgres"
    env = {
        **os.environ,
        "SEGMENTS_PG_HOST": str(parts.get("host", "127.0.0.1")),
        "SEGMENTS_PG_PORT": str(parts.get("port", "5432")),
        "SEGMENTS_PG_USER": str(parts.get("user", "segments")),
        "SEGMENTS_PG_PASSWORD": str(parts.get("password", "")),
        "SEGMENTS_PG_DATABASE": str(parts["dbname"]),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_TARGET_PATH": str(target_path),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    dbt = Path(sys.executable).with_name("dbt")
    command = [str(dbt), "build", "--target", "postgres"]
    command += ["--vars", json.dumps({"as_of_date": duckdb_run["as_of_date"]})]
    started = time.perf_counter()
    subprocess.run(command, cwd=DBT_PROJECT_DIR, env=env, check=True)
    build_seconds = time.perf_counter() - started

    run_results = json.loads((target_path / "run_results.json").read_text())
    manifest = json.loads((target_path / "manifest.json").read_text())
    nodes = {**manifest["nodes"], **manifest.get("unit_tests", {})}
    groups: dict[str, float] = {}
    for result in run_results["results"]:
        node = nodes.get(result["unique_id"], {"unique_id": result["unique_id"]})
        group = _group(node)
        groups[group] = groups.get(group, 0.0) + result["execution_time"]
    duckdb_stages = {stage["name"]: stage["seconds"] for stage in duckdb_run["stages"]}
    return {
        "scale": scale,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "work_mem": WORK_MEM,
        "raw_rows_copied": sum(copied.values()),
        "copy_seconds": copy_seconds,
        "postgres": {"dbt_build_seconds": build_seconds, "node_seconds": groups},
        # The DuckDB run's two dbt layers as the DAG ran them (each with its tests, under
        # Cosmos), and its node time for the groups it records.
        "duckdb": {
            "dbt_build_seconds": duckdb_stages["dbt_staging"] + duckdb_stages["dbt_marts"],
            "node_seconds": {
                group: duckdb_stages[f"dbt:{group}"]
                for group in ("identity", "marts")
                if f"dbt:{group}" in duckdb_stages
            },
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--dsn", default=os.environ.get("SEGMENTS_TEST_PG_DSN", DEFAULT_DSN))
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "results.json")
    args = parser.parse_args()
    figures = run(args.scale, args.dsn, args.results)
    out = BENCH_DIR / f"postgres-{args.scale}.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    pg, duck = figures["postgres"], figures["duckdb"]
    print(f"PostgreSQL target at {args.scale:,} customers")
    print(
        f"  raw layer copied: {figures['raw_rows_copied']:,} rows "
        f"in {figures['copy_seconds']:.1f} s"
    )
    print(
        f"  dbt build, seeds to marts with tests: {pg['dbt_build_seconds']:.1f} s "
        f"(DuckDB, the same layers in the Airflow run: {duck['dbt_build_seconds']:.1f} s)"
    )
    print("  dbt node time by group, PostgreSQL / DuckDB:")
    for group in ("seeds", "staging", "identity", "marts", "tests"):
        theirs = duck["node_seconds"].get(group)
        duck_text = f"{theirs:.1f} s" if theirs is not None else "-"
        print(f"    {group:<9} {pg['node_seconds'].get(group, 0.0):8.1f} s  /  {duck_text}")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
