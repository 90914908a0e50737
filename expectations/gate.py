"""Run a suite on a warehouse table as a GX checkpoint; record every result; stop on critical.

Route: GX validates a pandas batch read from DuckDB, not DuckDB through GX's SQL datasource,
because GX 1.24's SQLAlchemy engine silently fails every expectation on DuckDB (see README,
"Quality gates"). Tables gated here are one row per person, which fits in memory at the scales
we target; very large event tables will be aggregated or sampled in SQL first.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

log = logging.getLogger(__name__)


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


def _describe(outcome: ExpectationOutcome) -> str:
    column = f"column {outcome.column}" if outcome.column else "the table"
    return (
        f"{outcome.suite}: {outcome.expectation} on {column} failed (observed {outcome.observed})"
    )


def _observed(result: dict[str, Any]) -> str:
    if "observed_value" in result:
        return json.dumps(result["observed_value"], default=str)
    keys = ("unexpected_count", "unexpected_percent", "partial_unexpected_list")
    return json.dumps({k: result[k] for k in keys if k in result}, default=str)


def validate_table(warehouse_path: Path, table: str, run_id: str) -> list[ExpectationOutcome]:
    """Validate `table` with its suite, write the outcomes to `quality.expectation_results`.

    Raises QualityGateFailed naming each failed critical expectation (table, column, check).
    """
    import great_expectations as gx

    from expectations.suites import SUITES

    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        frame = con.table(table).df()

    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_pandas("warehouse")
        .add_dataframe_asset(name=table)
        .add_batch_definition_whole_dataframe("whole_table")
    )
    suite = context.suites.add(SUITES[table]())
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{table}_validation", data=batch, suite=suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name=f"{table}_gate", validation_definitions=[validation])
    )
    result = checkpoint.run(batch_parameters={"dataframe": frame})

    outcomes = []
    for suite_result in result.run_results.values():
        for item in suite_result.results:
            config = item.expectation_config
            if item.exception_info and item.exception_info.get("raised_exception"):
                raise RuntimeError(
                    f"{table}: GX could not evaluate {config.type}: "
                    f"{item.exception_info.get('exception_message')}"
                )
            outcomes.append(
                ExpectationOutcome(
                    suite=table,
                    expectation=config.type,
                    column=config.kwargs.get("column"),
                    severity=(config.meta or {}).get("severity", "critical"),
                    success=bool(item.success),
                    observed=_observed(item.result or {}),
                )
            )
    _record(warehouse_path, run_id, outcomes)

    warnings = [o for o in outcomes if not o.success and o.severity != "critical"]
    for outcome in warnings:
        log.warning("quality warning: %s", _describe(outcome))
    failures = [o for o in outcomes if not o.success and o.severity == "critical"]
    if failures:
        raise QualityGateFailed(
            "quality gate failed:\n" + "\n".join(f"  - {_describe(o)}" for o in failures)
        )
    log.info("%s: %d expectations passed", table, len(outcomes) - len(warnings))
    return outcomes


def _record(warehouse_path: Path, run_id: str, outcomes: list[ExpectationOutcome]) -> None:
    """Keep one row per expectation per run so quality can be charted over time."""
    validated_at = datetime.now(UTC)
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
        suites = {o.suite for o in outcomes}
        con.execute(
            "delete from quality.expectation_results where run_id = ? and suite in "
            "(select unnest(?))",
            [run_id, list(suites)],
        )
        con.executemany(
            "insert into quality.expectation_results values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    run_id,
                    o.suite,
                    o.expectation,
                    o.column,
                    o.severity,
                    o.success,
                    o.observed,
                    validated_at,
                )
                for o in outcomes
            ],
        )
