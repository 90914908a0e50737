"""Shop orders and order lines: online buying per persona, with guests, discounts and refunds.

The order amount is the sum of its lines less the discount, so revenue in the warehouse can be
checked against the lines. Orders carry the primary CRM id and the email as typed at checkout;
guests leave only the email, which is how the identity graph has to find them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from demo_data import dirt, formats, geography, personas
from demo_data.catalog import Catalog
from demo_data.formats import DAY_S
from demo_data.identity import APP_KINDS, People, messy_emails
from demo_data.timeline import ONLINE_HOURS, Timeline, seconds_of_day
from demo_data.writers import Part, unquoted
from extract_load.sources import SOURCES_BY_TABLE

ORDERS = SOURCES_BY_TABLE["shop__orders"]
ITEMS = SOURCES_BY_TABLE["shop__order_items"]
STATUSES = ("completed", "cancelled", "refunded")
CANCEL_RATE = 0.04
FIRST_ORDER_AT_SIGNUP = 1.0  # new customers who signed up while ordering
FAVOURITE_SHARE = 0.7  # items from the person's two favourite categories
Z_SHARE = 0.3  # ordered_at written in UTC with Z; the rest in local time with an offset


@dataclass
class Orders:
    owner: np.ndarray  # person (index in the chunk)
    number: np.ndarray  # global order number
    time_s: np.ndarray
    device: np.ndarray  # device (index in the chunk) the order was placed on
    app: np.ndarray
    guest: np.ndarray
    status: np.ndarray  # index into STATUSES
    updated_s: np.ndarray
    amount_cents: np.ndarray
    discount_cents: np.ndarray
    item_start: np.ndarray  # first line of each order in the item arrays
    item_count: np.ndarray
    item_product: np.ndarray
    item_qty: np.ndarray
    item_price: np.ndarray

    def __len__(self) -> int:
        return len(self.owner)


def basket(
    rng: np.random.Generator, people: People, catalog: Catalog, owner: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Items per basket and each item's product and quantity, by the owner's taste."""
    count = 1 + rng.poisson(people.p("items")[owner] - 1.0)
    item_owner = np.repeat(owner, count)
    total = len(item_owner)
    favourite = people.favourites[item_owner, rng.integers(0, 2, total)]
    category = np.where(rng.random(total) < FAVOURITE_SHARE, favourite, rng.integers(0, 10, total))
    product = catalog.draw(rng, category, people.p("price_tilt")[item_owner])
    quantity = rng.choice(3, size=total, p=[0.85, 0.12, 0.03]) + 1
    return count, item_owner, product, quantity


def make_orders(
    rng: np.random.Generator,
    people: People,
    catalog: Catalog,
    timeline: Timeline,
    first_number: int,
) -> Orders:
    """Online orders while each person is active, at their persona's rate and season."""
    n = len(people)
    rate = people.p("online_orders") * people.intensity
    mass = timeline.mass(people.persona, people.active_from, people.active_to)
    at_signup = (people.persona == personas.index("new_customer")) & (
        rng.random(n) < FIRST_ORDER_AT_SIGNUP
    )
    count = rng.poisson(rate * mass / 365.0) + at_signup
    owner = np.repeat(np.arange(n), count)
    total = len(owner)
    day = timeline.sample_days(
        rng, people.persona[owner], people.active_from[owner], people.active_to[owner]
    )
    time_s = timeline.day_start_s(day) + seconds_of_day(rng, total, ONLINE_HOURS)
    first_row = np.concatenate([[0], np.cumsum(count)[:-1]])[at_signup]
    time_s[first_row] = people.signup_s[owner[first_row]] + rng.integers(60, 3600, len(first_row))
    time_s = np.minimum(time_s, timeline.end_s - 1)
    order = np.argsort(time_s, kind="stable")
    owner, time_s = owner[order], time_s[order]

    item_count, _, product, quantity = basket(rng, people, catalog, owner)
    item_start = np.concatenate([[0], np.cumsum(item_count)[:-1]])
    price = catalog.price_cents[product]
    line_order = np.repeat(np.arange(total), item_count)
    gross = np.bincount(line_order, weights=price * quantity, minlength=total).astype(np.int64)
    discounted = rng.random(total) < people.p("discount_share")[owner]
    depth = np.clip(people.p("discount_depth")[owner] * rng.lognormal(0, 0.3, total), 0.02, 0.6)
    discount = np.where(discounted, np.round(gross * depth), 0).astype(np.int64)

    refund_s = time_s + rng.integers(3 * DAY_S, 30 * DAY_S, total)
    refunded = (rng.random(total) < people.p("refund_rate")[owner]) & (refund_s < timeline.end_s)
    cancelled = ~refunded & (rng.random(total) < CANCEL_RATE)
    status = np.where(refunded, 2, np.where(cancelled, 1, 0))
    updated_s = np.where(
        refunded,
        refund_s,
        time_s
        + np.where(cancelled, rng.integers(600, 2 * DAY_S, total), rng.integers(60, 7200, total)),
    )
    device = people.device_first[owner] + (rng.random(total) * people.device_count[owner]).astype(
        np.int64
    )
    return Orders(
        owner=owner,
        number=first_number + np.arange(total, dtype=np.int64),
        time_s=time_s,
        device=device,
        app=np.isin(people.device_kind[device], APP_KINDS),
        guest=rng.random(total) < dirt.RATES["guest_orders"],
        status=status,
        updated_s=np.minimum(updated_s, timeline.end_s - 1),
        amount_cents=gross - discount,
        discount_cents=discount,
        item_start=item_start,
        item_count=item_count,
        item_product=product,
        item_qty=quantity,
        item_price=price,
    )


def order_id(number: np.ndarray) -> pa.StringArray:
    return formats.ids("O", number, 9)


def order_parts(
    rng: np.random.Generator,
    orders: Orders,
    people: People,
    catalog: Catalog,
    ledger: dirt.DirtLedger,
    first_chunk: bool,
) -> tuple[Part, Part]:
    """orders.csv and order_items.csv rows for the chunk, with their dirt planted and counted."""
    at_least = int(first_chunk)
    n = len(orders)
    email, messy = messy_emails(
        rng, people.email.take(pa.array(orders.owner)), dirt.RATES["email_mixed_case_or_spaces"]
    )
    in_utc = rng.random(n) < Z_SHARE
    offset = np.where(
        in_utc, 0, geography.utc_offset_minutes(orders.time_s, people.country[orders.owner])
    )
    ordered_at = formats.replace_where(
        formats.ts_offset(orders.time_s, offset), in_utc, formats.ts_utc(orders.time_s)
    )
    base = pa.table(
        {
            "order_id": order_id(orders.number),
            "customer_id": formats.null_where(
                people.customer_id.take(pa.array(orders.owner)), orders.guest
            ),
            "email": email,
            "ordered_at": ordered_at,
            "status": formats.pick(STATUSES, orders.status),
            "amount": formats.money(orders.amount_cents),
            "discount": formats.money(orders.discount_cents),
            "currency": formats.pick(("EUR",), np.zeros(n, dtype=np.int64)),
            "channel": formats.pick(("web", "app"), orders.app.astype(np.int64)),
            "updated_at": formats.ts_utc(orders.updated_s),
        }
    )
    take, in_pair = dirt.duplicate(rng, n, dirt.RATES["duplicate_rows"])
    table = base.take(pa.array(take))
    name = ORDERS.table
    ledger.add(name, "duplicate_rows", int(in_pair.sum()) // 2)
    ledger.add(name, "guest_orders", int(orders.guest[take].sum()))
    ledger.add(name, "refunded_orders", int((orders.status[take] == 2).sum()))
    ledger.add(name, "email_mixed_case_or_spaces", int(messy[take].sum()))
    ledger.add(name, "local_time_with_offset", int((~in_utc[take]).sum()))
    eligible = ~in_pair
    table = dirt.plant_bad_values(
        rng,
        table,
        (
            ("empty_order_id", "order_id", None),
            ("bad_amount", "amount", "N/A"),
            ("bad_ordered_at", "ordered_at", "not a date"),
        ),
        eligible,
        at_least,
        ledger,
        name,
    )
    part = Part(table)
    dirt.plant_malformed(rng, part, eligible, at_least, ledger, name, unquoted(ORDERS))
    return part, _item_part(rng, orders, catalog, ledger, at_least)


def _item_part(
    rng: np.random.Generator,
    orders: Orders,
    catalog: Catalog,
    ledger: dirt.DirtLedger,
    at_least: int,
) -> Part:
    total = len(orders.item_product)
    line_order = np.repeat(np.arange(len(orders)), orders.item_count)
    line_number = np.arange(total) - orders.item_start[line_order] + 1
    base = pa.table(
        {
            "order_id": order_id(orders.number[line_order]),
            "line_number": formats.integers(line_number),
            "product_id": catalog.product_id.take(pa.array(orders.item_product)),
            "quantity": formats.integers(orders.item_qty),
            "unit_price": formats.money(orders.item_price),
        }
    )
    take, in_pair = dirt.duplicate(rng, total, dirt.RATES["duplicate_item_rows"])
    part = Part(base.take(pa.array(take)))
    ledger.add(ITEMS.table, "duplicate_rows", int(in_pair.sum()) // 2)
    dirt.plant_malformed(rng, part, ~in_pair, at_least, ledger, ITEMS.table, unquoted(ITEMS))
    return part
