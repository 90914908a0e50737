"""Raw layer suite, derived from the landing-zone contract (extract_load/sources.py): what the
loader promises, checked again on the warehouse, so a load that bypassed or broke the loader
cannot reach dbt.

Row-level checks read only the batches no raw gate has passed yet (`quality.validated_batches`),
so the gate's cost follows the day's delivery, not the table's history. The manifest check
reads every batch, but only its row count per batch.
"""

from __future__ import annotations

from datetime import date, timedelta

from expectations.checks import WARNING, SqlCheck, TableSuite
from extract_load.sources import DUCKDB_TYPES, SOURCES, Source, invalid_value_sql

# A timestamp later than the as-of date plus this is a wrong clock or a wrong format.
FUTURE_TOLERANCE = timedelta(days=1)
# The newest event of the newest batch should be at most this many days old (a warning
# only: a quiet source is not wrong). None: the source has no daily rhythm.
FRESHNESS_DAYS = {"consent__erasure_requests": None, "email__events": 14}
DEFAULT_FRESHNESS_DAYS = 3

_TIME_TYPES = ("timestamptz", "timestamp", "date")


def _parsed(column: str, type_: str) -> str:
    # The cast skips surrounding spaces itself: trimming first copied every value and made
    # the check twice as slow (1.6M web-event timestamps: 0.30 s against 0.16 s).
    return f"try_cast({column} as {DUCKDB_TYPES[type_]})"


def source_suite(source: Source, as_of_date: date) -> TableSuite:
    table = f"raw.{source.table}"
    new_rows = (
        f"{table} where _batch_id not in (select batch_id from quality.validated_batches "
        f"where table_name = '{table}')"
    )
    checks: list[SqlCheck] = [
        SqlCheck(
            None,
            "expect_table_row_count_to_equal_other_table",
            f"(select count(*) from (select _batch_id, count(*) as n from {table} group by 1) "
            f"as loaded full join (select batch_id, rows_loaded from raw._loads where "
            f"source_table = '{source.table}') as manifest on loaded._batch_id = "
            f"manifest.batch_id where loaded.n is distinct from manifest.rows_loaded)",
        ),
        SqlCheck(
            "_source_row",
            "expect_compound_columns_to_be_unique",
            "count(*) - count(distinct (_batch_id, _source_row))",
        ),
    ]
    future = (as_of_date + FUTURE_TOLERANCE).isoformat()
    event_time = next((c for c in source.columns if c.type in _TIME_TYPES and c.required), None)
    for column in source.required_columns:
        checks.append(
            SqlCheck(
                column.name,
                "expect_column_values_to_not_be_null",
                f"count(*) filter (where trim(coalesce({column.name}, '')) = '')",
            )
        )
        if column.type not in ("text", "json"):
            checks.append(
                SqlCheck(
                    column.name,
                    f"expect_column_values_to_be_of_type:{column.type}",
                    f"count(*) filter (where {invalid_value_sql(column.name, column.type)})",
                )
            )
        if column.type in _TIME_TYPES:
            checks.append(
                SqlCheck(
                    column.name,
                    "expect_column_max_to_be_between",
                    f"count(*) filter (where {_parsed(column.name, column.type)} "
                    f"> timestamp '{future}')",
                )
            )
    freshness = FRESHNESS_DAYS.get(source.table, DEFAULT_FRESHNESS_DAYS)
    if event_time is not None and freshness is not None:
        latest_batch = (
            f"select batch_id from raw._loads where source_table = '{source.table}' "
            "order by loaded_at desc limit 1"
        )
        checks.append(
            SqlCheck(
                event_time.name,
                "expect_column_max_to_be_between:days_old",
                f"(select date_diff('day', max({_parsed(event_time.name, event_time.type)}), "
                f"date '{as_of_date.isoformat()}') from {table} "
                f"where _batch_id = ({latest_batch}))",
                low=None,
                high=freshness,
                severity=WARNING,
            )
        )
    return TableSuite(
        table=table,
        checks=tuple(checks),
        scope=new_rows,
        required=source.required,
    )


def suites(as_of_date: date) -> list[TableSuite]:
    return [source_suite(source, as_of_date) for source in SOURCES]
