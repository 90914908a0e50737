"""Hidden personas: the table of parameters that drives how each demo person behaves.

The pipeline never sees a persona; tests and the benchmark compare its segments and scores with
them, so every behaviour a segment could pick up (how often, how much, where, how engaged) is
set here and nowhere else. Rates are per year while the person is active; the generator turns
them into Poisson counts, scaled by a personal intensity around 1 (about ±15%).

Each persona leaves a signature in the data (spend and basket size, discount share, season,
store share, recency, tenure, browsing without buying), and the rates are high enough that two
years of history show it: a segmentation can only be judged against personas a person's own
data can tell apart. "Regular" is the mainstream the others stand out from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Persona:
    name: str
    share: float  # share of all people
    online_orders: float  # shop orders (web and app) per active year
    store_visits: float  # till transactions per active year (people with a home store)
    items: float  # mean items per basket (at least one)
    price_tilt: float  # >1 picks cheaper products in a category, <1 dearer ones
    discount_share: float  # share of online orders with a discount
    discount_depth: float  # typical discount as a share of the basket
    refund_rate: float  # share of online orders refunded later
    app_share: float  # chance that each device beyond the first is a phone app
    sessions: float  # browsing sessions without an order per active year
    views: float  # mean products viewed per browsing session
    cart_rate: float  # chance a viewed product goes into the cart
    login_rate: float  # chance a browsing session logs in (identify)
    devices: float  # mean number of devices (1 to 3)
    email_consent: float  # chance of granting email marketing at sign-up
    ad_consent: float  # chance of granting ad targeting at sign-up
    open_rate: float  # chance a delivered email is opened
    click_rate: float  # chance an opened email is clicked
    unsubscribe_rate: float  # chance a delivered email leads to an unsubscribe
    loyalty_card: float  # chance of holding a store loyalty card
    card_shown: float  # chance the card is shown at the till
    seasonal: bool = False  # buys mostly in November and December
    lapsed: bool = False  # stopped 6 to 18 months before the end of the data
    new: bool = False  # signed up in the last 60 days


# Two tables, one row per persona, joined on the name. Headers abbreviate the field names.
_BUYING = """
name               share orders store items tilt disc depth refund card shown flag
loyal_high_value   0.10  10.0   2.0   3.5   0.15 0.05 0.10  0.02   0.7  0.85  -
regular            0.18  4.0    1.0   1.8   1.00 0.08 0.10  0.03   0.4  0.60  -
bargain_hunter     0.15  4.0    0.5   1.4   3.00 0.90 0.30  0.08   0.3  0.50  -
occasional_browser 0.17  0.04   0.03  1.3   1.20 0.10 0.10  0.05   0.1  0.40  -
new_customer       0.08  3.0    0.4   1.6   1.00 0.20 0.15  0.04   0.3  0.60  new
lapsing            0.12  4.0    0.5   1.6   1.00 0.10 0.10  0.06   0.3  0.50  lapsed
seasonal           0.10  3.0    0.3   2.0   0.90 0.15 0.15  0.05   0.2  0.50  seasonal
store_only         0.10  0.03   5.0   2.5   1.00 0.05 0.10  0.02   1.0  0.90  -
"""
_ENGAGEMENT = """
name               app  sess views cart login dev email ad   open click unsub
loyal_high_value   0.55 1.0  3.0   0.25 0.85  2.2 0.80  0.60 0.50 0.25  0.002
regular            0.35 1.0  2.5   0.15 0.60  1.6 0.70  0.50 0.30 0.18  0.004
bargain_hunter     0.40 1.0  3.0   0.12 0.60  1.6 0.85  0.50 0.40 0.30  0.003
occasional_browser 0.20 3.0  3.0   0.05 0.50  1.8 0.50  0.40 0.10 0.12  0.008
new_customer       0.40 3.0  3.0   0.15 0.70  1.5 0.75  0.55 0.45 0.20  0.005
lapsing            0.30 1.0  2.5   0.12 0.50  1.5 0.60  0.45 0.10 0.10  0.010
seasonal           0.30 0.6  3.0   0.20 0.50  1.4 0.60  0.45 0.20 0.15  0.004
store_only         0.10 0.10 2.0   0.10 0.30  1.1 0.40  0.30 0.15 0.10  0.004
"""
_FIELDS = {
    "orders": "online_orders",
    "store": "store_visits",
    "tilt": "price_tilt",
    "disc": "discount_share",
    "depth": "discount_depth",
    "refund": "refund_rate",
    "card": "loyalty_card",
    "shown": "card_shown",
    "app": "app_share",
    "sess": "sessions",
    "cart": "cart_rate",
    "login": "login_rate",
    "dev": "devices",
    "email": "email_consent",
    "ad": "ad_consent",
    "open": "open_rate",
    "click": "click_rate",
    "unsub": "unsubscribe_rate",
}


def _rows(table: str) -> dict[str, dict[str, str]]:
    header, *lines = (line.split() for line in table.strip().splitlines())
    return {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in lines}


def _parse() -> tuple[Persona, ...]:
    """The tables above as Persona records."""
    buying, engagement = _rows(_BUYING), _rows(_ENGAGEMENT)
    personas = []
    for name, values in buying.items():
        values = {**values, **engagement[name]}
        flag = values.pop("flag")
        numbers = {_FIELDS.get(key, key): float(value) for key, value in values.items()}
        personas.append(Persona(name, **numbers, **({flag: True} if flag != "-" else {})))
    return tuple(personas)


PERSONAS: tuple[Persona, ...] = _parse()

NAMES = np.array([p.name for p in PERSONAS])
SHARES = np.array([p.share for p in PERSONAS])


def column(field_name: str) -> np.ndarray:
    """One parameter for every persona, indexable by an array of persona numbers."""
    return np.array([getattr(p, field_name) for p in PERSONAS], dtype=float)


def index(name: str) -> int:
    """A persona's number, for code that singles one out (new customers, lapsing, ...)."""
    return [p.name for p in PERSONAS].index(name)


assert abs(SHARES.sum() - 1.0) < 1e-9, "persona shares must add up to 1"
