"""The demo generator: reproducible, true to the contract and its truth, dirty where it says so.

The checks recount everything from the files themselves (plain csv/json parsing), so dirt.json
and identifiers.parquet are held to what a loader will actually see.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from demo_data import geography
from demo_data.generate import generate, generated_with, generator_record, has_sources
from demo_data.personas import PERSONAS
from extract_load.sources import SOURCES, SOURCES_BY_TABLE, Source
from tests.conftest import AS_OF

END = datetime.combine(AS_OF, datetime.min.time(), tzinfo=UTC)
SKEW_MIN = timedelta(minutes=30)  # sent_at vs received_at: more than this is a device clock


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    counts = generate(landing, 3000, seed=3, end_date=AS_OF, progress=False)
    return landing, counts


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _files(landing: Path, source: Source) -> list[Path]:
    return sorted(landing.glob(source.pattern))


def _csv(landing: Path, table: str) -> tuple[list[str], list[list[str]], int]:
    """Header, well-formed rows and the number of lines with the wrong number of fields."""
    header: list[str] = []
    rows: list[list[str]] = []
    malformed = 0
    for path in _files(landing, SOURCES_BY_TABLE[table]):
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            for row in reader:
                if len(row) == len(header):
                    rows.append(row)
                else:
                    malformed += 1
    return header, rows, malformed


def _records(landing: Path, table: str) -> list[dict[str, str]]:
    header, rows, _ = _csv(landing, table)
    return [dict(zip(header, row, strict=True)) for row in rows]


def _events(landing: Path) -> tuple[list[dict], int]:
    """Parsed web events and the number of lines that are not JSON."""
    events, broken = [], 0
    for path in _files(landing, SOURCES_BY_TABLE["web__events"]):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                broken += 1
    return events, broken


def _moment(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


_PARSERS = {
    "text": lambda v: True,
    "integer": lambda v: re.fullmatch(r"-?\d+", v) is not None,
    "decimal": lambda v: re.fullmatch(r"-?\d+(\.\d+)?", v) is not None,
    "date": lambda v: _moment(v) is not None,
    "timestamp": lambda v: (m := _moment(v)) is not None and m.tzinfo is None,
    "timestamptz": lambda v: (m := _moment(v)) is not None and m.tzinfo is not None,
    "json": lambda v: True,
}


def _rejected(source: Source, record: dict) -> bool:
    """What the loader must quarantine: a required value missing or not of its type."""
    for column in source.required_columns:
        value = record.get(column.name)
        if value is None or value == "":
            return True
        if not _PARSERS[column.type](value if isinstance(value, str) else str(value)):
            return True
    return False


def _e164(phone: str, country: str) -> str:
    """Staging's job, done the slow way: any spelling to +<country code><number>."""
    text = phone.replace("(0)", "")
    digits = re.sub(r"\D", "", text)
    if text.strip().startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    spec = geography.COUNTRIES[geography.CODES.index(country)]
    if spec.trunk and digits.startswith(spec.trunk):
        digits = digits[len(spec.trunk) :]
    return "+" + spec.calling_code + digits


def _dirt(landing: Path) -> dict[str, dict[str, int]]:
    return json.loads((landing / "_truth" / "dirt.json").read_text())


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path):
    generate(tmp_path / "a", 300, seed=7, end_date=AS_OF, progress=False)
    generate(tmp_path / "b", 300, seed=7, end_date=AS_OF, progress=False)
    generate(tmp_path / "c", 300, seed=8, end_date=AS_OF, progress=False)
    first = _digest(tmp_path / "a")
    assert first == _digest(tmp_path / "b")
    other = _digest(tmp_path / "c")
    assert first.keys() == other.keys()
    assert all(first[k] != other[k] for k in first if not k.startswith(("catalog", "store/stores")))


def test_regenerating_replaces_the_files_and_has_sources_sees_orders(tmp_path):
    assert not has_sources(tmp_path)
    generate(tmp_path, 300, seed=1, end_date=AS_OF, progress=False)
    assert has_sources(tmp_path)
    # What wrote them is recorded, so the benchmark never reuses another generator's files.
    assert generated_with(tmp_path) == generator_record(300, 1, AS_OF, 730)
    before = _digest(tmp_path)
    generate(tmp_path, 300, seed=1, end_date=AS_OF, progress=False)
    assert _digest(tmp_path) == before


def test_every_source_follows_the_contract(demo):
    landing, counts = demo
    assert set(counts.rows) == {s.table for s in SOURCES}
    for source in SOURCES:
        files = _files(landing, source)
        assert files, f"{source.table}: no file matches {source.pattern}"
        names = [c.name for c in source.columns]
        if source.format != "parquet":  # a blank line is no row to a reader: never write one
            assert all(line.strip() for f in files for line in f.open("rb")), source.table
        if source.format == "csv":
            header, rows, malformed = _csv(landing, source.table)
            assert header == names, source.table
            assert counts.rows[source.table] == len(rows) + malformed, source.table
        elif source.format == "jsonl":
            events, broken = _events(landing)
            assert all(list(e) == names for e in events)
            assert counts.rows[source.table] == len(events) + broken
        else:
            table = pq.read_table(files[0])
            assert table.column_names == names
            assert counts.rows[source.table] == table.num_rows
    assert counts.orders == counts.rows["shop__orders"]
    assert counts.customers == 3000
    # About 55 million rows at a million customers: order-rich personas, so that each one leaves
    # a learnable trace (see demo_data/personas.py); web events are about half of it.
    assert 45 <= counts.total_rows / counts.customers <= 65


def test_web_events_look_like_segment(demo):
    landing, _ = demo
    events, _ = _events(landing)
    products = set(
        pq.read_table(landing / "catalog" / "products.parquet")["product_id"].to_pylist()
    )
    kinds = Counter((e["type"], e["event"]) for e in events)
    for pair in [
        ("page", None),
        ("identify", None),
        ("track", "Product Viewed"),
        ("track", "Added to Cart"),
        ("track", "Checkout Started"),
        ("track", "Order Completed"),
    ]:
        assert kinds[pair] > 0, pair
    for event in events:
        if event["timestamp"] != "not a date":
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["timestamp"])
        if event["event"] in ("Product Viewed", "Added to Cart"):
            assert event["properties"]["product_id"] in products
            assert event["properties"]["category"]
        if event["type"] == "identify":
            assert event["user_id"] and event["anonymous_id"]
        assert "userAgent" in event["context"]
    # Funnel: fewer events at each step down.
    funnel = ("Product Viewed", "Added to Cart", "Checkout Started", "Order Completed")
    steps = [kinds[("track", name)] for name in funnel]
    assert steps == sorted(steps, reverse=True)


def test_orders_lines_and_amounts_agree(demo):
    landing, _ = demo
    orders = {r["order_id"]: r for r in _records(landing, "shop__orders") if r["order_id"]}
    lines = {(r["order_id"], r["line_number"]): r for r in _records(landing, "shop__order_items")}
    gross: Counter[str] = Counter()
    for item in lines.values():
        gross[item["order_id"]] += round(int(item["quantity"]) * float(item["unit_price"]) * 100)
    priced = [o for o in orders.values() if o["amount"] != "N/A"]
    assert len(priced) > 1000
    for order in priced:
        cents = round((float(order["amount"]) + float(order["discount"])) * 100)
        assert cents == gross[order["order_id"]], order
    offsets = Counter(r["ordered_at"][-6:] for r in orders.values() if r["ordered_at"][-1] != "Z")
    assert {"+01:00", "+00:00"} <= set(offsets)


def test_truth_names_every_identifier_in_the_files(demo):
    landing, _ = demo
    persons = pd.read_parquet(landing / "_truth" / "persons.parquet")
    ids = pd.read_parquet(landing / "_truth" / "identifiers.parquet")
    assert persons["true_person"].is_unique and len(persons) == 3000
    assert set(persons["persona"]) == {p.name for p in PERSONAS}
    assert persons["p_purchase_30d"].between(0, 1).all()
    assert set(persons["purchased_30d"]) <= {0, 1}
    assert ((persons["spend_30d"] > 0) == (persons["purchased_30d"] == 1)).all()
    assert not ids.duplicated(["identifier_type", "identifier_value"]).any()
    people = set(persons["true_person"])
    assert set(ids["true_person"].dropna()) <= people
    assert set(ids.loc[ids["true_person"].isna(), "identifier_type"]) == {"anonymous_id"}  # bots

    seen: dict[str, set[str]] = {k: set() for k in set(ids["identifier_type"])}

    def add(kind: str, value: str | None) -> None:
        if value:
            seen[kind].add(value.strip().lower() if kind == "email" else value)

    for record in _records(landing, "crm__customers"):
        add("crm_id", record["customer_id"])
        add("email", record["email"])
        add("loyalty_id", record["loyalty_id"])
        if record["phone"]:
            add("phone", _e164(record["phone"], record["country"]))
    for table in ("shop__orders", "consent__consents", "consent__erasure_requests"):
        for record in _records(landing, table):
            add("crm_id", record["customer_id"])
            add("email", record["email"])
    for record in _records(landing, "email__events"):
        add("email", record["email"])
    for record in _records(landing, "store__transactions"):
        add("loyalty_id", record["loyalty_id"])
    for event in _events(landing)[0]:
        add("anonymous_id", event["anonymous_id"])
        add("user_id", event["user_id"])
    for kind, values in seen.items():
        truth = set(ids.loc[ids["identifier_type"] == kind, "identifier_value"])
        assert values == truth, kind
    assert all(re.fullmatch(r"\+\d{9,14}", p) for p in seen["phone"])
    assert seen["user_id"] <= people  # user id = the primary CRM id
    # About 3% of people have a second CRM record under another id.
    assert 0.015 < (len(seen["crm_id"]) - len(people)) / len(people) < 0.05


def test_personas_drive_behaviour(demo):
    landing, _ = demo
    persons = pd.read_parquet(landing / "_truth" / "persons.parquet").set_index("true_person")
    ids = pd.read_parquet(landing / "_truth" / "identifiers.parquet")
    owner = {
        kind: dict(zip(group["identifier_value"], group["true_person"], strict=True))
        for kind, group in ids.groupby("identifier_type")
    }
    orders = pd.DataFrame(_records(landing, "shop__orders"))
    orders = orders[(orders["order_id"] != "") & orders["ordered_at"].str.match(r"\d{4}-")]
    orders = orders.drop_duplicates("order_id")
    orders["person"] = orders["email"].str.strip().str.lower().map(owner["email"])
    orders["month"] = orders["ordered_at"].str[5:7]
    sales = pd.DataFrame(_records(landing, "store__transactions"))
    sales["person"] = sales["loyalty_id"].map(owner["loyalty_id"])
    events = pd.DataFrame(_events(landing)[0])
    events["person"] = events["anonymous_id"].map(owner["anonymous_id"])

    persona = persons["persona"]
    size = persona.value_counts()
    per_person = lambda frame: frame["person"].map(persona).value_counts() / size  # noqa: E731
    online, store, web = per_person(orders), per_person(sales), per_person(events)
    assert online["loyal_high_value"] > 5 * online["occasional_browser"]
    assert store["store_only"] > 5 * online["store_only"]  # store-only people buy at the till
    assert store["store_only"] > 3 * store.drop("store_only").max()
    events_per_order = web / online
    assert events_per_order["occasional_browser"] > 3 * events_per_order["loyal_high_value"]
    by_persona = orders.assign(persona=orders["person"].map(persona)).groupby("persona")
    discounted = by_persona["discount"].apply(lambda d: (d.astype(float) > 0).mean())
    assert discounted["bargain_hunter"] > 2 * discounted["regular"]
    holiday = by_persona["month"].apply(lambda m: m.isin(["11", "12"]).mean())
    assert holiday["seasonal"] > 0.5 > holiday["regular"]
    lapsing = orders[orders["person"].map(persona) == "lapsing"]
    assert lapsing["ordered_at"].str[:10].max() < str(AS_OF - timedelta(days=170))
    crm = pd.DataFrame(_records(landing, "crm__customers")).drop_duplicates("customer_id")
    crm = crm.set_index("customer_id")
    new = crm.reindex(persona.index[persona == "new_customer"])["signup_date"].dropna()
    assert (new >= str(AS_OF - timedelta(days=61))).all()
    chance = persons.groupby("persona")["p_purchase_30d"].mean()
    assert chance["loyal_high_value"] > 3 * chance["occasional_browser"]
    assert chance["lapsing"] < chance["regular"]


def test_dirt_counts_match_the_files(demo):
    landing, _ = demo
    dirt = _dirt(landing)
    for source in SOURCES:
        if source.format != "csv":
            continue
        header, rows, malformed = _csv(landing, source.table)
        records = [dict(zip(header, row, strict=True)) for row in rows]
        rejected = sum(_rejected(source, r) for r in records)
        counted = dirt[source.table]
        assert counted["quarantine_expected"] == malformed + rejected, source.table
        assert counted.get("malformed_lines", 0) == malformed, source.table
        if "duplicate_rows" in counted:
            assert counted["duplicate_rows"] == len(rows) - len({tuple(r) for r in rows})

    orders = _records(landing, "shop__orders")
    shop = dirt["shop__orders"]
    assert shop["refunded_orders"] == sum(r["status"] == "refunded" for r in orders)
    assert shop["guest_orders"] == sum(r["customer_id"] == "" for r in orders)
    assert shop["empty_order_id"] == sum(r["order_id"] == "" for r in orders) >= 1
    assert shop["bad_amount"] == sum(r["amount"] == "N/A" for r in orders) >= 1
    assert shop["bad_ordered_at"] == sum(_moment(r["ordered_at"]) is None for r in orders) >= 1
    assert 0.07 < shop["guest_orders"] / len(orders) < 0.13
    assert shop["duplicate_rows"] >= 1 and shop["malformed_lines"] >= 1

    crm = _records(landing, "crm__customers")
    customers = dirt["crm__customers"]
    assert customers["missing_phone"] == sum(r["phone"] == "" for r in crm) > 0
    assert customers["birth_date_dd_mm_yyyy"] == sum("/" in r["birth_date"] for r in crm) >= 1
    assert customers["empty_customer_id"] >= 1 and customers["malformed_lines"] >= 1
    assert customers["duplicate_rows"] >= 1
    mixed = sum(r["email"] != r["email"].strip().lower() for r in crm)
    assert customers["email_mixed_case_or_spaces"] == mixed > 0.1 * len(crm)

    web = dirt["web__events"]
    events, broken = _events(landing)
    assert web["truncated_json"] == broken >= 1
    assert web["null_message_id"] == sum(e["message_id"] is None for e in events) >= 1
    assert web["bad_timestamp"] == sum(_moment(e["timestamp"]) is None for e in events) >= 1
    assert web["quarantine_expected"] == broken + sum(
        _rejected(SOURCES_BY_TABLE["web__events"], e) for e in events
    )
    ids = [e["message_id"] for e in events if e["message_id"]]
    assert web["retried_events"] == len(ids) - len(set(ids)) > 0.01 * len(events)
    bots = [e for e in events if re.search(r"bot|crawler", e["context"]["userAgent"], re.I)]
    assert web["bot_events"] == len(bots)
    assert web["bot_anonymous_ids"] == len({e["anonymous_id"] for e in bots}) >= 2
    per_id = Counter(e["anonymous_id"] for e in events)
    bot_ids = {e["anonymous_id"] for e in bots}
    busiest_person = max(n for a, n in per_id.items() if a not in bot_ids)
    assert min(per_id[b] for b in bot_ids) > busiest_person
    lag = [_moment(e["received_at"]) - _moment(e["sent_at"]) for e in events]
    assert web["late_events"] == sum(d > timedelta(hours=20) for d in lag)
    assert web["clock_skew"] == sum(SKEW_MIN < abs(d) <= timedelta(hours=20) for d in lag)

    assert dirt["email__events"]["duplicate_rows"] >= 1
    assert dirt["consent__erasure_requests"]["erasure_requests"] >= 1


def test_nothing_happens_at_or_after_the_end_date(demo):
    """Only device clocks running fast (planted clock skew) may show a later timestamp."""
    landing, _ = demo
    for source in SOURCES:
        if source.format != "csv":
            continue
        timed = [c for c in source.columns if c.type in ("date", "timestamp", "timestamptz")]
        for record in _records(landing, source.table):
            for column in timed:
                moment = _moment(record[column.name])
                if moment is None:  # empty, or a planted unparseable value
                    continue
                if column.type == "timestamptz":
                    assert moment < END, (source.table, record)
                elif column.type == "timestamp":
                    assert moment < END.replace(tzinfo=None), (source.table, record)
                else:
                    assert moment.date() < AS_OF, (source.table, record)
    for event in _events(landing)[0]:
        received, sent = _moment(event["received_at"]), _moment(event["sent_at"])
        assert received < END
        moment = _moment(event["timestamp"])
        if moment is not None and moment >= END:
            assert sent - received > SKEW_MIN  # a device clock running fast
