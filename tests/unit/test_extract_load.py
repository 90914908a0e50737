"""The raw loader: every row accounted for, bad rows quarantined in place, no double loads."""

from __future__ import annotations

import json
import logging

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extract_load.load import SourceFileError, load_source

ORDERS_HEADER = "order_id,customer_id,email,ordered_at,status,amount,currency,channel,coupon"
ORDERS = [
    ORDERS_HEADER,
    "O1,C1,a@x.com,2026-01-01 10:00:00Z,completed,10.00,EUR,web,SPRING",  # line 2
    "O2,C2,b@x.com,2026-01-02 10:00:00+01:00,completed,N/A,EUR,web,",  # 3: amount unparseable
    "O3,C3,c@x.com,2026-01-03",  # 4: too few fields
    ",C4,d@x.com,2026-01-04 10:00:00Z,completed,5.00,EUR,app,",  # 5: empty order_id
    "O5,C5,e@x.com,not a date,completed,5.00,EUR,app,",  # 6: bad timestamp
    "O6,,guest@x.com,2026-01-06 10:00:00Z,refunded,7.50,EUR,web,",  # 7: guest order, fine
]


def _write_orders(landing, name="orders.csv", lines=ORDERS):
    path = landing / "shop" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def _rows(warehouse, sql):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_csv_rows_in_equal_loaded_plus_quarantined_with_lines_and_reasons(tmp_path, caplog):
    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    path = _write_orders(landing)
    with caplog.at_level(logging.WARNING):
        (result,) = load_source(warehouse, landing, "shop__orders")

    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (6, 2, 4)
    assert _rows(warehouse, "select order_id from raw.shop__orders order by 1") == [
        ("O1",),
        ("O6",),
    ]
    quarantined = _rows(
        warehouse,
        "select _source_file, line, column_name, reason from quarantine.shop__orders order by line",
    )
    assert [(line, column) for _, line, column, _ in quarantined] == [
        (3, "amount"),
        (4, "amount, channel, coupon, currency, status"),  # the fields the short line lacks
        (5, "order_id"),
        (6, "ordered_at"),
    ]
    assert all(file == str(path) for file, *_ in quarantined)
    reasons = [reason for *_, reason in quarantined]
    assert "N/A" in reasons[0] and "decimal" in reasons[0]
    assert "order_id" in reasons[2] and "not a date" in reasons[3]
    # Schema drift: the unknown column is kept; the missing optional ones load as null.
    assert _rows(
        warehouse, "select coupon, discount from raw.shop__orders where order_id = 'O1'"
    ) == [("SPRING", None)]
    assert "discount" in caplog.text and "coupon" in caplog.text


def test_values_padded_with_spaces_are_valid_and_a_padded_bad_value_is_not(tmp_path):
    """The checks cast without trimming first: the cast must still skip the spaces."""
    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    _write_orders(
        landing,
        lines=[
            ORDERS_HEADER,
            'P1,C1,a@x.com," 2026-01-01 10:00:00+01:00 ",completed," 10.00 ",EUR,web,',
            'P2,C2,b@x.com,"2026-01-02T10:00:00.250Z  ",completed,5.00,EUR,web,',
            'P3,C3,c@x.com," not a date ",completed,5.00,EUR,web,',
            'P4,C4,d@x.com,2026-01-04 10:00:00Z,completed," 1O.00 ",EUR,web,',
        ],
    )
    (result,) = load_source(warehouse, landing, "shop__orders")

    assert (result.rows_loaded, result.rows_quarantined) == (2, 2)
    assert _rows(warehouse, "select order_id from raw.shop__orders order by 1") == [
        ("P1",),
        ("P2",),
    ]
    assert _rows(
        warehouse, "select line, column_name from quarantine.shop__orders order by line"
    ) == [(4, "ordered_at"), (5, "amount")]


@pytest.mark.parametrize(
    ("ordered_at", "valid"),
    [
        ("2026-01-01T10:00:00.250Z", True),
        ("2026-01-01 10:00:00-05:30", True),
        ("2026-01-01 10:00:00+0100", True),
        ("2026-01-01 10:00+01", True),
        ("2026-01-01 10:00:00", True),  # no offset: UTC
        # DuckDB's timestamp parser takes the next three and ignores the zone (10:00 UTC);
        # PostgreSQL reads the first two in their zone and fails on the third.
        ("2026-01-01 10:00:00 Europe/Berlin", False),
        ("2026-01-01 10:00:00 Etc/GMT+5", False),
        ("2026-01-01 10:00:00 Foo/Bar", False),
        ("2026-01-01 10:00:00 +01:00", False),  # a space before the offset
        ("2026-01-01", False),  # no time of day
        ("2026-02-30 10:00:00Z", False),  # the shape, but no such day
    ],
)
def test_a_timestamptz_is_iso_8601_with_z_or_an_offset_and_never_a_zone_name(
    tmp_path, ordered_at, valid
):
    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    _write_orders(
        landing,
        lines=[ORDERS_HEADER, f"T1,C1,a@x.com,{ordered_at},completed,10.00,EUR,web,"],
    )
    (result,) = load_source(warehouse, landing, "shop__orders")

    assert (result.rows_loaded, result.rows_quarantined) == ((1, 0) if valid else (0, 1))
    if not valid:
        ((line, column, reason),) = _rows(
            warehouse, "select line, column_name, reason from quarantine.shop__orders"
        )
        assert (line, column) == (2, "ordered_at")
        assert ordered_at in reason and "timestamptz" in reason


def test_a_store_till_time_is_local_and_carries_no_zone(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    path = landing / "store" / "transactions.csv"
    path.parent.mkdir(parents=True)
    path.write_text(
        "transaction_id,store_id,transacted_at_local,amount\n"
        "S1,ST1,2026-01-01 10:00:00,5.00\n"
        "S2,ST1,2026-01-01 10:00:00+01:00,5.00\n"
        "S3,ST1,2026-01-01 10:00:00 Europe/Berlin,5.00\n"
    )
    load_source(warehouse, landing, "store__transactions")

    assert _rows(warehouse, "select transaction_id from raw.store__transactions") == [("S1",)]
    assert _rows(
        warehouse, "select line, column_name from quarantine.store__transactions order by 1"
    ) == [(3, "transacted_at_local"), (4, "transacted_at_local")]


@pytest.mark.parametrize(
    ("quantity", "unit_price", "invalid"),
    [
        ("2", "19.90", None),
        (" +3 ", "-0.5", None),
        ("1", ".50", None),
        ("1.5", "19.90", "quantity"),  # DuckDB's integer cast would round it to 2
        ("1e3", "19.90", "quantity"),
        ("0x10", "19.90", "quantity"),
        ("1_000", "19.90", "quantity"),
        ("1", "1e3", "unit_price"),
        ("1", "1,000.00", "unit_price"),
        ("1", "NaN", "unit_price"),
    ],
)
def test_a_number_is_plain_digits_as_every_warehouse_reads_them(
    tmp_path, quantity, unit_price, invalid
):
    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    path = landing / "shop" / "order_items.csv"
    path.parent.mkdir(parents=True)
    path.write_text(
        "order_id,line_number,product_id,quantity,unit_price\n"
        f'O1,1,P1,"{quantity}","{unit_price}"\n'
    )
    (result,) = load_source(warehouse, landing, "shop__order_items")

    assert result.rows_quarantined == (invalid is not None)
    if invalid:
        assert _rows(warehouse, "select line, column_name from quarantine.shop__order_items") == [
            (2, invalid)
        ]


def test_loading_the_same_file_twice_changes_nothing_and_a_new_file_adds_a_batch(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    _write_orders(landing)
    load_source(warehouse, landing, "shop__orders")
    before = _rows(warehouse, "select count(*) from raw.shop__orders")
    (again,) = load_source(warehouse, landing, "shop__orders")
    assert again.skipped
    assert _rows(warehouse, "select count(*) from raw.shop__orders") == before
    assert _rows(warehouse, "select count(*) from quarantine.shop__orders") == [(4,)]

    _write_orders(landing, "orders-2026-01-07.csv", [ORDERS_HEADER, ORDERS[1].replace("O1", "O7")])
    results = load_source(warehouse, landing, "shop__orders")
    assert [r.skipped for r in results] == [False, True]  # sorted: orders-2026… < orders.csv
    assert _rows(warehouse, "select count(*) from raw._loads") == [(2,)]
    assert _rows(warehouse, "select count(*) from raw.shop__orders") == [(3,)]


def test_files_loaded_side_by_side_land_as_if_loaded_one_after_another(tmp_path):
    """Two threads: the same rows, rejects, skips and new columns as one; `_loaded_at` still
    increases in file order, which staging uses to pick between versions of a row."""
    landing = tmp_path / "landing"
    _write_orders(landing, "orders-1.csv")
    _write_orders(landing, "orders-2.csv", [ORDERS_HEADER, ORDERS[1].replace("O1", "O7")])
    drifted = [ORDERS_HEADER + ",gift_note", ORDERS[1].replace("O1", "O8") + ",hi"]
    _write_orders(landing, "orders-3.csv", drifted)
    _write_orders(landing, "orders-4.csv")  # orders-1.csv again: skipped
    _write_orders(landing, "orders-5.csv", ORDERS[:3])
    columns = "* exclude (_loaded_at)"
    landed = {}
    for threads in (1, 2):
        warehouse = tmp_path / f"wh-{threads}.duckdb"
        results = load_source(warehouse, landing, "shop__orders", threads=threads)
        landed[threads] = (
            [(r.rows_in, r.rows_loaded, r.rows_quarantined, r.skipped) for r in results],
            _rows(warehouse, f"select {columns} from raw.shop__orders order by all"),
            _rows(warehouse, f"select {columns} from quarantine.shop__orders order by all"),
            _rows(warehouse, "select source_file from raw._loads order by loaded_at"),
        )
    assert landed[1] == landed[2]
    outcomes, rows, _, files = landed[2]
    assert [skipped for *_, skipped in outcomes] == [False, False, False, True, False]
    assert ("O8", "hi") in [(row[0], row[-1]) for row in rows]
    assert [f.rsplit("/", 1)[-1] for (f,) in files] == [
        "orders-1.csv",
        "orders-2.csv",
        "orders-3.csv",
        "orders-5.csv",
    ]


def test_missing_required_column_names_file_and_column(tmp_path):
    landing = tmp_path / "landing"
    _write_orders(landing, lines=[line.replace("status", "state") for line in ORDERS[:2]])
    with pytest.raises(SourceFileError, match=r"orders\.csv: required column\(s\) status missing"):
        load_source(tmp_path / "wh.duckdb", landing, "shop__orders")


def test_missing_required_source_fails_and_missing_optional_source_is_left_empty(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    landing.mkdir()
    with pytest.raises(SourceFileError, match=r"shop/orders\*\.csv"):
        load_source(warehouse, landing, "shop__orders")
    assert load_source(warehouse, landing, "email__events") == []
    assert _rows(warehouse, "select count(*) from raw.email__events") == [(0,)]


def test_json_lines_quarantine_broken_and_incomplete_events_and_keep_new_keys_as_columns(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    event = {
        "message_id": "m1",
        "anonymous_id": "a1",
        "type": "track",
        "event": "Product Viewed",
        "properties": {"product_id": "P1"},
        "timestamp": "2026-01-01T10:00:00.000Z",
    }
    lines = [
        json.dumps(event),  # 1
        json.dumps({**event, "message_id": "m2", "experiment": "b"}),  # 2: a key we don't know
        json.dumps(event)[:40],  # 3: truncated
        json.dumps({**event, "message_id": None}),  # 4: required key null
        json.dumps({**event, "message_id": "m5", "timestamp": "yesterday"}),  # 5
    ]
    path = landing / "web" / "events-0001.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n")

    (result,) = load_source(warehouse, landing, "web__events")

    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (5, 2, 3)
    loaded = _rows(
        warehouse, "select message_id, properties, experiment from raw.web__events order by 1"
    )
    assert loaded == [("m1", '{"product_id":"P1"}', None), ("m2", '{"product_id":"P1"}', '"b"')]
    assert _rows(
        warehouse, "select line, column_name, reason from quarantine.web__events order by line"
    ) == [
        (3, None, "not valid JSON"),
        (4, "message_id", "required column message_id is empty"),
        (5, "timestamp", "column timestamp: yesterday is not a valid timestamptz"),
    ]


def test_json_line_numbers_stay_true_after_an_unreadable_line(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    good = {"message_id": "m", "type": "page", "timestamp": "2026-01-01T10:00:00Z"}
    lines = [json.dumps({**good, "message_id": f"m{i}"}) for i in range(6)]
    lines[1] = '{"message_id": "x",\x1f "type": "page"}'  # a control character splits the line
    lines[4] = json.dumps({**good, "message_id": ""})
    path = landing / "web" / "events.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n")

    (result,) = load_source(warehouse, landing, "web__events")

    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (6, 4, 2)
    assert _rows(warehouse, "select line, reason from quarantine.web__events order by 1") == [
        (2, "not valid JSON"),
        (5, "required column message_id is empty"),
    ]


def test_parquet_rows_are_validated_like_any_other(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    (landing / "catalog").mkdir(parents=True)
    table = pa.table(
        {
            "product_id": ["P1", None, "P3"],
            "name": ["Shoe", "Sock", "Hat"],
            "category": ["shoes", "socks", "hats"],
            "price": [89.9, 4.5, 19.0],
        }
    )
    pq.write_table(table, landing / "catalog" / "products.parquet")

    (result,) = load_source(warehouse, landing, "catalog__products")

    assert (result.rows_loaded, result.rows_quarantined) == (2, 1)
    assert _rows(warehouse, "select line, column_name from quarantine.catalog__products") == [
        (2, "product_id")
    ]
    assert _rows(warehouse, "select price from raw.catalog__products order by 1") == [
        ("19.0",),
        ("89.9",),
    ]
