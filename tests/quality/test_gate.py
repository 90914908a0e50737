"""The GX gates on a real warehouse: a clean one passes every layer; each injected defect
fails the right gate with a message naming the table, the column and the expectation."""

from __future__ import annotations

import shutil
from datetime import timedelta
from urllib.parse import quote

import duckdb
import pytest

from expectations.gate import LAYERS, QualityGateFailed, run_gate
from expectations.outputs import CANDIDATE
from tests.conftest import AS_OF, build_through_models

SEGMENTS = f"{CANDIDATE}.customer_segments"


@pytest.fixture(scope="module")
def built(module_settings):
    """A small demo company loaded, built by dbt and segmented (candidate tables written)."""
    build_through_models("build")
    return module_settings


@pytest.fixture
def warehouse(built, tmp_path):
    """A private copy of the built warehouse to break."""
    path = tmp_path / "wh.duckdb"
    shutil.copy(built.warehouse_path, path)
    return path


def _gate(path, layer, run_id="run-1", as_of=AS_OF):
    return run_gate(path, layer, run_id, as_of, path.parent / "quality")


def _execute(path, *statements):
    with duckdb.connect(str(path)) as con:
        for statement in statements:
            con.execute(statement)


def _results(path, run_id):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "select layer, suite, expectation, column_name, success, observed_value "
            "from quality.expectation_results where run_id = ?",
            [run_id],
        ).fetchall()


def test_a_clean_warehouse_passes_every_gate_and_every_result_is_recorded(warehouse):
    counts = {layer: len(_gate(warehouse, layer)) for layer in LAYERS}
    assert all(n >= 5 for n in counts.values()), counts
    rows = _results(warehouse, "run-1")
    assert len(rows) == sum(counts.values())
    assert {row[0] for row in rows} == set(LAYERS)
    assert (warehouse.parent / "quality" / "gx" / "uncommitted" / "data_docs").exists()
    # Re-validating a layer in the same run replaces its rows rather than doubling them.
    _gate(warehouse, "marts")
    assert len(_results(warehouse, "run-1")) == len(rows)


def test_data_docs_show_every_suite_and_every_result_of_every_run(warehouse):
    """Each gate renders its own suites and results (not the whole store again): after two
    runs' gates, every kept result and every suite has its page, and the index links them."""
    _gate(warehouse, "staging", run_id="run-1")
    _gate(warehouse, "marts", run_id="run-2")
    gx_root = warehouse.parent / "quality" / "gx"
    site = gx_root / "uncommitted" / "data_docs" / "local_site"
    results = list((gx_root / "uncommitted" / "validations").rglob("*.json"))
    result_pages = [p.relative_to(site) for p in (site / "validations").rglob("*.html")]
    suites = {p.relative_to(site).as_posix() for p in (site / "expectations").rglob("*.html")}
    assert len(results) >= 10
    assert len(result_pages) == len(results)
    for suite in ("staging/staging/stg_web__events:sql", "marts/marts/dim_customers"):
        assert f"expectations/{suite}.html" in suites, suites
    index = (site / "index.html").read_text()
    assert all(quote(page.as_posix()) in index for page in result_pages)


DEFECTS = [
    pytest.param(
        "raw",
        [
            "update raw.shop__orders set order_id = null "
            "where _source_row = (select min(_source_row) from raw.shop__orders)"
        ],
        "raw.shop__orders",
        "order_id",
        "expect_column_values_to_not_be_null",
        id="null key",
    ),
    pytest.param(
        "raw",
        ["insert into raw.web__events select * from raw.web__events"],
        "raw.web__events",
        None,
        "expect_table_row_count_to_equal_other_table",
        id="doubled load",
    ),
    pytest.param(
        "raw",
        ["drop table raw.shop__orders"],
        "raw.shop__orders",
        None,
        "expect_table_to_exist",
        id="missing source",
    ),
    pytest.param(
        "raw",
        [
            "update raw.web__events set timestamp = '2031-01-01T00:00:00Z' "
            "where _source_row = (select min(_source_row) from raw.web__events)"
        ],
        "raw.web__events",
        "timestamp",
        "expect_column_max_to_be_between",
        id="future timestamp",
    ),
    pytest.param(
        "raw",
        [
            "update raw.shop__orders set ordered_at = '2026-01-01 10:00:00 Europe/Berlin' "
            "where _source_row = (select min(_source_row) from raw.shop__orders)"
        ],
        "raw.shop__orders",
        "ordered_at",
        "expect_column_values_to_be_of_type:timestamptz",
        id="time with a zone name",  # DuckDB's timestamptz cast takes it; the contract doesn't
    ),
    pytest.param(
        "staging",
        [
            "alter table staging.stg_shop__orders rename to stg_shop__orders_ok",
            "create view staging.stg_shop__orders as select * from staging.stg_shop__orders_ok "
            "union all select * from staging.stg_shop__orders_ok where order_status = 'refunded'",
        ],
        "staging.stg_shop__orders",
        "order_id",
        "expect_column_values_to_be_unique",
        id="broken de-duplication",
    ),
    pytest.param(
        "marts",
        ["update marts.customer_rfm set r_score = 7 where frequency > 0"],
        "marts.customer_rfm",
        "r_score",
        "expect_column_values_to_be_between",
        id="out-of-range score",
    ),
    pytest.param(
        "marts",
        ["update marts.customer_features set email_open_rate = 1.5 where emails_delivered > 0"],
        "marts.customer_features",
        "email_open_rate",
        "expect_column_values_to_be_between",
        id="share above one",
    ),
    pytest.param(
        "marts",
        [
            "insert into marts.customer_features select * from marts.customer_features "
            "where as_of_date < (select max(as_of_date) from marts.customer_features) limit 1"
        ],
        "marts.customer_features",
        "person_id",
        "expect_compound_columns_to_be_unique:person_id,as_of_date",
        id="duplicated feature snapshot row",
    ),
    pytest.param(
        "marts",
        ["update marts.fct_orders set person_id = 'P-nobody' where person_id is not null"],
        "marts.fct_orders",
        "person_id",
        "expect_column_values_to_be_in_set",
        id="broken relationship",
    ),
    pytest.param(
        "outputs",
        [f"delete from {SEGMENTS}"],
        SEGMENTS,
        "person_id",
        "expect_column_values_to_be_in_set:every_person_segmented",
        id="empty segments",
    ),
    pytest.param(
        "outputs",
        [
            f"update {SEGMENTS} set segment_id = 99 "
            f"where person_id = (select min(person_id) from {SEGMENTS})"
        ],
        SEGMENTS,
        "segment_id",
        "expect_column_proportion_of_unique_values:min_segment_share",
        id="segment below minimum size",
    ),
    pytest.param(
        "outputs",
        [f"update {SEGMENTS} set model_version = null"],
        SEGMENTS,
        "model_version",
        "expect_column_values_to_not_be_null",
        id="model version missing",
    ),
]


@pytest.mark.parametrize(("layer", "defect", "table", "column", "expectation"), DEFECTS)
def test_each_defect_fails_its_gate_naming_table_column_and_expectation(
    warehouse, layer, defect, table, column, expectation
):
    _execute(warehouse, *defect)
    with pytest.raises(QualityGateFailed) as failure:
        _gate(warehouse, layer)
    on = f"column {column}" if column else "the table"
    assert f"{table}: {expectation} on {on} failed" in str(failure.value)
    failed = [row for row in _results(warehouse, "run-1") if not row[4]]
    assert (layer, table, expectation, column) in [row[:4] for row in failed]


def test_volume_drop_against_the_last_passed_run_fails(warehouse):
    _gate(warehouse, "marts", run_id="run-1")
    _execute(warehouse, "delete from marts.fct_orders where hash(order_id) % 10 < 7")  # 70% gone
    with pytest.raises(QualityGateFailed) as failure:
        _gate(warehouse, "marts", run_id="run-2")
    assert "marts.fct_orders: expect_table_row_count_to_be_between on the table" in str(
        failure.value
    )


def test_warnings_are_recorded_and_the_run_goes_on(warehouse):
    # Ten days later nothing new arrived: stale sources warn, but the gate passes.
    later = AS_OF + timedelta(days=10)
    _gate(warehouse, "raw", run_id="run-late", as_of=later)
    stale = [row for row in _results(warehouse, "run-late") if not row[4]]
    assert stale and all(row[2].endswith("days_old") for row in stale)


@pytest.mark.parametrize("rows", [1000, 0])
def test_sql_checks_are_one_row_whatever_they_aggregate(rows: int) -> None:
    """A suite whose only check is a scalar subquery (a relationship check) still validates
    one row of check values, not one per table row; an empty table gives one row too."""
    from expectations.checks import TableSuite, orphans
    from expectations.gate import _batches

    with duckdb.connect() as con:
        con.execute(f"create table orders as select range as person_id from range({rows})")
        con.execute("create table people as select range as person_id from range(10)")
        suite = TableSuite(
            "orders", checks=(orphans("person_id", "people", "person_id", "orders"),)
        )
        ((name, frame, expectations),) = _batches(con, suite, True, {}, 0.5)
    assert name == "orders:sql" and len(frame) == 1 and len(expectations) == 2
    assert frame.iloc[0].tolist() == [1, max(rows - 10, 0)]
