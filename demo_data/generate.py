"""Write the demo company's source files into a landing zone, from a seed, in bounded memory.

Customers are generated in chunks; each chunk's rows are appended to the output files, so memory
stays flat whatever the scale. The same (customers, seed, end date) always gives the same files.

Files written (the landing-zone layout every loader reads):
    crm/customers.csv      CRM export: one row per CRM customer
    shop/orders.csv        shop orders, timestamps in UTC with offset
    _truth/persons.parquet hidden persona and the real next-30-day outcome (the pipeline never
                           reads it; tests and the benchmark do)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from demo_data.personas import PERSONAS

log = logging.getLogger(__name__)

CHUNK_CUSTOMERS = 100_000
FUTURE_DAYS = 30
FIRST_NAMES = np.array(
    "anna ben carla david eva felix greta hugo ida jonas lena max nora oskar paula rafael "
    "sofia tom ulla victor wanda xavier yara zoe".split()
)
LAST_NAMES = np.array(
    "muller schmidt garcia rossi dubois smith jansen novak kowalski silva berg larsen "
    "costa weber meyer fischer wagner becker hoffmann klein".split()
)
COUNTRIES = np.array(["DE", "FR", "NL", "ES", "IT", "GB"])
STATUSES = np.array(["completed", "cancelled", "refunded"])
STATUS_P = [0.92, 0.05, 0.03]

CUSTOMER_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("first_name", pa.string()),
        ("last_name", pa.string()),
        ("email", pa.string()),
        ("country", pa.string()),
        ("signup_date", pa.date32()),
        ("updated_at", pa.timestamp("s", tz="UTC")),
    ]
)
ORDER_SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("customer_id", pa.string()),
        ("ordered_at", pa.timestamp("s", tz="UTC")),
        ("status", pa.string()),
        ("amount", pa.float64()),
        ("currency", pa.string()),
        ("channel", pa.string()),
    ]
)


@dataclass(frozen=True)
class GeneratedCounts:
    customers: int
    orders: int


def _messy_emails(rng: np.random.Generator, clean: np.ndarray) -> np.ndarray:
    """Real CRM exports hold the same address in several spellings: vary case and pad spaces."""
    emails = clean.astype(object)
    upper = rng.random(len(clean)) < 0.10
    emails[upper] = np.char.upper(clean[upper].astype(str))
    capital = rng.random(len(clean)) < 0.10
    emails[capital] = np.char.capitalize(clean[capital].astype(str))
    padded = rng.random(len(clean)) < 0.05
    emails[padded] = np.char.add(np.char.add(" ", emails[padded].astype(str)), " ")
    return emails


def _chunk(
    rng: np.random.Generator,
    first_id: int,
    n: int,
    first_order_id: int,
    end: datetime,
    history_days: int,
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Generate n customers, their orders and their truth, all vectorised."""
    persona_idx = rng.choice(len(PERSONAS), size=n, p=[p.share for p in PERSONAS])
    rate = np.array([p.orders_per_year for p in PERSONAS])[persona_idx]
    value = np.array([p.order_value for p in PERSONAS])[persona_idx]
    app_share = np.array([p.app_share for p in PERSONAS])[persona_idx]
    lapsed = np.array([p.lapsed for p in PERSONAS])[persona_idx]
    new = np.array([p.new for p in PERSONAS])[persona_idx]
    # Individual taste around the persona's typical rate and basket.
    rate = rate * rng.lognormal(0.0, 0.25, n)
    value = value * rng.lognormal(0.0, 0.2, n)

    end_s = int(end.timestamp())
    day = 86_400
    signup_age = np.where(new, rng.uniform(1, 60, n), rng.uniform(90, history_days, n))
    signup_s = end_s - (signup_age * day).astype(np.int64)
    stop_age = np.where(lapsed, rng.uniform(180, 540, n), 0.0)
    stop_s = np.maximum(end_s - (stop_age * day).astype(np.int64), signup_s + day)
    active_years = (stop_s - signup_s) / (365.0 * day)
    n_orders = rng.poisson(rate * active_years)

    owner = np.repeat(np.arange(n), n_orders)
    total = len(owner)
    ordered_s = signup_s[owner] + (rng.random(total) * (stop_s - signup_s)[owner]).astype(np.int64)
    order_order = np.argsort(ordered_s, kind="stable")
    owner, ordered_s = owner[order_order], ordered_s[order_order]
    amount = np.round(value[owner] * rng.lognormal(0.0, 0.35, total), 2)
    channel = np.where(rng.random(total) < app_share[owner], "app", "web")
    status = rng.choice(STATUSES, size=total, p=STATUS_P)

    customer_ids = np.char.add("C", np.char.zfill(np.arange(first_id, first_id + n).astype(str), 7))
    first = rng.choice(FIRST_NAMES, n)
    last = rng.choice(LAST_NAMES, n)
    clean_email = np.char.add(
        np.char.add(np.char.add(np.char.add(first, "."), last), "."),
        np.char.add(np.arange(first_id, first_id + n).astype(str), "@example.com"),
    )
    customers = pa.table(
        {
            "customer_id": customer_ids,
            "first_name": np.char.capitalize(first),
            "last_name": np.char.capitalize(last),
            "email": _messy_emails(rng, clean_email),
            "country": rng.choice(COUNTRIES, n),
            "signup_date": (signup_s // day).astype("int32"),
            "updated_at": signup_s + rng.integers(0, 30 * day, n),
        },
        schema=CUSTOMER_SCHEMA,
    )
    order_ids = np.char.add(
        "O", np.char.zfill(np.arange(first_order_id, first_order_id + total).astype(str), 9)
    )
    orders = pa.table(
        {
            "order_id": order_ids,
            "customer_id": customer_ids[owner],
            "ordered_at": ordered_s,
            "status": status,
            "amount": amount,
            "currency": np.full(total, "EUR"),
            "channel": channel,
        },
        schema=ORDER_SCHEMA,
    )
    # The next 30 days: still-active customers keep their rate, lapsed ones almost stop.
    rate_now = np.where(lapsed, rate * 0.05, rate)
    p_purchase = 1.0 - np.exp(-rate_now * FUTURE_DAYS / 365.0)
    purchased = rng.random(n) < p_purchase
    spend = np.where(purchased, np.round(value * rng.lognormal(0.0, 0.35, n), 2), 0.0)
    truth = pa.table(
        {
            "true_person": customer_ids,
            "persona": np.array([p.name for p in PERSONAS])[persona_idx],
            "p_purchase_30d": p_purchase,
            "purchased_30d": purchased.astype("int8"),
            "spend_30d": spend,
        }
    )
    return customers, orders, truth


def generate(
    landing_dir: Path, customers: int, seed: int, end_date: date, history_days: int = 730
) -> GeneratedCounts:
    """Write all demo source files for `customers` customers with data up to `end_date` (excl.)."""
    end = datetime.combine(end_date, datetime.min.time(), tzinfo=UTC)
    paths = {
        "customers": landing_dir / "crm" / "customers.csv",
        "orders": landing_dir / "shop" / "orders.csv",
        "truth": landing_dir / "_truth" / "persons.parquet",
    }
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_customers = n_orders = 0
    writers: dict[str, pacsv.CSVWriter | pq.ParquetWriter] = {}
    try:
        for start in range(0, customers, CHUNK_CUSTOMERS):
            size = min(CHUNK_CUSTOMERS, customers - start)
            tables = _chunk(rng, start + 1, size, n_orders + 1, end, history_days)
            for key, table in zip(("customers", "orders", "truth"), tables, strict=True):
                if key not in writers:
                    writers[key] = (
                        pq.ParquetWriter(paths[key], table.schema)
                        if key == "truth"
                        else pacsv.CSVWriter(paths[key], table.schema)
                    )
                writers[key].write_table(table)
            n_customers += size
            n_orders += tables[1].num_rows
            log.info("generated %d/%d customers, %d orders", n_customers, customers, n_orders)
    finally:
        for writer in writers.values():
            writer.close()
    return GeneratedCounts(customers=n_customers, orders=n_orders)


def has_sources(landing_dir: Path) -> bool:
    """True when the landing zone already holds the files a run reads."""
    return (landing_dir / "crm" / "customers.csv").exists() and (
        landing_dir / "shop" / "orders.csv"
    ).exists()
