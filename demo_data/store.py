"""Stores and till sales: local wall-clock times, loyalty card shown or not.

Tills record local time without a zone; stores.csv says which zone each store is in, so staging
has to convert. Sales are generated directly in local time within opening hours, which is
always before the end date's midnight UTC because every store zone is at or ahead of UTC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from demo_data import dirt, formats, geography
from demo_data.catalog import Catalog
from demo_data.identity import People
from demo_data.shop import basket
from demo_data.timeline import STORE_HOURS, Timeline, seconds_of_day
from demo_data.writers import Part, unquoted
from extract_load.sources import SOURCES_BY_TABLE

TRANSACTIONS = SOURCES_BY_TABLE["store__transactions"]
STORES = SOURCES_BY_TABLE["store__stores"]
HOME_STORE_SHARE = 0.8  # the rest of a person's visits go to another store in their country


@dataclass
class StoreSales:
    owner: np.ndarray
    number: np.ndarray  # global transaction number
    local_s: np.ndarray  # local wall-clock time as seconds since 1970 (no zone)
    store: np.ndarray
    items: np.ndarray
    amount_cents: np.ndarray
    card_shown: np.ndarray

    def __len__(self) -> int:
        return len(self.owner)


def make_store_sales(
    rng: np.random.Generator,
    people: People,
    catalog: Catalog,
    timeline: Timeline,
    first_number: int,
) -> StoreSales:
    """Till sales at the persona's visit rate, mostly in the home store."""
    rate = people.p("store_visits") * people.intensity
    mass = timeline.mass(people.persona, people.active_from, people.active_to)
    count = rng.poisson(rate * mass / 365.0)
    owner = np.repeat(np.arange(len(people)), count)
    total = len(owner)
    day = timeline.sample_days(
        rng, people.persona[owner], people.active_from[owner], people.active_to[owner]
    )
    local_s = timeline.day_start_s(day) + seconds_of_day(rng, total, STORE_HOURS)
    order = np.argsort(local_s, kind="stable")
    owner, local_s = owner[order], local_s[order]
    stores_of = [np.flatnonzero(c == geography.STORE_COUNTRY) for c in range(len(geography.CODES))]
    store = people.home_store[owner].copy()
    away = rng.random(total) < 1.0 - HOME_STORE_SHARE
    for c, stores in enumerate(stores_of):
        rows = away & (people.country[owner] == c)
        store[rows] = stores[rng.integers(0, len(stores), int(rows.sum()))]
    items, item_owner, product, quantity = basket(rng, people, catalog, owner)
    del item_owner
    sale = np.repeat(np.arange(total), items)
    amount = np.bincount(
        sale, weights=catalog.price_cents[product] * quantity, minlength=total
    ).astype(np.int64)
    shown = people.has_card[owner] & (rng.random(total) < people.p("card_shown")[owner])
    return StoreSales(
        owner=owner,
        number=first_number + np.arange(total, dtype=np.int64),
        local_s=local_s,
        store=store,
        items=np.bincount(sale, weights=quantity, minlength=total).astype(np.int64),
        amount_cents=amount,
        card_shown=shown,
    )


def stores_part() -> Part:
    frame = geography.store_table()
    return Part(pa.Table.from_pandas(frame, preserve_index=False))


def store_id(store: np.ndarray) -> pa.StringArray:
    return formats.ids("S", store + 1, 3)


def sales_part(
    rng: np.random.Generator,
    sales: StoreSales,
    people: People,
    ledger: dirt.DirtLedger,
    first_chunk: bool,
) -> Part:
    """transactions.csv rows for the chunk, with their dirt planted and counted."""
    table = pa.table(
        {
            "transaction_id": formats.ids("T", sales.number, 9),
            "store_id": store_id(sales.store),
            "transacted_at_local": formats.ts_local(sales.local_s),
            "loyalty_id": formats.null_where(
                people.loyalty_id.take(pa.array(sales.owner)), ~sales.card_shown
            ),
            "amount": formats.money(sales.amount_cents),
            "items": formats.integers(sales.items),
        }
    )
    name = TRANSACTIONS.table
    ledger.add(name, "local_time_without_zone", len(sales))
    ledger.add(name, "no_loyalty_id", int((~sales.card_shown).sum()))
    eligible = np.ones(len(sales), dtype=bool)
    table = dirt.plant_bad_values(
        rng, table, (("bad_amount", "amount", "N/A"),), eligible, int(first_chunk), ledger, name
    )
    part = Part(table)
    dirt.plant_malformed(
        rng, part, eligible, int(first_chunk), ledger, name, unquoted(TRANSACTIONS)
    )
    return part
