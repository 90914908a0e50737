"""What each source delivers: the landing-zone file and the columns the loader requires.

Adding a source means adding an entry here and a staging model that reads its raw table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """One source object: where its file lands and what its raw table is called."""

    system: str  # the system it comes from (crm, shop, ...)
    entity: str  # the object (customers, orders, ...)
    relpath: str  # path inside the landing zone
    columns: tuple[str, ...]  # required columns; raw keeps them as text, staging types them

    @property
    def table(self) -> str:
        return f"{self.system}__{self.entity}"


SOURCES: tuple[Source, ...] = (
    Source(
        "crm",
        "customers",
        "crm/customers.csv",
        ("customer_id", "first_name", "last_name", "email", "country", "signup_date", "updated_at"),
    ),
    Source(
        "shop",
        "orders",
        "shop/orders.csv",
        ("order_id", "customer_id", "ordered_at", "status", "amount", "currency", "channel"),
    ),
)
