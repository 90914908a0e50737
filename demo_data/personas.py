"""Hidden personas that drive how each demo customer buys.

The pipeline never sees these; tests and the benchmark compare its segments and scores with
them. Rates are orders per year while the customer is active; order values are log-normal
around `order_value` (the median).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Persona:
    name: str
    share: float
    orders_per_year: float
    order_value: float
    app_share: float  # share of online orders placed in the app rather than on the web
    lapsed: bool = False  # stopped buying 6 to 18 months before the end of the data
    new: bool = False  # signed up in the last 60 days


PERSONAS: tuple[Persona, ...] = (
    Persona("loyal_high_value", 0.10, 14.0, 140.0, 0.6),
    Persona("regular", 0.22, 5.0, 60.0, 0.4),
    Persona("bargain_hunter", 0.18, 8.0, 22.0, 0.5),
    Persona("occasional", 0.25, 1.0, 45.0, 0.2),
    Persona("lapsing", 0.15, 5.0, 60.0, 0.3, lapsed=True),
    Persona("new_customer", 0.10, 8.0, 50.0, 0.5, new=True),
)
