"""The quality gate of one layer: validate every suite of the layer with GX checkpoints,
record each expectation's outcome, build GX Data Docs, and stop the run on a critical failure.

Route: GX validates pandas frames read from DuckDB, never DuckDB through GX's SQL datasource,
because GX 1.24's SQLAlchemy engine silently fails every expectation on DuckDB (README,
"Quality gates"). Per-person tables are read as frames of the columns checked; the large
tables are summarised by one SQL scan into a one-row frame of check values (checks.SqlCheck),
which GX then validates, so the gate's memory does not grow with the event tables.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from expectations.checks import CRITICAL, SqlCheck, TableSuite

log = logging.getLogger(__name__)

LAYERS = ("raw", "staging", "marts", "outputs")
# A gated table's row count may move this much (as a share) from the last passed run's.
VOLUME_TOLERANCE = 0.5


@dataclass(frozen=True)
class ExpectationOutcome:
    suite: str
    expectation: str
    column: str | None
    severity: str
    success: bool
    observed: str


class QualityGateFailed(RuntimeError):
    """A critical expectation failed: the data must not flow on to the next layer."""


def describe(outcome: ExpectationOutcome) -> str:
    column = f"column {outcome.column}" if outcome.column else "the table"
    return (
        f"{outcome.suite}: {outcome.expectation} on {column} failed (observed {outcome.observed})"
    )


def layer_suites(layer: str, as_of_date: date) -> list[TableSuite]:
    from expectations import activation, marts, outputs, raw, staging

    if layer == "raw":
        return raw.suites(as_of_date)
    layers = {"staging": staging, "marts": marts, "outputs": outputs, "activation": activation}
    return layers[layer].suites()


def run_gate(
    warehouse_path: Path,
    layer: str,
    run_id: str,
    as_of_date: date,
    gx_root: Path,
    volume_tolerance: float = VOLUME_TOLERANCE,
) -> list[ExpectationOutcome]:
    """Validate the layer, write `quality.*`, build Data Docs under gx_root; raise
    QualityGateFailed naming every failed critical expectation (table, column, check)."""
    _ensure_quality_tables(warehouse_path)
    suites = layer_suites(layer, as_of_date)
    batches: list[tuple[str, pd.DataFrame, list[Any]]] = []
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        existing = {
            row[0]
            for row in con.execute(
                "select table_schema || '.' || table_name from information_schema.tables"
            ).fetchall()
        }
        volumes = _last_passed_volumes(con, run_id)
        row_counts = {}
        for suite in suites:
            batches += _batches(con, suite, suite.table in existing, volumes, volume_tolerance)
            if suite.table in existing:
                row_counts[suite.table] = con.execute(
                    f"select count(*) from {suite.table}"
                ).fetchall()[0][0]

    outcomes = _validate(gx_root, layer, batches)
    failures = [o for o in outcomes if not o.success and o.severity == CRITICAL]
    _record(warehouse_path, layer, run_id, outcomes, row_counts, passed=not failures)
    if layer == "raw" and not failures:
        _mark_batches_validated(warehouse_path, [s.table for s in suites if s.table in existing])

    for outcome in outcomes:
        if not outcome.success and outcome.severity != CRITICAL:
            log.warning("quality warning: %s", describe(outcome))
    if failures:
        raise QualityGateFailed(
            f"quality gate failed ({layer}):\n" + "\n".join(f"  - {describe(o)}" for o in failures)
        )
    log.info("%s gate: %d expectations on %d tables passed", layer, len(outcomes), len(suites))
    return outcomes


def _batches(
    con: duckdb.DuckDBPyConnection,
    suite: TableSuite,
    exists: bool,
    volumes: dict[str, int],
    tolerance: float,
) -> list[tuple[str, pd.DataFrame, list[Any]]]:
    """(asset name, frame, expectations) for one suite: the SQL checks' one-row frame and,
    if the suite has native expectations, the frame of its columns."""

    severity = CRITICAL if suite.required else "warning"
    exists_check = SqlCheck(None, "expect_table_to_exist", "", low=1, high=1, severity=severity)
    if not exists:
        return [(suite.table, pd.DataFrame({"m0": [0]}), _as_expectations([exists_check]))]
    checks = list(suite.checks)
    if suite.volume and suite.table in volumes:
        previous = volumes[suite.table]
        checks.append(
            SqlCheck(
                None,
                "expect_table_row_count_to_be_between",
                f"(select count(*) from {suite.table})",
                low=int(previous * (1 - tolerance)),
                high=int(previous * (1 + tolerance)) + 1,
            )
        )
    out = []
    if checks:
        values = ", ".join(f"{check.value} as m{i + 1}" for i, check in enumerate(checks))
        # m0 is an aggregate so that the query is one: one row, also over no rows. Where every
        # check is a scalar subquery (a volume or relationship check alone), a constant m0
        # gave one row per table row, each validated by GX in Python (at 1M customers 5.3M
        # rows, about 7 of the marts gate's 21 s).
        frame = con.execute(
            f"select count(*) * 0 + 1 as m0, {values} from {suite.scope or suite.table}"
        ).df()
        out.append((f"{suite.table}:sql", frame, _as_expectations([exists_check, *checks])))
    if suite.frame_columns:
        columns = ", ".join(suite.frame_columns)
        frame = con.execute(f"select {columns} from {suite.scope or suite.table}").df()
        out.append((suite.table, frame, suite.expectations()))
    return out


def _as_expectations(checks: list[SqlCheck]) -> list[Any]:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToBeBetween(
            column=f"m{i}",
            min_value=check.low,
            max_value=check.high,
            meta={
                "severity": check.severity,
                "column": check.column,
                "stands_for": check.expectation,
            },
        )
        for i, check in enumerate(checks)
    ]


def _validate(
    gx_root: Path, layer: str, batches: list[tuple[str, pd.DataFrame, list[Any]]]
) -> list[ExpectationOutcome]:
    """One GX checkpoint per batch in a file context (so results accumulate in Data Docs).

    Data Docs are built for this gate's suites and results only, plus the index: a full build
    renders every result the store has ever kept, which grows with every run (200 results:
    9.1 s against 1.1 s)."""
    import great_expectations as gx
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    context = gx.get_context(mode="file", project_root_dir=str(gx_root))
    source = context.data_sources.add_or_update_pandas("warehouse")
    outcomes = []
    pages: list[Any] = []
    for name, frame, expectations in batches:
        try:
            asset = source.get_asset(name)
        except LookupError:
            asset = source.add_dataframe_asset(name=name)
        try:
            definition = asset.get_batch_definition("whole_table")
        except KeyError:
            definition = asset.add_batch_definition_whole_dataframe("whole_table")
        suite = gx.ExpectationSuite(name=f"{layer}.{name}")
        for expectation in expectations:
            suite.add_expectation(expectation)
        suite = context.suites.add_or_update(suite)
        validation = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"{layer}.{name}", data=definition, suite=suite)
        )
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(name=f"{layer}.{name}", validation_definitions=[validation])
        )
        result = checkpoint.run(batch_parameters={"dataframe": frame})
        pages += [ExpectationSuiteIdentifier(suite.name), *result.run_results]
        table = name.removesuffix(":sql")
        for suite_result in result.run_results.values():
            for item in suite_result.results:
                outcomes.append(_outcome(table, item, frame))
    context.build_data_docs(resource_identifiers=pages)
    return outcomes


def _outcome(table: str, item: Any, frame: pd.DataFrame) -> ExpectationOutcome:
    config = item.expectation_config
    meta = config.meta or {}
    if item.exception_info and item.exception_info.get("raised_exception"):
        raise RuntimeError(
            f"{table}: GX could not evaluate {config.type}: "
            f"{item.exception_info.get('exception_message')}"
        )
    if "stands_for" in meta:  # a check pushed down to SQL: its value is the observation
        value = frame[config.kwargs["column"]].iloc[0]
        return ExpectationOutcome(
            suite=table,
            expectation=meta["stands_for"],
            column=meta.get("column"),
            severity=meta["severity"],
            success=bool(item.success),
            observed=json.dumps(
                None if pd.isna(value) else getattr(value, "item", lambda: value)()
            ),
        )
    return ExpectationOutcome(
        suite=table,
        expectation=config.type,
        column=config.kwargs.get("column"),
        severity=meta.get("severity", CRITICAL),
        success=bool(item.success),
        observed=_observed(item.result or {}),
    )


def _observed(result: dict[str, Any]) -> str:
    if "observed_value" in result:
        return json.dumps(result["observed_value"], default=str)
    keys = ("unexpected_count", "unexpected_percent", "partial_unexpected_list")
    return json.dumps({k: result[k] for k in keys if k in result}, default=str)


def _ensure_quality_tables(warehouse_path: Path) -> None:
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute("create schema if not exists quality")
        con.execute(
            """
            create table if not exists quality.expectation_results (
                run_id varchar, suite varchar, expectation varchar, column_name varchar,
                severity varchar, success boolean, observed_value varchar,
                validated_at timestamptz
            )
            """
        )
        con.execute(
            "alter table quality.expectation_results add column if not exists layer varchar"
        )
        con.execute(
            """
            create table if not exists quality.table_volumes (
                run_id varchar, layer varchar, table_name varchar, row_count bigint,
                passed boolean, recorded_at timestamptz
            )
            """
        )
        con.execute(
            """
            create table if not exists quality.validated_batches (
                table_name varchar, batch_id varchar, validated_at timestamptz
            )
            """
        )


def _last_passed_volumes(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, int]:
    """Each table's row count at the last gate it passed, in another run."""
    rows = con.execute(
        """
        select table_name, arg_max(row_count, recorded_at)
        from quality.table_volumes where passed and run_id != ? group by 1
        """,
        [run_id],
    ).fetchall()
    return dict(rows)


def _record(
    warehouse_path: Path,
    layer: str,
    run_id: str,
    outcomes: list[ExpectationOutcome],
    row_counts: dict[str, int],
    passed: bool,
) -> None:
    """One row per expectation per run (so quality can be charted), and the tables' volumes."""
    now = datetime.now(UTC)
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute(
            "delete from quality.expectation_results where run_id = ? and layer = ?",
            [run_id, layer],
        )
        con.execute(
            "delete from quality.table_volumes where run_id = ? and layer = ?", [run_id, layer]
        )
        con.executemany(
            "insert into quality.expectation_results by name select ? as run_id, ? as suite, "
            "? as expectation, ? as column_name, ? as severity, ? as success, "
            "? as observed_value, ? as validated_at, ? as layer",
            [
                (
                    run_id,
                    o.suite,
                    o.expectation,
                    o.column,
                    o.severity,
                    o.success,
                    o.observed,
                    now,
                    layer,
                )
                for o in outcomes
            ],
        )
        con.executemany(
            "insert into quality.table_volumes values (?, ?, ?, ?, ?, ?)",
            [(run_id, layer, table, n, passed, now) for table, n in row_counts.items()],
        )


def _mark_batches_validated(warehouse_path: Path, tables: list[str]) -> None:
    """Raw batches that passed: later gates check only newer ones row by row."""
    with duckdb.connect(str(warehouse_path)) as con:
        for table in tables:
            con.execute(
                f"""
                insert into quality.validated_batches
                select distinct '{table}', _batch_id, now() from {table}
                where _batch_id not in (
                    select batch_id from quality.validated_batches where table_name = '{table}'
                )
                """
            )
