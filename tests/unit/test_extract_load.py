"""The raw loader: every row accounted for, bad lines quarantined in place, no double loads."""

from __future__ import annotations

import duckdb
import pytest

from demo_data.generate import generate
from extract_load.load import SourceFileError, load_all
from tests.conftest import AS_OF


@pytest.fixture
def landing(tmp_path):
    counts = generate(tmp_path / "landing", 300, seed=11, end_date=AS_OF)
    return tmp_path / "landing", counts


def _count(warehouse, table):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(f"select count(*) from {table}").fetchone()[0]


def test_loads_every_row_once_with_metadata(tmp_path, landing):
    landing_dir, counts = landing
    warehouse = tmp_path / "wh.duckdb"
    first = load_all(warehouse, landing_dir)
    second = load_all(warehouse, landing_dir)

    assert {r.table: r.rows_loaded for r in first} == {
        "crm__customers": counts.customers,
        "shop__orders": counts.orders,
    }
    assert all(r.skipped for r in second)
    assert _count(warehouse, "raw.shop__orders") == counts.orders
    with duckdb.connect(str(warehouse), read_only=True) as con:
        meta = con.execute(
            "select count(distinct _batch_id), min(_source_file) from raw.crm__customers"
        ).fetchone()
    assert meta == (1, str(landing_dir / "crm" / "customers.csv"))


def test_malformed_line_goes_to_quarantine_with_line_and_reason(tmp_path, landing):
    landing_dir, counts = landing
    orders = landing_dir / "shop" / "orders.csv"
    lines = orders.read_text().splitlines()
    lines.insert(5, '"O999999999","C0000001","2026-01-01 00:00:00Z","completed"')  # 4 of 7 fields
    orders.write_text("\n".join(lines) + "\n")
    warehouse = tmp_path / "wh.duckdb"

    load_all(warehouse, landing_dir)

    assert _count(warehouse, "raw.shop__orders") == counts.orders
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select _source_file, line, reason, raw_line from quarantine.shop__orders"
        ).fetchall()
        loads = con.execute(
            "select rows_loaded, rows_quarantined from raw._loads "
            "where source_table = 'shop__orders'"
        ).fetchone()
    assert len(rows) == 1
    source_file, line, reason, raw_line = rows[0]
    assert source_file == str(orders) and line == 6 and "O999999999" in raw_line
    assert reason
    # rows in = rows loaded + rows quarantined
    assert sum(loads) == len(lines) - 1


def test_missing_column_names_file_and_column(tmp_path, landing):
    landing_dir, _ = landing
    customers = landing_dir / "crm" / "customers.csv"
    customers.write_text(customers.read_text().replace('"email"', '"e_mail"', 1))
    with pytest.raises(SourceFileError, match=r"customers\.csv.*email"):
        load_all(tmp_path / "wh.duckdb", landing_dir)


def test_missing_file_is_named(tmp_path, landing):
    landing_dir, _ = landing
    (landing_dir / "shop" / "orders.csv").unlink()
    with pytest.raises(SourceFileError, match=r"orders\.csv"):
        load_all(tmp_path / "wh.duckdb", landing_dir)


def test_changed_file_is_a_new_batch(tmp_path, landing):
    landing_dir, _ = landing
    warehouse = tmp_path / "wh.duckdb"
    load_all(warehouse, landing_dir)
    generate(landing_dir, 300, seed=12, end_date=AS_OF)  # a new export with other content
    results = load_all(warehouse, landing_dir)
    assert not any(r.skipped for r in results)
    assert _count(warehouse, "raw._loads") == 4
