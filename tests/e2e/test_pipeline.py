"""The whole DAG through real Airflow on a temporary warehouse, checked against its sources."""

from __future__ import annotations

import json
import shutil
import threading
import time

import duckdb
import pandas as pd
import pytest

from demo_data.generate import generate
from extract_load.sources import SOURCES
from pipeline.airflow_runner import DagRunFailed, run_dag, run_pipeline
from tests.conftest import AS_OF, configure

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pipeline_run(module_settings):
    """The daily DAG, then the activation DAG its published segments trigger."""
    daily_log, _ = run_pipeline(module_settings, AS_OF)
    return module_settings, daily_log


def _query(settings, sql, params=None):
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql, params or []).df()


def _data_rows(path):
    """Rows a file delivers, counted without any parser: lines (less a CSV header), or
    Parquet's row count."""
    if path.suffix == ".parquet":
        return duckdb.sql(f"select count(*) from read_parquet('{path}')").fetchall()[0][0]
    lines = sum(1 for line in path.open("rb") if line.strip())
    return lines - 1 if path.suffix == ".csv" else lines


def test_every_source_row_is_loaded_or_quarantined(pipeline_run):
    settings, _ = pipeline_run
    dirt = json.loads((settings.truth_dir / "dirt.json").read_text())
    loads = _query(
        settings,
        "select source_table, sum(rows_in) as rows_in, sum(rows_loaded) as loaded, "
        "sum(rows_quarantined) as quarantined from raw._loads group by 1",
    ).set_index("source_table")
    for source in SOURCES:
        files = sorted(settings.landing_dir.glob(source.pattern))
        assert files, f"the demo company has no {source.pattern}"
        delivered = sum(_data_rows(path) for path in files)
        raw = _query(settings, f"select count(*) as n from raw.{source.table}").n[0]
        bad = _query(settings, f"select count(*) as n from quarantine.{source.table}").n[0]
        row = loads.loc[source.table]
        assert delivered == row.rows_in == raw + bad, source.table
        assert (row.loaded, row.quarantined) == (raw, bad), source.table
        expected_bad = dirt.get(source.table, {}).get("quarantine_expected", 0)
        assert bad == expected_bad, f"{source.table}: quarantined {bad}, planted {expected_bad}"


def test_every_person_has_exactly_one_segment(pipeline_run):
    settings, _ = pipeline_run
    segments = _query(settings, "select * from segments.customer_segments")
    people = _query(settings, "select person_id from marts.dim_customers")
    assert segments["person_id"].is_unique
    assert set(segments["person_id"]) == set(people["person_id"])
    assert segments["segment_name"].notna().all() and segments["segment_id"].notna().all()
    assert (segments["as_of_date"] == pd.Timestamp(AS_OF)).all()
    assert segments["segment_id"].nunique() >= 3
    # One name per segment id, and no two ids share a name.
    assert (segments.groupby("segment_id")["segment_name"].nunique() == 1).all()
    assert segments.drop_duplicates("segment_id")["segment_name"].is_unique
    # Every model output is published, and the memberships are kept in the history.
    for table in ("propensity_scores", "customer_value", "segment_profiles"):
        assert _query(settings, f"select count(*) as n from segments.{table}").n[0] > 0
    history = _query(settings, "select * from segments.membership_history")
    assert len(history) == len(segments) and set(history.as_of_date) == {pd.Timestamp(AS_OF)}


def _read_csvs(settings, pattern):
    frames = [
        pd.read_csv(path, dtype=str, keep_default_na=False, on_bad_lines="skip")
        for path in sorted(settings.landing_dir.glob(pattern))
    ]
    return pd.concat(frames, ignore_index=True)


def _sales_from_source_files(settings) -> pd.DataFrame:
    """Completed sales before the as-of date, online and in store, from the delivered files
    the way a notebook would clean them: (person_id, sold_at, amount)."""
    as_of = pd.Timestamp(AS_OF, tz="UTC")
    identifiers = _query(settings, "select * from marts.person_identifiers")
    person = {
        kind: group.set_index("identifier_value")["person_id"]
        for kind, group in identifiers.groupby("identifier_type")
    }

    orders = _read_csvs(settings, "shop/orders*.csv")
    orders["order_id"] = orders["order_id"].str.strip()
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"], utc=True, errors="coerce")
    orders["amount"] = pd.to_numeric(orders["amount"], errors="coerce")
    orders["updated_at"] = pd.to_datetime(orders["updated_at"], utc=True, errors="coerce")
    orders = orders[
        (orders["order_id"] != "") & orders["amount"].notna() & orders["ordered_at"].notna()
    ]
    orders = orders.sort_values("updated_at", na_position="first").drop_duplicates(
        "order_id", keep="last"
    )
    email = orders["email"].str.replace(r"\s+", "", regex=True).str.lower()
    orders["person_id"] = (
        orders["customer_id"].str.strip().map(person["crm_id"]).fillna(email.map(person["email"]))
    )
    online = orders[orders["status"].str.strip().str.lower() == "completed"]

    sales = _read_csvs(settings, "store/transactions*.csv")
    stores = _read_csvs(settings, "store/stores*.csv").set_index("store_id")["timezone"]
    sales["amount"] = pd.to_numeric(sales["amount"], errors="coerce")
    local = pd.to_datetime(sales["transacted_at_local"], errors="coerce")
    zone = sales["store_id"].str.strip().map(stores)
    sales["ordered_at"] = pd.concat(
        [
            local[zone == name]
            .dt.tz_localize(name, ambiguous="NaT", nonexistent="NaT")
            .dt.tz_convert("UTC")
            for name in zone.dropna().unique()
        ]
    ).reindex(sales.index)
    sales["person_id"] = sales["loyalty_id"].str.strip().str.upper().map(person["loyalty_id"])
    sales = sales[sales["amount"].notna()].drop_duplicates("transaction_id", keep="last")

    both = pd.concat([online, sales])[["person_id", "ordered_at", "amount"]]
    return both[both["person_id"].notna() & (both["ordered_at"] < as_of)]


def test_rfm_mart_agrees_with_pandas_on_the_source_files(pipeline_run):
    """An independent computation from the delivered files, the way a notebook would do it:
    frequency, monetary, recency and age (tenure) per person, online and store sales."""
    settings, _ = pipeline_run
    sales = _sales_from_source_files(settings)
    expected = sales.groupby("person_id").agg(
        frequency=("amount", "count"),
        monetary=("amount", "sum"),
        last=("ordered_at", "max"),
        first=("ordered_at", "min"),
    )
    as_of = pd.Timestamp(AS_OF)
    for column, when in (("recency_days", "last"), ("tenure_days", "first")):
        expected[column] = (as_of - expected[when].dt.tz_localize(None).dt.normalize()).dt.days

    mart = _query(settings, "select * from marts.customer_rfm where frequency > 0")
    assert set(mart["person_id"]) == set(expected.index)
    mart = mart.set_index("person_id").loc[expected.index]
    for column in ("frequency", "recency_days", "tenure_days"):
        differ = mart[column].to_numpy() != expected[column].to_numpy()
        assert not differ.any(), (column, mart[differ].head(3), expected[differ].head(3))
    assert abs(mart["monetary"].astype(float) - expected["monetary"]).max() < 0.005
    # Quintile scores: 1 + the fifth of the ranking a value starts in; equal values tie.
    for score, column, best_high in (
        ("r_score", "recency_days", False),
        ("f_score", "frequency", True),
        ("m_score", "monetary", True),
    ):
        values = expected[column].round(2) * (1 if best_high else -1)
        start = (values.rank(method="min") - 1) / (len(values) - 1)
        wanted = (1 + (5 * start + 1e-9).floordiv(1)).clip(upper=5).astype(int)
        assert (mart[score].to_numpy() == wanted.to_numpy()).all(), score
    assert (
        _query(
            settings, "select rfm_segment from marts.customer_rfm where frequency = 0"
        ).rfm_segment
        == "Prospects"
    ).all()


def test_quality_results_and_stage_timings_are_recorded(pipeline_run):
    settings, _ = pipeline_run
    quality = _query(settings, "select * from quality.expectation_results")
    critical = quality[quality["severity"] == "critical"]
    assert len(critical) >= 100 and critical["success"].all()
    stages = _query(settings, "select stage from ops.stage_runs")["stage"].tolist()
    loads = [f"extract_load:{s.table}" for s in SOURCES]
    assert stages[0] == "generate" and sorted(stages[1 : 1 + len(loads)]) == sorted(loads)
    assert stages[1 + len(loads) :] == [
        "quality_raw",
        "dbt_staging",
        "quality_staging",
        "dbt_marts",
        "quality_marts",
        "segmentation",
        "propensity",
        "value",
        "quality_outputs",
        "publish",
        "dbt_activation",
        "quality_activation",
        "activation_exports",
        "report",
    ]
    layers = set(_query(settings, "select distinct layer from quality.expectation_results").layer)
    assert layers == {"raw", "staging", "marts", "outputs", "activation"}
    assert settings.data_docs_index.exists()


def test_dbt_docs_describe_every_mart_column(pipeline_run):
    """`segments docs` builds the site, and BI users find every column of the marts and of
    the activation tables (customer_360, audiences) described."""
    from pipeline.dbt_runner import build_docs

    settings, _ = pipeline_run
    index = build_docs(settings)
    assert index.exists()
    catalog = json.loads((index.parent / "catalog.json").read_text())["nodes"]
    manifest = json.loads((index.parent / "manifest.json").read_text())["nodes"]
    marts = {
        uid: node
        for uid, node in manifest.items()
        if node["resource_type"] == "model" and node["schema"] in ("marts", "activation")
    }
    assert {"customer_rfm", "dim_customers", "customer_features", "customer_360"} <= {
        n["name"] for n in marts.values()
    }
    undocumented = [
        f"{node['name']}.{column}"
        for uid, node in marts.items()
        for column in (name.lower() for name in catalog[uid]["columns"])
        if not node["columns"].get(column, {}).get("description")
    ]
    assert not undocumented, undocumented
    assert all(node["description"] for node in marts.values())


# Tables that record the run itself (when it was built or trained) rather than the data.
RUN_RECORDS = {"marts.identity_graph_health", "segments.model_runs", "exports.export_runs"}
# Columns that record the load itself: when, in which batch, from which path. Equal on a
# re-run into the same warehouse; different in another warehouse loading the same files.
LOAD_RECORDS = {"_batch_id", "_loaded_at", "_source_file", "batch_id", "loaded_at", "source_file"}


def _checksums(settings, other_warehouse: bool = False) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent checksum (sum of row hashes) of every table of the
    data layers, run records excluded; load records too when comparing with a warehouse that
    loaded the same files separately."""
    columns = _query(
        settings,
        "select table_schema || '.' || table_name as name, list(column_name) as column_names "
        "from information_schema.columns "
        "where table_schema in ('raw', 'quarantine', 'staging', 'reference', 'marts', "
        "'segments', 'activation', 'exports') "
        "group by all",
    )
    sums = {}
    for name, names in zip(columns.name, columns.column_names, strict=True):
        if name in RUN_RECORDS:
            continue
        skip = [c for c in names if c in LOAD_RECORDS] if other_warehouse else []
        relation = f"(select * exclude ({', '.join(skip)}) from {name})" if skip else name
        # The sum as text: a HUGEINT would arrive as a lossy float, an empty table's as NaN.
        sums[name] = tuple(
            _query(
                settings,
                f"select count(*) as n, coalesce(cast(sum(hash(t)) as varchar), '') as h "
                f"from {relation} t",
            ).iloc[0]
        )
    return sums


def test_rerunning_the_date_gives_identical_tables(pipeline_run):
    """Idempotent per logical date: the same date again leaves every table as it was, row for
    row (loads skip files already loaded, models and marts are rebuilt to the same state, the
    saved models score the same people the same way)."""
    settings, _ = pipeline_run
    before = _checksums(settings)
    run_pipeline(settings, AS_OF)
    after = _checksums(settings)
    assert after.keys() == before.keys()
    changed = sorted(name for name in before if before[name] != after[name])
    assert not changed, f"tables changed by re-running {AS_OF}: {changed}"


def test_activation_writes_the_exports_and_the_report(pipeline_run):
    """The activation DAG's outputs: an export folder per destination and audience whose
    manifest agrees with its files, and the report page."""
    from activation.destinations import DESTINATIONS

    settings, _ = pipeline_run
    for destination in DESTINATIONS:
        for audience in destination.audiences:
            folder = settings.exports_dir / destination.name / audience
            manifest = json.loads((folder / "export.json").read_text())
            for name in ("members", "added", "removed"):
                assert manifest[name] == _data_rows(folder / f"{name}.parquet"), (folder, name)
                assert manifest[name] == _data_rows(folder / f"{name}.csv"), (folder, name)
            assert manifest["export_date"] == AS_OF.isoformat() and manifest["members"] > 0
    page = settings.report_path.read_text()
    assert page.startswith("<!DOCTYPE html>") or page.startswith("<!doctype html>")
    assert "<svg" in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_orders_alone_are_enough_for_the_whole_pipeline(pipeline_run, tmp_path, monkeypatch):
    full, _ = pipeline_run
    settings = configure(monkeypatch, tmp_path / "data")
    (settings.landing_dir / "shop").mkdir(parents=True)
    for path in full.landing_dir.glob("shop/orders*.csv"):
        shutil.copy(path, settings.landing_dir / "shop" / path.name)

    run_dag(settings, AS_OF)

    customers = _query(settings, "select count(*) as n from raw.crm__customers").n[0]
    segments = _query(settings, "select * from segments.customer_segments")
    # Without the CRM fewer identifiers link, so online buyers are at least as many persons.
    buyers = _query(
        full,
        "select count(distinct person_id) as n from marts.fct_orders "
        "where source = 'shop' and order_status = 'completed'",
    ).n[0]
    assert customers == 0
    assert len(segments) >= buyers and segments["person_id"].is_unique


def test_broken_expectation_stops_the_run_before_segments(tmp_path, monkeypatch):
    settings = configure(monkeypatch, tmp_path / "data")
    generate(settings.landing_dir, 800, settings.demo_seed, AS_OF, progress=False)
    # Corrupt the shop export: one customer's orders turn into large negative amounts.
    for orders_file in settings.landing_dir.glob("shop/orders*.csv"):
        orders = pd.read_csv(orders_file, dtype=str, keep_default_na=False, on_bad_lines="skip")
        victim = orders.loc[orders["status"] == "completed", "customer_id"].iloc[0]
        orders.loc[orders["customer_id"] == victim, "amount"] = "-500.00"
        orders.to_csv(orders_file, index=False)
        break

    with pytest.raises(DagRunFailed) as failure:
        run_dag(settings, AS_OF)

    log_text = (settings.airflow_home / f"dags-test-{AS_OF.isoformat()}.log").read_text()
    assert "quality gate failed (staging)" in log_text
    assert (
        "staging.stg_shop__orders: expect_column_values_to_be_between on column amount" in log_text
    )
    assert "customer_segmentation" in str(failure.value)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        tables = {
            row[0]
            for row in con.execute(
                "select table_schema || '.' || table_name from information_schema.tables"
            ).fetchall()
        }
        failed = con.execute(
            "select suite, column_name from quality.expectation_results "
            "where not success and severity = 'critical'"
        ).fetchall()
    assert "staging.stg_shop__orders" in tables
    assert "marts.customer_rfm" not in tables  # stopped before the marts were built
    assert "segments.customer_segments" not in tables
    assert failed == [("staging.stg_shop__orders", "amount")]


def test_a_failed_try_then_a_successful_retry_leaves_no_partial_data(
    pipeline_run, tmp_path, monkeypatch
):
    """A passing failure: another process (a BI tool, a second writer) holds the warehouse's
    write lock when the run starts. The first task fails after writing its files, Airflow
    retries it once the lock is gone, and the run ends with the very tables of a clean run."""
    clean, _ = pipeline_run
    settings = configure(monkeypatch, tmp_path / "data")
    settings.warehouse_path.parent.mkdir(parents=True)
    log_file = settings.airflow_home / f"dags-test-{AS_OF.isoformat()}.log"
    holder = duckdb.connect(str(settings.warehouse_path))  # the other writer
    run = threading.Thread(target=run_dag, args=(settings, AS_OF))
    run.start()
    try:
        deadline = time.monotonic() + 300
        while "Could not set lock on file" not in (
            log_file.read_text() if log_file.exists() else ""
        ):
            assert run.is_alive() and time.monotonic() < deadline, "the lock never got in the way"
            time.sleep(1)
    finally:
        holder.close()
    run.join()

    log_text = log_file.read_text()
    assert "Marking task as UP_FOR_RETRY" in log_text or "up_for_retry" in log_text
    runs = _query(settings, "select stage, count(*) as n from ops.stage_runs group by stage")
    assert (runs.n == 1).all(), "a stage recorded twice"
    # The clean run went on through activation; this one ran the daily DAG only.
    expected = {
        name: sums
        for name, sums in _checksums(clean, True).items()
        if not name.startswith(("activation.", "exports."))
    }
    got = _checksums(settings, True)
    assert got.keys() == expected.keys()
    differ = sorted(name for name in expected if expected[name] != got[name])
    assert not differ, f"tables differ from a clean run after the retry: {differ}"


def test_retrain_models_retrains_all_three_and_republishes(pipeline_run):
    """The weekly / on-drift DAG, run for real: new models on the latest features, gated and
    published; the same data and seed give the same segments as the daily run's."""
    settings, _ = pipeline_run
    before = _query(settings, "select * from segments.customer_segments order by person_id")
    run_dag(settings, AS_OF, dag_id="retrain_models")
    runs = _query(
        settings,
        "select kind, metrics->>'$.reason' as reason, metrics->>'$.retrained' as retrained "
        "from segments.model_runs where as_of_date = ?",
        [AS_OF],
    )
    assert sorted(runs.kind) == ["propensity", "segmentation", "value"]
    assert (runs.reason == "retraining forced").all() and (runs.retrained == "true").all()
    after = _query(settings, "select * from segments.customer_segments order by person_id")
    pd.testing.assert_frame_equal(before, after)
