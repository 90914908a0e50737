"""Ground truth under `_truth/`: who is who, and what each person does in the next 30 days.

The pipeline never reads these files; tests and the benchmark score it against them.
- persons.parquet: the hidden person (their primary CRM id), persona, and the 30 days after the
  end date: the true probability of a purchase attributed to them (online, or in store with
  their loyalty card) and what happened (drawn from that probability);
  then the 12 months after it: the expected net spend attributed to them (online orders, and
  till sales with their loyalty card shown; `value_365d`, the best any value model could
  predict) and one draw of it (`spend_365d`).
- identifiers.parquet: every identifier that appears in any source file, normalised (email
  lower-cased and trimmed, phone in E.164), with the person it belongs to; bots' anonymous
  ids have no person (null). `linked` says whether the files tie the identifier to another
  of its person's at all: an anonymous id of a device that never logged in, or a loyalty card
  shown in store but missing from the CRM, is not linked, and no resolver can place it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from demo_data import formats, personas
from demo_data.catalog import PRODUCTS_PER_CATEGORY, Catalog
from demo_data.identity import People
from demo_data.shop import CANCEL_RATE
from demo_data.timeline import Timeline

PERSONS_SCHEMA = pa.schema(
    [
        ("true_person", pa.string()),
        ("persona", pa.string()),
        ("p_purchase_30d", pa.float64()),
        ("purchased_30d", pa.int8()),
        ("spend_30d", pa.float64()),
        ("value_365d", pa.float64()),
        ("spend_365d", pa.float64()),
    ]
)
IDENTIFIERS_SCHEMA = pa.schema(
    [
        ("identifier_type", pa.string()),
        ("identifier_value", pa.string()),
        ("true_person", pa.string()),
        ("linked", pa.bool_()),
    ]
)
LAPSED_FUTURE_FACTOR = 0.05  # lapsed people rarely come back within a month


def typical_basket_cents(catalog: Catalog) -> np.ndarray:
    """Mean basket value per persona, from the same product draw the orders use."""
    u = (np.arange(2000) + 0.5) / 2000
    values = []
    for persona in personas.PERSONAS:
        position = np.minimum((u**persona.price_tilt * PRODUCTS_PER_CATEGORY).astype(int), 35)
        mean_price = catalog.price_cents[catalog.by_category[:, position]].mean()
        values.append(mean_price * 1.18 * persona.items)  # 1.18: mean quantity per line
    return np.array(values)


def net_share() -> np.ndarray:
    """Share of an online basket's list price that stays revenue, per persona: discounts come
    off, refunded and cancelled orders count for nothing (as in the warehouse's monetary)."""
    kept = 1.0 - personas.column("refund_rate")
    kept *= 1.0 - CANCEL_RATE
    return kept * (1.0 - personas.column("discount_share") * personas.column("discount_depth"))


def persons_table(
    rng: np.random.Generator, people: People, catalog: Catalog, timeline: Timeline
) -> pa.Table:
    """The next 30 days and the next year: expected purchases from the same rates and seasons
    as the history.

    Purchases are those the warehouse can attribute to the person: online orders, and till
    sales with their loyalty card shown. An anonymous till sale is nobody's purchase in any
    data, so no model could learn or be judged on it."""
    attributed_store = people.p("store_visits") * people.has_card * people.p("card_shown")
    rate = (people.p("online_orders") + attributed_store) * people.intensity
    lapsed = people.active_to < timeline.history_days
    expected = rate * timeline.future_mass(people.persona) / 365.0
    expected = np.where(lapsed, expected * LAPSED_FUTURE_FACTOR, expected)
    probability = 1.0 - np.exp(-expected)
    bought = rng.random(len(people)) < probability
    purchases = 1 + rng.poisson(expected)
    basket = typical_basket_cents(catalog)[people.persona]
    value = basket * rng.lognormal(-0.08, 0.4, len(people))
    spend = np.where(bought, np.round(purchases * value) / 100.0, 0.0)

    # The next year repeats the last one's calendar (the same seasons), at the same rates.
    n = len(people)
    year_mass = timeline.mass(
        people.persona, np.full(n, timeline.history_days - 365), np.full(n, timeline.history_days)
    )
    keep = np.where(lapsed, LAPSED_FUTURE_FACTOR, 1.0) * people.intensity * year_mass / 365.0
    online = people.p("online_orders") * keep
    store = attributed_store * keep
    value_365d = (online * net_share()[people.persona] + store) * basket / 100.0
    year_baskets = rng.poisson(online) * net_share()[people.persona] + rng.poisson(store)
    spend_365d = np.round(year_baskets * value) / 100.0
    return pa.table(
        {
            "true_person": people.customer_id,
            "persona": formats.pick(personas.NAMES.tolist(), people.persona),
            "p_purchase_30d": probability,
            "purchased_30d": bought.astype(np.int8),
            "spend_30d": spend,
            "value_365d": value_365d,
            "spend_365d": spend_365d,
        },
        schema=PERSONS_SCHEMA,
    )


@dataclass
class Sightings:
    """Which of a chunk's identifiers show up in some file (only those go into the truth)."""

    n_people: int
    n_devices: int
    email: np.ndarray = field(init=False)
    phone: np.ndarray = field(init=False)
    crm_id: np.ndarray = field(init=False)
    user_id: np.ndarray = field(init=False)
    loyalty_id: np.ndarray = field(init=False)
    device: np.ndarray = field(init=False)
    device_linked: np.ndarray = field(init=False)  # the device sent a user id at least once
    loyalty_linked: np.ndarray = field(init=False)  # the CRM record carries the loyalty id
    second_number: np.ndarray = field(init=False)  # second CRM records seen: id number
    second_owner: np.ndarray = field(init=False)  # ... and their person

    def __post_init__(self) -> None:
        for name in ("email", "phone", "crm_id", "user_id", "loyalty_id", "loyalty_linked"):
            setattr(self, name, np.zeros(self.n_people, dtype=bool))
        self.device = np.zeros(self.n_devices, dtype=bool)
        self.device_linked = np.zeros(self.n_devices, dtype=bool)
        self.second_number = np.zeros(0, dtype=np.int64)
        self.second_owner = np.zeros(0, dtype=np.int64)

    def saw_second(self, number: np.ndarray, owner: np.ndarray) -> None:
        self.second_number = np.concatenate([self.second_number, number])
        self.second_owner = np.concatenate([self.second_owner, owner])

    def saw(self, kind: str, who: np.ndarray) -> None:
        getattr(self, kind)[who] = True


def identifiers_table(
    people: People,
    sightings: Sightings,
    bot_anonymous_ids: pa.Array,
    id_width: int,
) -> pa.Table:
    """One row per distinct identifier seen in the files, with its person."""
    parts: list[tuple[str, pa.Array, pa.Array, np.ndarray]] = []
    for kind, values in (
        ("email", people.email),
        ("phone", people.phone_e164),
        ("crm_id", people.customer_id),
        ("user_id", people.customer_id),
        ("loyalty_id", people.loyalty_id),
    ):
        seen = getattr(sightings, kind)
        linked = sightings.loyalty_linked if kind == "loyalty_id" else np.ones_like(seen)
        parts.append(
            (
                kind,
                values.filter(pa.array(seen)),
                people.customer_id.filter(pa.array(seen)),
                linked[seen],
            )
        )
    numbers, first = np.unique(sightings.second_number, return_index=True)
    if len(numbers):
        owner = sightings.second_owner[first]
        parts.append(
            (
                "crm_id",
                formats.ids("C", numbers, id_width),
                people.customer_id.take(pa.array(owner)),
                np.ones(len(numbers), dtype=bool),
            )
        )
    used = np.flatnonzero(sightings.device)
    parts.append(
        (
            "anonymous_id",
            formats.from_matrix(people.anonymous_id[used]),
            people.customer_id.take(pa.array(people.device_owner[used])),
            sightings.device_linked[used],
        )
    )
    n_bots = len(bot_anonymous_ids)
    parts.append(
        ("anonymous_id", bot_anonymous_ids, pa.nulls(n_bots, pa.string()), np.zeros(n_bots, bool))
    )
    return pa.table(
        {
            "identifier_type": pa.concat_arrays(
                [formats.pick((kind,), np.zeros(len(v), np.int64)) for kind, v, _, _ in parts]
            ),
            "identifier_value": pa.concat_arrays([v for _, v, _, _ in parts]),
            "true_person": pa.concat_arrays([p for _, _, p, _ in parts]),
            "linked": pa.array(np.concatenate([linked for *_, linked in parts])),
        },
        schema=IDENTIFIERS_SCHEMA,
    )
