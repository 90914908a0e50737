"""What a gated table must satisfy, as plain data: no GX import, so the DAG file and the
tests can read it cheaply.

Two kinds of checks, both validated by a GX checkpoint (expectations/gate.py):
- native GX expectations on a pandas frame of a few columns, where GX's own check is
  vectorised (row counts, uniqueness, not-null, sets and means on the per-person tables: a
  million rows of a few columns fit in memory);
- checks pushed down to SQL everywhere else: every check on the raw and staging tables, and
  the marts' value ranges (GX's pandas range check runs per value unless a column is exactly
  int64 or float64). Each is one aggregate over the table, computed by DuckDB in one scan,
  and GX validates the resulting one-row frame. Each says which column and which GX
  expectation it stands for, so a failure reads like a native one: table, column,
  expectation, observed value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CRITICAL = "critical"
WARNING = "warning"


@dataclass(frozen=True)
class SqlCheck:
    """`value` (an aggregate over the suite's rows, or a scalar subquery) must lie in
    [low, high]; None leaves that side open."""

    column: str | None  # the table's column the check is about; None for the whole table
    expectation: str  # the GX expectation this stands for, named in results and messages
    value: str
    low: float | None = 0
    high: float | None = 0
    severity: str = CRITICAL


@dataclass(frozen=True)
class TableSuite:
    """Everything the gate checks on one table."""

    table: str  # schema.name
    checks: tuple[SqlCheck, ...] = ()
    # Rows the SQL checks aggregate over and the frame holds (a FROM clause body); default:
    # the whole table. A check over the whole table anyway is a scalar subquery.
    scope: str | None = None
    # Native GX expectations on a frame of these columns (None: no frame is read).
    frame_columns: tuple[str, ...] | None = None
    expectations: Callable[[], list[Any]] = field(default=lambda: [])
    required: bool = True  # a missing table fails the gate; else it is a warning
    volume: bool = False  # row count within the tolerance of the last passed run's


def unique(column: str, severity: str = CRITICAL) -> SqlCheck:
    return SqlCheck(
        column,
        "expect_column_values_to_be_unique",
        f"count({column}) - count(distinct {column})",
        severity=severity,
    )


def not_null(column: str, severity: str = CRITICAL) -> SqlCheck:
    return SqlCheck(
        column,
        "expect_column_values_to_not_be_null",
        f"count(*) - count({column})",
        severity=severity,
    )


def matches(column: str, pattern: str, severity: str = CRITICAL) -> SqlCheck:
    """Non-null values that do not match the regular expression: none."""
    return SqlCheck(
        column,
        "expect_column_values_to_match_regex",
        f"count(*) filter (where {column} is not null "
        f"and not regexp_full_match({column}, '{pattern}'))",
        severity=severity,
    )


def between(
    column: str,
    low: float | None,
    high: float | None,
    where: str = "true",
    severity: str = CRITICAL,
) -> SqlCheck:
    """Values (of the rows `where` selects) outside [low, high]: none."""
    outside = " or ".join(
        part
        for part in (
            f"{column} < {low}" if low is not None else "",
            f"{column} > {high}" if high is not None else "",
        )
        if part
    )
    return SqlCheck(
        column,
        "expect_column_values_to_be_between",
        f"count(*) filter (where ({where}) and ({outside}))",
        severity=severity,
    )


def orphans(column: str, parent: str, parent_column: str, table: str) -> SqlCheck:
    """Values of `column` with no row in `parent`: none (a broken join upstream)."""
    return SqlCheck(
        column,
        "expect_column_values_to_be_in_set",
        f"(select count(*) from {table} as child where child.{column} is not null and not "
        f"exists (select 1 from {parent} as p where p.{parent_column} = child.{column}))",
    )
