"""The shop's PostgreSQL database as a source, against a real PostgreSQL server.

`make postgres` (scripts/start_postgres.sh) starts a local one; `SEGMENTS_TEST_PG_DSN` points
elsewhere (tests/conftest.py must leave that variable set). Without a server these tests skip
locally and fail in CI (`CI` set), so CI can never pass by silently skipping them. Each test
works in its own PostgreSQL schema and warehouse.
"""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest
from psycopg import conninfo, sql

from extract_load import postgres
from extract_load.postgres import (
    PostgresSourceError,
    extract_incremental,
    load_shop_from_postgres,
    seed_shop_database,
)
from extract_load.sources import SOURCES_BY_TABLE

DEFAULT_DSN = "postgresql://segments:segments-local@127.0.0.1:5432/shop"
ORDERS = SOURCES_BY_TABLE["shop__orders"]
ITEMS = SOURCES_BY_TABLE["shop__order_items"]
N_ORDERS = 120
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def server_dsn() -> str:
    """The test server's DSN, or a skip (locally) / failure (CI) saying how to get one."""
    dsn = os.environ.get("SEGMENTS_TEST_PG_DSN", DEFAULT_DSN)
    try:
        with psycopg.connect(dsn, connect_timeout=5) as pg:
            pg.execute("select 1")
    except psycopg.OperationalError as error:
        shown = {k: v for k, v in conninfo.conninfo_to_dict(dsn).items() if k != "password"}
        message = f"PostgreSQL unreachable at {shown} ({error})"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run scripts/start_postgres.sh before the tests")
        pytest.skip(f"{message}; run `make postgres` to start a local one")
    return dsn


@pytest.fixture
def shop_dsn(server_dsn: str) -> Iterator[str]:
    """A DSN whose search path is a fresh schema of its own, dropped afterwards."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_dsn, autocommit=True) as pg:
        pg.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
    try:
        yield conninfo.make_conninfo(server_dsn, options=f"-c search_path={schema}")
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as pg:
            pg.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))


def _order(i: int) -> dict[str, str]:
    """A demo order row, with the variety real exports have (offsets, guests, no discount)."""
    ordered_at = START + timedelta(hours=7 * i, seconds=i)
    offset = ["Z", "+01:00", "-05:00"][i % 3]
    local = ordered_at + {"Z": timedelta(0), "+01:00": timedelta(hours=1)}.get(
        offset, timedelta(hours=-5)
    )
    return {
        "order_id": f"O{i:09d}",
        "customer_id": "" if i % 10 == 0 else f"C{i % 40:07d}",
        # one address with everything CSV must quote, and a non-ASCII letter
        "email": 'Zoë "Z", O\'Brien\n<zoe@example.com>' if i == 7 else f"buyer.{i}@example.com",
        "ordered_at": local.strftime("%Y-%m-%d %H:%M:%S") + offset,
        "status": ["completed", "cancelled", "refunded"][i % 3],
        "amount": f"{(i * 37) % 500 + 0.99:.2f}",
        "discount": "" if i % 4 else "5.00",
        "currency": "EUR",
        "channel": ["web", "app"][i % 2],
        # a third of the rows have no updated_at: the seed uses ordered_at
        "updated_at": ""
        if i % 3 == 1
        else (ordered_at + timedelta(minutes=5, microseconds=i)).isoformat(),
    }


def _write_demo_files(directory: Path) -> tuple[Path, Path]:
    """Orders and order lines in the contract's columns, with two malformed rows of each."""
    orders_csv, items_csv = directory / "orders.csv", directory / "order_items.csv"
    with orders_csv.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([c.name for c in ORDERS.columns])
        for i in range(1, N_ORDERS + 1):
            writer.writerow(_order(i).values())
        writer.writerow(["O999999991", "C0000001", "2026-03-01 10:00:00Z", "completed"])  # ragged
        writer.writerow(
            {**_order(1), "order_id": "O999999992", "amount": "12,5O"}.values()
        )  # amount not numeric
    with items_csv.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([c.name for c in ITEMS.columns])
        for i in range(1, N_ORDERS + 1):
            for line in range(1, i % 3 + 2):
                writer.writerow([f"O{i:09d}", line, f"P{(i + line) % 50:05d}", line, "19.90"])
        writer.writerow(["O000000001", "x", "P00001", "1", "1.00"])  # line_number not integer
        writer.writerow(["O999999991", "1", "P00001", "1", "1.00"])  # its order was malformed
    return orders_csv, items_csv


@pytest.fixture
def seeded(shop_dsn: str, tmp_path: Path) -> str:
    orders_csv, items_csv = _write_demo_files(tmp_path)
    results = seed_shop_database(shop_dsn, orders_csv, items_csv)
    assert [(r.table, r.rows_skipped) for r in results] == [("orders", 2), ("order_items", 2)]
    return shop_dsn


def _pg(dsn: str, query: str, params: list | None = None) -> list[tuple]:
    with psycopg.connect(dsn) as pg:
        pg.execute("set time zone 'UTC'")
        return pg.execute(query, params).fetchall()


def _pg_write(dsn: str, *statements: str) -> None:
    with psycopg.connect(dsn) as pg:
        for statement in statements:
            pg.execute(statement)


def _wh(warehouse: Path, query: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(query, params).fetchall()


def _load(dsn: str, tmp_path: Path):
    return load_shop_from_postgres(tmp_path / "wh.duckdb", dsn, tmp_path / "staging")


def test_full_load_round_trips_every_value(seeded: str, tmp_path: Path):
    results = _load(seeded, tmp_path)
    warehouse = tmp_path / "wh.duckdb"

    by_table = {r.table: r for r in results}
    assert set(by_table) == {"shop__orders", "shop__order_items"}
    pg_orders = _pg(
        seeded,
        "select order_id, customer_id, email, amount, discount, ordered_at, status, updated_at "
        "from orders order by order_id",
    )
    assert len(pg_orders) == N_ORDERS
    assert pg_orders[6][2] == 'Zoë "Z", O\'Brien\n<zoe@example.com>'
    assert by_table["shop__orders"].rows_loaded == N_ORDERS
    assert by_table["shop__orders"].rows_quarantined == 0
    raw_orders = _wh(
        warehouse,
        "select order_id, customer_id, email, amount, discount, ordered_at::timestamptz, "
        "status, updated_at::timestamptz from raw.shop__orders order by order_id",
    )
    # Same ids, amounts to the cent, the same instants (microseconds included), nulls as nulls.
    assert [
        (o, c, e, Decimal(a), None if d is None else Decimal(d), t, s, u)
        for o, c, e, a, d, t, s, u in raw_orders
    ] == pg_orders
    # Text as PostgreSQL wrote it: ISO 8601 with the UTC offset, numeric(18, 2) with its scale.
    (ordered_at, amount) = _wh(
        warehouse, "select ordered_at, amount from raw.shop__orders where order_id = 'O000000002'"
    )[0]
    assert ordered_at == "2026-03-01 23:00:02+00" and amount == "74.99"

    pg_items = _pg(seeded, "select order_id, line_number, quantity, unit_price from order_items")
    raw_items = _wh(
        warehouse,
        "select order_id, line_number::int, quantity::int, unit_price from raw.shop__order_items",
    )
    assert sorted((o, n, q, Decimal(p)) for o, n, q, p in raw_items) == sorted(pg_items)
    assert by_table["shop__order_items"].rows_loaded == len(pg_items)

    marks = dict(_wh(warehouse, "select source_table, high_water_mark from raw._cursors"))
    (max_updated,) = _pg(seeded, "select max(updated_at)::text from orders")[0]
    assert marks == {"shop__orders": max_updated, "shop__order_items": max_updated}
    origins = _wh(warehouse, "select origin from raw._loads order by source_table")
    assert all(o.startswith("postgresql://127.0.0.1:5432/shop/test_") for (o,) in origins)


def test_second_load_adds_only_new_and_changed_rows(seeded: str, tmp_path: Path):
    warehouse = tmp_path / "wh.duckdb"
    first = {r.table: r for r in _load(seeded, tmp_path)}
    (old_mark,) = _wh(
        warehouse, "select high_water_mark from raw._cursors where source_table = 'shop__orders'"
    )[0]

    _pg_write(
        seeded,
        "update orders set status = 'refunded', updated_at = updated_at + interval '1 year' "
        "where order_id in ('O000000003', 'O000000004', 'O000000005')",
        "insert into orders (order_id, ordered_at, status, amount, updated_at) values "
        "('O100000001', '2027-01-01 08:00+01', 'completed', 10.50, '2027-06-01 00:00:00.5Z'), "
        "('O100000002', '2027-01-02 08:00Z', 'completed', 20.00, '2027-06-02 00:00Z')",
        "insert into order_items values ('O100000001', 1, 'P00001', 3, 3.50)",
    )
    second = {r.table: r for r in _load(seeded, tmp_path)}

    orders, items = second["shop__orders"], second["shop__order_items"]
    assert orders.batch_id != first["shop__orders"].batch_id
    assert (orders.rows_loaded, orders.rows_quarantined) == (5, 0)
    new_rows = _wh(
        warehouse,
        "select order_id, status from raw.shop__orders where _batch_id = ? order by order_id",
        [orders.batch_id],
    )
    assert new_rows == [
        ("O000000003", "refunded"),
        ("O000000004", "refunded"),
        ("O000000005", "refunded"),
        ("O100000001", "completed"),
        ("O100000002", "completed"),
    ]
    assert _wh(warehouse, "select count(*) from raw.shop__orders")[0][0] == N_ORDERS + 5
    # Lines follow their order: every line of the three changed orders, and the new one.
    (expected_items,) = _pg(
        seeded,
        "select count(*) from order_items where order_id in "
        "('O000000003', 'O000000004', 'O000000005', 'O100000001')",
    )[0]
    assert items.rows_loaded == expected_items
    marks = dict(_wh(warehouse, "select source_table, high_water_mark from raw._cursors"))
    assert marks["shop__orders"] == "2027-06-02 00:00:00+00" != old_mark
    # The lines' mark is the newest order among the lines extracted (O100000002 has none yet),
    # kept to the microsecond as PostgreSQL wrote it.
    assert marks["shop__order_items"] == "2027-06-01 00:00:00.5+00"


def test_load_without_changes_adds_nothing(seeded: str, tmp_path: Path):
    warehouse = tmp_path / "wh.duckdb"
    _load(seeded, tmp_path)
    before = _wh(
        warehouse,
        "select (select count(*) from raw.shop__orders), "
        "(select count(*) from raw.shop__order_items), (select count(*) from raw._loads)",
    )
    staged = sorted((tmp_path / "staging").rglob("*"))

    assert _load(seeded, tmp_path) == []
    assert _load(seeded, tmp_path) == []

    after = _wh(
        warehouse,
        "select (select count(*) from raw.shop__orders), "
        "(select count(*) from raw.shop__order_items), (select count(*) from raw._loads)",
    )
    assert after == before == [(N_ORDERS, before[0][1], 2)]
    assert sorted((tmp_path / "staging").rglob("*")) == staged  # no empty extract files


def test_row_with_empty_required_value_goes_to_quarantine(seeded: str, tmp_path: Path):
    warehouse = tmp_path / "wh.duckdb"
    _load(seeded, tmp_path)
    # The shop's schema allows what the contract doesn't: a NULL status.
    _pg_write(
        seeded,
        "alter table orders alter column status drop not null",
        "insert into orders (order_id, ordered_at, status, amount, updated_at) values "
        "('O200000001', '2027-02-01 10:00Z', 'completed', 1.00, '2027-07-01 00:00Z'), "
        "('O200000002', '2027-02-01 11:00Z', null, 2.00, '2027-07-01 00:01Z'), "
        "('O200000003', '2027-02-01 12:00Z', 'completed', 3.00, '2027-07-01 00:02Z')",
    )
    (orders,) = [r for r in _load(seeded, tmp_path) if r.table == "shop__orders"]

    assert (orders.rows_in, orders.rows_loaded, orders.rows_quarantined) == (3, 2, 1)
    quarantined = _wh(
        warehouse,
        "select column_name, reason, raw_record from quarantine.shop__orders where _batch_id = ?",
        [orders.batch_id],
    )
    assert len(quarantined) == 1
    column, reason, record = quarantined[0]
    assert column == "status" and "status" in reason and "O200000002" in record
    loaded = _wh(
        warehouse,
        "select order_id from raw.shop__orders where _batch_id = ? order by 1",
        [orders.batch_id],
    )
    assert loaded == [("O200000001",), ("O200000003",)]
    # The mark moved past the quarantined row: it is not extracted again.
    assert _load(seeded, tmp_path) == []


def test_crash_between_load_and_mark_neither_loses_nor_doubles(
    seeded: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    warehouse = tmp_path / "wh.duckdb"
    real_load_file = postgres.load_file

    def load_then_die(*args, **kwargs):
        real_load_file(*args, **kwargs)
        raise RuntimeError("process killed after the batch committed")

    monkeypatch.setattr(postgres, "load_file", load_then_die)
    with pytest.raises(RuntimeError, match="killed"):
        _load(seeded, tmp_path)
    monkeypatch.setattr(postgres, "load_file", real_load_file)

    # Meanwhile the shop moves on. Were the crashed batch's mark lost, everything would be
    # extracted again (a different file, so a second copy of every order).
    _pg_write(
        seeded,
        "insert into orders (order_id, ordered_at, status, amount, updated_at) values "
        "('O300000001', '2027-03-01 10:00Z', 'completed', 1.00, '2027-08-01 00:00Z')",
    )
    _load(seeded, tmp_path)

    assert _wh(warehouse, "select count(*) from raw.shop__orders")[0][0] == N_ORDERS + 1
    (items,) = _pg(seeded, "select count(*) from order_items")[0]
    assert _wh(warehouse, "select count(*) from raw.shop__order_items")[0][0] == items
    pending = _wh(warehouse, "select count(*) from raw._cursors where pending_sha256 is not null")
    assert pending == [(0,)]
    assert _load(seeded, tmp_path) == []


def test_missing_columns(shop_dsn: str, tmp_path: Path):
    """An optional column the table lacks is null; a missing required one is named."""
    _pg_write(
        shop_dsn,
        "create table orders (order_id text, ordered_at timestamptz, status text, "
        "amount numeric(18, 2), updated_at timestamptz)",
        "insert into orders values ('O1', '2026-01-01Z', 'completed', 9.99, '2026-01-01Z')",
    )
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        result = extract_incremental(
            shop_dsn, con, ORDERS, "orders", staging_dir=tmp_path / "staging"
        )
        assert result is not None and result.rows_loaded == 1
        assert con.execute("select order_id, channel from raw.shop__orders").fetchall() == [
            ("O1", None)
        ]
    _pg_write(shop_dsn, "alter table orders drop column amount")
    with (
        duckdb.connect(str(tmp_path / "wh2.duckdb")) as con,
        pytest.raises(PostgresSourceError, match=r"orders lacks column amount"),
    ):
        extract_incremental(shop_dsn, con, ORDERS, "orders", staging_dir=tmp_path / "staging")
