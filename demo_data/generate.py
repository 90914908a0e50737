"""Write the demo company's source files into a landing zone, from a seed, in bounded memory.

Every source of the landing-zone contract (extract_load/sources.py) is written with the
contract's file pattern and columns, plus the ground truth under `_truth/`:

    crm/customers.csv                 store/stores.csv           email/events.csv
    shop/orders.csv                   store/transactions.csv     consent/consents.csv
    shop/order_items.csv              web/events-00001.jsonl ... consent/erasure_requests.csv
    catalog/products.parquet          _truth/persons.parquet, identifiers.parquet, dirt.json

People are generated in chunks of CHUNK_PEOPLE; each chunk's rows are appended to the CSV files
and its clickstream goes to its own JSON-lines part, so memory stays flat whatever the scale.
Every chunk draws from its own random streams, so the same (customers, seed, end date, history)
always gives byte-identical files. Nothing real happens at or after midnight UTC of the end
date; the only timestamps past it are planted device clocks running fast (see web.py).
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum
from pathlib import Path

import numpy as np
from tqdm import tqdm

from demo_data import consent, crm, dirt, formats, identity, mailing, shop, store, truth, web
from demo_data.catalog import Catalog, make_catalog
from demo_data.timeline import Timeline
from demo_data.writers import CsvFile, ParquetFile
from extract_load.sources import SOURCES, SOURCES_BY_TABLE

log = logging.getLogger(__name__)

CHUNK_PEOPLE = 50_000
TRUTH_DIR = "_truth"
# Raise when the same arguments would now write a different company (personas, dirt, truth):
# sources written by an older generator are then not reused (see `generated_with`).
GENERATOR_VERSION = 2
# The CSV files every run writes (the clickstream gets one JSON-lines part per chunk).
CSV_FILES = {
    "crm__customers": "crm/customers.csv",
    "shop__orders": "shop/orders.csv",
    "shop__order_items": "shop/order_items.csv",
    "store__transactions": "store/transactions.csv",
    "email__events": "email/events.csv",
    "consent__consents": "consent/consents.csv",
    "consent__erasure_requests": "consent/erasure_requests.csv",
}


class Stream(IntEnum):
    """Independent random streams per chunk: changing one source leaves the others alone."""

    PEOPLE = 1
    CONSENT = 2
    ORDERS = 3
    STORE = 4
    MAIL = 5
    WEB = 6
    WEB_TEXT = 7
    ORDER_ROWS = 8
    STORE_ROWS = 9
    MAIL_ROWS = 10
    CONSENT_ROWS = 11
    ERASURE_ROWS = 12
    CRM = 13
    FUTURE = 14


@dataclass(frozen=True)
class GeneratedCounts:
    customers: int  # people (each has a primary CRM record)
    orders: int  # lines in shop/orders*.csv, planted duplicates and bad lines included
    rows: dict[str, int]  # raw table -> data lines (records) written, planted ones included

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def has_sources(landing_dir: Path) -> bool:
    """True when the landing zone holds shop orders (the one source a run cannot do without)."""
    return any(Path(landing_dir).glob(SOURCES_BY_TABLE["shop__orders"].pattern))


def generated_with(landing_dir: Path) -> dict | None:
    """The generator version and arguments that wrote the landing zone's demo sources, or
    None when they are not the generator's (or predate this record)."""
    path = Path(landing_dir) / TRUTH_DIR / "generator.json"
    return json.loads(path.read_text()) if path.exists() else None


def generator_record(customers: int, seed: int, end_date: date, history_days: int) -> dict:
    return {
        "version": GENERATOR_VERSION,
        "customers": customers,
        "seed": seed,
        "end_date": end_date.isoformat(),
        "history_days": history_days,
    }


def generate(
    landing_dir: Path,
    customers: int,
    seed: int,
    end_date: date,
    history_days: int = 730,
    progress: bool = True,
) -> GeneratedCounts:
    """Write all demo sources for `customers` people, with data ending before `end_date`."""
    landing_dir = Path(landing_dir)
    landing_dir.mkdir(parents=True, exist_ok=True)
    _clear(landing_dir)
    run = _Run(landing_dir, customers, seed, Timeline.build(end_date, history_days))
    bar = tqdm(
        total=customers, unit="people", desc="demo data", disable=not progress, file=sys.stderr
    )
    try:
        run.write_reference_data()
        for chunk, start in enumerate(range(0, customers, CHUNK_PEOPLE)):
            size = min(CHUNK_PEOPLE, customers - start)
            run.write_chunk(chunk, start, size)
            bar.update(size)
    finally:
        bar.close()
        run.close()
    report = run.ledger.report([source.table for source in SOURCES])
    dirt_path = landing_dir / TRUTH_DIR / "dirt.json"
    dirt_path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    record = generator_record(customers, seed, end_date, history_days)
    (landing_dir / TRUTH_DIR / "generator.json").write_text(json.dumps(record, indent=2) + "\n")
    rows = {source.table: run.rows[source.table] for source in SOURCES}
    log.info(
        "generated %d people, %d source rows in %s", customers, sum(rows.values()), landing_dir
    )
    return GeneratedCounts(customers=customers, orders=rows["shop__orders"], rows=rows)


def _clear(landing_dir: Path) -> None:
    """Remove source and truth files a previous generation left (parts may be fewer now)."""
    for source in SOURCES:
        for path in landing_dir.glob(source.pattern):
            path.unlink()
    for name in ("persons.parquet", "identifiers.parquet", "dirt.json", "generator.json"):
        (landing_dir / TRUTH_DIR / name).unlink(missing_ok=True)


@dataclass
class _Run:
    """What one generation shares across chunks: files, id counters, dirt and truth."""

    landing_dir: Path
    customers: int
    seed: int
    timeline: Timeline
    catalog: Catalog = field(init=False)
    ledger: dirt.DirtLedger = field(default_factory=dirt.DirtLedger)
    rows: dict[str, int] = field(default_factory=dict)
    next_number: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.catalog = make_catalog(self.seed)
        self.campaigns = mailing.campaign_ids(self.timeline)
        self.id_width = identity.customer_id_width(self.customers)
        self.total_bots = max(2, round(self.customers * dirt.RATES["bots_per_customer"]))
        self.next_number = {"order": 1, "sale": 1, "mail": 1, "erasure": 1}
        self.next_number["second"] = self.customers + 1  # second CRM records follow the primaries
        self.rows["web__events"] = 0
        self.files = {
            table: CsvFile(self.landing_dir / path, SOURCES_BY_TABLE[table])
            for table, path in CSV_FILES.items()
        }
        truth_dir = self.landing_dir / TRUTH_DIR
        self.persons = ParquetFile(truth_dir / "persons.parquet", truth.PERSONS_SCHEMA)
        self.identifiers = ParquetFile(truth_dir / "identifiers.parquet", truth.IDENTIFIERS_SCHEMA)

    def close(self) -> None:
        for handle in (*self.files.values(), self.persons, self.identifiers):
            handle.close()
        self.rows.update({table: handle.lines for table, handle in self.files.items()})

    def write_reference_data(self) -> None:
        """The catalog and the stores: the same for every chunk."""
        products = ParquetFile(
            self.landing_dir / "catalog" / "products.parquet", self.catalog.table.schema
        )
        products.write(self.catalog.table)
        products.close()
        self.rows["catalog__products"] = products.rows
        self.ledger.add("catalog__products", "missing_brand", self.catalog.missing_brands)
        stores = CsvFile(
            self.landing_dir / "store" / "stores.csv", SOURCES_BY_TABLE["store__stores"]
        )
        stores.write(store.stores_part())
        stores.close()
        self.rows["store__stores"] = stores.lines

    def _bots(self, start: int, size: int) -> int:
        """This chunk's share of the bots (shares add up to the total exactly)."""
        total, customers = self.total_bots, self.customers
        return round(total * (start + size) / customers) - round(total * start / customers)

    def write_chunk(self, chunk: int, start: int, size: int) -> None:
        """Generate and write one chunk of people and everything they did."""

        def rng(stream: Stream) -> np.random.Generator:
            return np.random.default_rng([self.seed, chunk, int(stream)])

        first, timeline, catalog, ledger = chunk == 0, self.timeline, self.catalog, self.ledger
        number = self.next_number
        people = identity.make_people(rng(Stream.PEOPLE), start + 1, size, timeline, self.id_width)
        seen = truth.Sightings(size, len(people.device_kind))

        rights = consent.make_consent(rng(Stream.CONSENT), people, timeline, first)
        orders = shop.make_orders(rng(Stream.ORDERS), people, catalog, timeline, number["order"])
        number["order"] += len(orders)
        sales = store.make_store_sales(rng(Stream.STORE), people, catalog, timeline, number["sale"])
        number["sale"] += len(sales)
        mail = mailing.make_mail(rng(Stream.MAIL), people, rights, timeline)

        clicks, devices = web.make_clickstream(
            rng(Stream.WEB),
            people,
            orders,
            catalog,
            timeline,
            self._bots(start, size),
            ledger,
            first,
        )
        path = self.landing_dir / "web" / f"events-{chunk + 1:05d}.jsonl"
        self.rows["web__events"] += web.write_clickstream(
            path, rng(Stream.WEB_TEXT), clicks, devices, people, catalog
        )
        people_events = clicks.device < devices.n_people_devices
        seen.saw("device", clicks.device[people_events])
        seen.saw("device_linked", clicks.device[people_events & (clicks.user >= 0)])
        seen.saw("user_id", clicks.user[clicks.user >= 0])
        bot_ids = formats.from_matrix(devices.anonymous_id[devices.n_people_devices :])
        del clicks

        order_part, item_part = shop.order_parts(
            rng(Stream.ORDER_ROWS), orders, people, catalog, ledger, first
        )
        self.files["shop__orders"].write(order_part)
        self.files["shop__order_items"].write(item_part)
        seen.saw("email", orders.owner)
        seen.saw("crm_id", orders.owner[~orders.guest])

        self.files["store__transactions"].write(
            store.sales_part(rng(Stream.STORE_ROWS), sales, people, ledger, first)
        )
        seen.saw("loyalty_id", sales.owner[sales.card_shown])

        self.files["email__events"].write(
            mailing.mail_part(
                rng(Stream.MAIL_ROWS), mail, people, self.campaigns, number["mail"], ledger, first
            )
        )
        number["mail"] += len(mail)
        seen.saw("email", mail.person)

        consents, by_id, by_email = consent.consent_part(
            rng(Stream.CONSENT_ROWS), rights, mail.unsubscribed_s, people, ledger, first
        )
        self.files["consent__consents"].write(consents)
        seen.saw("crm_id", by_id)
        seen.saw("email", by_email)
        erasures, by_id, by_email = consent.erasure_part(
            rng(Stream.ERASURE_ROWS), rights, people, number["erasure"]
        )
        self.files["consent__erasure_requests"].write(erasures)
        number["erasure"] += erasures.table.num_rows
        ledger.add("consent__erasure_requests", "erasure_requests", erasures.table.num_rows)
        seen.saw("crm_id", by_id)
        seen.saw("email", by_email)

        records = crm.crm_part(
            rng(Stream.CRM), people, timeline, number["second"], self.id_width, ledger, first
        )
        number["second"] += records.n_second
        self.files["crm__customers"].write(records.part)
        seen.saw("crm_id", records.person[~records.second & records.has_id])
        seen.saw("email", records.person[records.has_email])
        seen.saw("phone", records.person[records.has_phone])
        seen.saw("loyalty_id", records.person[records.has_loyalty])
        seen.saw("loyalty_linked", records.person[records.has_loyalty])
        seconds = records.second & records.has_id
        seen.saw_second(records.second_number[seconds], records.person[seconds])

        self.persons.write(truth.persons_table(rng(Stream.FUTURE), people, catalog, timeline))
        self.identifiers.write(truth.identifiers_table(people, seen, bot_ids, self.id_width))
