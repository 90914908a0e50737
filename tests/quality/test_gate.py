"""The GX gate: a clean mart passes; each defect fails it, named precisely, and is recorded."""

from __future__ import annotations

import duckdb
import pytest

from expectations.gate import QualityGateFailed, validate_table

TABLE = "marts.customer_rfm"


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "wh.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            """
            create table marts.customer_rfm as
            select
                'P' || lpad(i::varchar, 5, '0') as person_id,
                date '2026-11-25' as as_of_date,
                (i % 300)::bigint as recency_days,
                (1 + i % 7)::bigint as frequency,
                (10.5 * (1 + i % 9))::decimal(38, 2) as monetary,
                1 + i % 5 as r_score, 1 + (i // 5) % 5 as f_score, 1 + (i // 25) % 5 as m_score,
                'Champions' as rfm_segment
            from range(200) as t(i)
            """
        )
    return path


def _results(path, run_id):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "select expectation, column_name, success from quality.expectation_results "
            "where run_id = ?",
            [run_id],
        ).fetchall()


def test_clean_mart_passes_and_every_result_is_recorded(warehouse):
    outcomes = validate_table(warehouse, TABLE, "run-clean")
    assert outcomes and all(o.success for o in outcomes)
    assert len(_results(warehouse, "run-clean")) == len(outcomes)
    # Re-validating the same run replaces its rows rather than doubling them.
    validate_table(warehouse, TABLE, "run-clean")
    assert len(_results(warehouse, "run-clean")) == len(outcomes)


@pytest.mark.parametrize(
    ("defect", "column", "expectation"),
    [
        (
            "update marts.customer_rfm set person_id = null where recency_days = 3",
            "person_id",
            "expect_column_values_to_not_be_null",
        ),
        (
            "insert into marts.customer_rfm select * from marts.customer_rfm limit 5",
            "person_id",
            "expect_column_values_to_be_unique",
        ),
        (
            "update marts.customer_rfm set r_score = 9 where recency_days = 3",
            "r_score",
            "expect_column_values_to_be_between",
        ),
        (
            "update marts.customer_rfm set monetary = -1 where recency_days = 3",
            "monetary",
            "expect_column_values_to_be_between",
        ),
        ("delete from marts.customer_rfm", None, "expect_table_row_count_to_be_between"),
    ],
    ids=["null-key", "doubled-rows", "score-out-of-range", "negative-money", "empty"],
)
def test_defect_fails_the_gate_naming_table_column_and_check(
    warehouse, defect, column, expectation
):
    with duckdb.connect(str(warehouse)) as con:
        con.execute(defect)
    with pytest.raises(QualityGateFailed) as failure:
        validate_table(warehouse, TABLE, "run-bad")
    message = str(failure.value)
    assert TABLE in message and expectation in message
    if column:
        assert f"column {column}" in message
    failed = [(e, c) for e, c, ok in _results(warehouse, "run-bad") if not ok]
    assert (expectation, column) in failed


def test_warning_is_recorded_but_does_not_stop(warehouse):
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update marts.customer_rfm set frequency = 0")  # nobody bought: suspicious
    outcomes = validate_table(warehouse, TABLE, "run-warn")
    warned = [o for o in outcomes if not o.success]
    assert [(o.expectation, o.severity) for o in warned] == [
        ("expect_column_mean_to_be_between", "warning")
    ]
