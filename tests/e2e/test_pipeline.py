"""The whole DAG through real Airflow on a temporary warehouse, checked against its sources."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from demo_data.generate import generate
from pipeline.airflow_runner import DagRunFailed, run_dag
from tests.conftest import AS_OF, TEST_CUSTOMERS, configure

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pipeline_run(module_settings):
    log_file = run_dag(module_settings, AS_OF)
    return module_settings, log_file


def _query(settings, sql, params=None):
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql, params or []).df()


def _source(settings, relpath):
    return duckdb.sql(
        f"select * from read_csv('{settings.landing_dir / relpath}', all_varchar = true)"
    ).df()


def test_raw_row_counts_match_the_generated_sources(pipeline_run):
    settings, _ = pipeline_run
    customers = _source(settings, "crm/customers.csv")
    orders = _source(settings, "shop/orders.csv")
    counts = _query(
        settings,
        "select (select count(*) from raw.crm__customers) as customers, "
        "(select count(*) from raw.shop__orders) as orders, "
        "(select count(*) from quarantine.shop__orders) as quarantined",
    ).iloc[0]
    assert len(customers) == TEST_CUSTOMERS == counts.customers
    assert len(orders) == counts.orders and counts.quarantined == 0


def test_every_customer_has_exactly_one_segment(pipeline_run):
    settings, _ = pipeline_run
    segments = _query(settings, "select * from segments.customer_segments")
    customers = _source(settings, "crm/customers.csv")
    assert segments["person_id"].is_unique
    assert set(segments["person_id"]) == set(customers["customer_id"])
    assert segments["segment_name"].notna().all() and segments["segment_id"].notna().all()
    assert (segments["as_of_date"] == pd.Timestamp(AS_OF)).all()
    assert segments["segment_id"].nunique() >= 3
    # One name per segment id, and no two ids share a name.
    names = segments.groupby("segment_id")["segment_name"].nunique()
    assert (names == 1).all()
    assert segments.drop_duplicates("segment_id")["segment_name"].is_unique


def test_rfm_mart_agrees_with_a_pandas_computation_from_the_source_file(pipeline_run):
    settings, _ = pipeline_run
    orders = _source(settings, "shop/orders.csv")
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"], utc=True)
    orders["amount"] = orders["amount"].astype(float)
    done = orders[
        (orders["status"] == "completed") & (orders["ordered_at"] < pd.Timestamp(AS_OF, tz="UTC"))
    ]
    expected = done.groupby("customer_id").agg(
        frequency=("order_id", "count"), monetary=("amount", "sum"), last=("ordered_at", "max")
    )
    expected["recency_days"] = (
        pd.Timestamp(AS_OF) - expected["last"].dt.tz_localize(None).dt.normalize()
    ).dt.days

    mart = _query(settings, "select * from marts.customer_rfm where frequency > 0")
    mart = mart.set_index("person_id").loc[expected.index]
    assert (mart["frequency"].to_numpy() == expected["frequency"].to_numpy()).all()
    assert (mart["recency_days"].to_numpy() == expected["recency_days"].to_numpy()).all()
    assert abs(mart["monetary"].astype(float) - expected["monetary"]).max() < 0.005
    non_buyers = _query(settings, "select * from marts.customer_rfm where frequency = 0")
    assert len(non_buyers) == TEST_CUSTOMERS - len(expected)
    assert (non_buyers["rfm_segment"] == "Prospects").all()


def test_quality_results_and_stage_timings_are_recorded(pipeline_run):
    settings, _ = pipeline_run
    quality = _query(settings, "select * from quality.expectation_results")
    assert len(quality) >= 10 and quality["success"].all()
    stages = _query(settings, "select stage from ops.stage_runs")["stage"].tolist()
    assert stages == ["generate", "extract_load", "dbt_build", "quality_marts", "segmentation"]


def test_rerunning_the_date_duplicates_nothing(pipeline_run):
    settings, _ = pipeline_run
    tables = [
        "raw.crm__customers",
        "raw.shop__orders",
        "marts.customer_rfm",
        "segments.customer_segments",
    ]
    before = {t: _query(settings, f"select count(*) as n from {t}").n[0] for t in tables}
    run_dag(settings, AS_OF)
    after = {t: _query(settings, f"select count(*) as n from {t}").n[0] for t in tables}
    assert after == before


def test_broken_expectation_stops_the_run_before_segments(tmp_path, monkeypatch):
    settings = configure(monkeypatch, tmp_path / "data")
    generate(settings.landing_dir, TEST_CUSTOMERS, settings.demo_seed, AS_OF)
    # Corrupt the shop export: one customer's completed orders turn into large negative sums.
    orders_file = settings.landing_dir / "shop" / "orders.csv"
    orders = pd.read_csv(orders_file, dtype=str)
    victim = orders.loc[orders["status"] == "completed", "customer_id"].iloc[0]
    orders.loc[orders["customer_id"] == victim, "amount"] = "-500.00"
    orders.to_csv(orders_file, index=False)

    with pytest.raises(DagRunFailed) as failure:
        run_dag(settings, AS_OF)

    log_text = (settings.airflow_home / f"dags-test-{AS_OF.isoformat()}.log").read_text()
    assert "quality gate failed" in log_text
    assert "expect_column_values_to_be_between on column monetary" in log_text
    assert "customer_segmentation" in str(failure.value)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        tables = {
            row[0]
            for row in con.execute(
                "select table_schema || '.' || table_name from information_schema.tables"
            ).fetchall()
        }
        failed = con.execute(
            "select column_name from quality.expectation_results where not success"
        ).fetchall()
    assert "marts.customer_rfm" in tables
    assert "segments.customer_segments" not in tables
    assert failed == [("monetary",)]
