"""The dbt staging layer against the demo generator's truth: identifiers normalised exactly as
the truth normalises them, every planted duplicate, retry and bot handled, store times in UTC.

One small demo company is generated, loaded and built (`dbt build --select staging` and the
seed it needs) once for the module; each test then reads the warehouse.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pytest

from demo_data.generate import generate
from extract_load.load import load_all
from tests.conftest import AS_OF
from tests.dbt_cli import run_dbt

CUSTOMERS = 1500
SEED = 5


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(read-only connection to the built warehouse, the truth's dirt.json) for the module."""
    root = tmp_path_factory.mktemp("staging")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    generate(landing, CUSTOMERS, seed=SEED, end_date=AS_OF, progress=False)
    load_all(warehouse, landing)
    run_dbt(
        root,
        "build",
        "--target",
        "duckdb",
        "--select",
        "country_calling_codes staging",
        env={"SEGMENTS_WAREHOUSE": str(warehouse)},
    )
    dirt = json.loads((landing / "_truth" / "dirt.json").read_text())
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute(
            "create temp table truth as select * from read_parquet(?)",
            [str(landing / "_truth" / "identifiers.parquet")],
        ).fetchall()
        yield con, dirt


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple:
    return con.execute(sql, params or []).fetchall()[0]


# Every staging column that carries a normalised identifier, by the truth's identifier type.
IDENTIFIER_COLUMNS = {
    "email": [
        ("stg_crm__customers", "email"),
        ("stg_shop__orders", "email"),
        ("stg_email__events", "email"),
        ("stg_consent__consents", "email"),
        ("stg_consent__erasure_requests", "email"),
    ],
    "phone": [("stg_crm__customers", "phone")],
    "loyalty_id": [
        ("stg_crm__customers", "loyalty_id"),
        ("stg_store__transactions", "loyalty_id"),
    ],
}


@pytest.mark.parametrize("identifier_type", sorted(IDENTIFIER_COLUMNS))
def test_identifiers_are_normalised_exactly_like_the_truth(built, identifier_type):
    con, _ = built
    union = " union ".join(
        f"select {column} as value from staging.{model}"
        for model, column in IDENTIFIER_COLUMNS[identifier_type]
    )
    seen, in_truth = _one(
        con,
        f"""
        with staged as (select distinct value from ({union}) as staged where value is not null)
        select
            count(*),
            count(*) filter (where value in (
                select identifier_value from truth where identifier_type = ?
            ))
        from staged
        """,
        [identifier_type],
    )
    missing = con.execute(
        f"""
        select distinct value from ({union}) as staged
        where value is not null and value not in (
            select identifier_value from truth where identifier_type = ?
        )
        limit 5
        """,
        [identifier_type],
    ).fetchall()
    assert seen > 0
    assert in_truth == seen, f"{in_truth / seen:.2%} agree; e.g. not in the truth: {missing}"


@pytest.mark.parametrize(
    ("raw_table", "raw_column", "model", "column", "key"),
    [
        ("crm__customers", "phone", "stg_crm__customers", "phone", "customer_id"),
        ("crm__customers", "email", "stg_crm__customers", "email", "customer_id"),
        ("shop__orders", "email", "stg_shop__orders", "email", "order_id"),
        ("email__events", "email", "stg_email__events", "email", "event_id"),
    ],
)
def test_no_identifier_is_lost_in_normalisation(built, raw_table, raw_column, model, column, key):
    con, _ = built
    (lost,) = _one(
        con,
        f"""
        select count(*)
        from raw.{raw_table} as raw_rows
        join staging.{model} as staged on trim(raw_rows.{key}) = staged.{key}
        where trim(raw_rows.{raw_column}) <> '' and staged.{column} is null
        """,
    )
    assert lost == 0


def test_retried_events_are_removed(built):
    con, dirt = built
    raw_rows, raw_ids = _one(
        con, "select count(*), count(distinct message_id) from raw.web__events"
    )
    staged, staged_ids = _one(
        con, "select count(*), count(distinct message_id) from staging.stg_web__events"
    )
    assert raw_rows - dirt["web__events"]["retried_events"] == raw_ids
    assert staged == staged_ids == raw_ids


def test_the_first_received_copy_of_a_retried_event_is_kept(built):
    con, _ = built
    (later,) = _one(
        con,
        """
        select count(*)
        from staging.stg_web__events as staged
        join raw.web__events as raw_rows on raw_rows.message_id = staged.message_id
        where cast(raw_rows.received_at as timestamptz) < cast(staged.received_at as timestamptz)
        """,
    )
    assert later == 0


def test_bots_are_flagged_and_only_bots(built):
    con, dirt = built
    web = dirt["web__events"]
    bot_ids, bot_events = _one(
        con,
        "select count(distinct anonymous_id), count(*) from staging.stg_web__events where is_bot",
    )
    assert bot_ids == web["bot_anonymous_ids"] > 0
    assert bot_events == web["bot_events"]
    (not_truth_bots,) = _one(
        con,
        """
        select count(distinct anonymous_id) from staging.stg_web__events
        where is_bot and anonymous_id not in (
            select identifier_value from truth
            where identifier_type = 'anonymous_id' and true_person is null
        )
        """,
    )
    assert not_truth_bots == 0


def test_clock_skew_is_corrected_and_late_events_keep_their_time(built):
    con, _ = built
    end = datetime(AS_OF.year, AS_OF.month, AS_OF.day)
    skewed, late, off, after_end = _one(
        con,
        """
        select
            count(*) filter (where is_clock_skewed),
            count(*) filter (where is_late_arrival),
            -- corrected time: after the device's send delay (app batches: up to 30 s) and the
            -- network's, never after the server received the event
            count(*) filter (
                where not is_late_arrival
                and (occurred_at > received_at or occurred_at < received_at - interval 32 second)
            ),
            count(*) filter (where occurred_at >= ?)
        from staging.stg_web__events
        """,
        [end],
    )
    assert skewed > 0 and late > 0
    assert off == 0
    assert after_end == 0
    (uncorrected,) = _one(
        con,
        """
        select count(*) from staging.stg_web__events
        where is_clock_skewed and abs(date_diff('second', occurred_at, client_timestamp)) < 3000
        """,
    )
    assert uncorrected == 0


def test_duplicate_orders_and_lines_are_removed(built):
    con, dirt = built
    raw_rows, raw_orders = _one(
        con, "select count(*), count(distinct order_id) from raw.shop__orders"
    )
    (staged,) = _one(con, "select count(*) from staging.stg_shop__orders")
    assert staged == raw_orders == raw_rows - dirt["shop__orders"]["duplicate_rows"]
    raw_lines, raw_keys = _one(
        con,
        "select count(*), count(distinct (order_id, line_number)) from raw.shop__order_items",
    )
    (staged_lines,) = _one(con, "select count(*) from staging.stg_shop__order_items")
    assert staged_lines == raw_keys == raw_lines - dirt["shop__order_items"]["duplicate_rows"]


def test_crm_keeps_one_record_per_customer_id(built):
    con, _ = built
    (raw_ids,) = _one(con, "select count(distinct customer_id) from raw.crm__customers")
    (staged,) = _one(con, "select count(*) from staging.stg_crm__customers")
    assert staged == raw_ids


def test_store_times_are_utc_by_each_stores_zone(built):
    con, _ = built
    rows = con.execute(
        "select transacted_at, transacted_at_local, store_timezone "
        "from staging.stg_store__transactions"
    ).fetchall()
    assert rows
    end = datetime(AS_OF.year, AS_OF.month, AS_OF.day)
    wrong = []
    for utc, local, zone in rows:
        assert utc < end, "a sale after the end date"
        offset = utc.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).utcoffset()
        if local - utc != offset:
            wrong.append((utc, local, zone))
    assert not wrong, wrong[:5]
    offsets = {local - utc for utc, local, _ in rows}
    assert offsets == {timedelta(0), timedelta(hours=1), timedelta(hours=2)}
