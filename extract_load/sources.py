"""The landing-zone contract: which files each source delivers and which columns they carry.

This module is the single description of the sources; the loader, the generator, the README's
contract table and the dbt sources all follow it. Adding a source means adding an entry here
and a staging model that reads its raw table.

Types say what a value must parse as. Raw keeps every value as the text delivered (staging
types it), but a row whose *required* column is missing or does not parse is quarantined
with the reason, and never reaches raw. Optional columns may be absent from a file (null,
with a warning); columns the contract doesn't know are kept as text (schema drift).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

Format = Literal["csv", "jsonl", "parquet"]
ColumnType = Literal["text", "integer", "decimal", "date", "timestamp", "timestamptz", "json"]

# DuckDB type each contract type must cast to (timestamptz: ISO 8601 with offset or Z;
# timestamp: local wall-clock time without zone).
DUCKDB_TYPES: dict[ColumnType, str] = {
    "text": "varchar",
    "integer": "bigint",
    "decimal": "decimal(18, 2)",
    "date": "date",
    "timestamp": "timestamp",
    "timestamptz": "timestamptz",
    "json": "json",
}

# The text each typed value must have, on top of casting to its type. DuckDB's casts accept
# more than the contract does, and more than PostgreSQL's: a trailing zone name
# ('... Europe/Berlin', read as nothing: UTC), '1.5' as an integer (rounded to 2), '1e3' or
# '1_000' as a number. The loader and the raw gate check required values against these;
# staging's macros (dbt_project/macros/cross_database.sql) read optional ones with the same
# patterns on both warehouses, so a value means the same everywhere (a test keeps them equal).
# A timestamp: date, T or a space, hh:mm[:ss[.fraction]]; a timestamptz then ends in Z, an
# offset or nothing (UTC). The digit limits keep PostgreSQL's casts from overflowing.
INTEGER_PATTERN = "[+-]?[0-9]{1,18}"
DECIMAL_PATTERN = "[+-]?([0-9]{1,16}([.][0-9]*)?|[.][0-9]+)"
LOCAL_TIMESTAMP_PATTERN = (
    "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]"
    "([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]+)?)?"
)
UTC_OFFSET_PATTERN = "(Z|[+-][0-9]{2}(:?[0-9]{2})?)"
_SHAPES: dict[ColumnType, str] = {
    "integer": INTEGER_PATTERN,
    "decimal": DECIMAL_PATTERN,
    "timestamp": LOCAL_TIMESTAMP_PATTERN,
    "timestamptz": f"{LOCAL_TIMESTAMP_PATTERN}{UTC_OFFSET_PATTERN}?",
}


def invalid_value_sql(column: str, type_: ColumnType) -> str:
    """DuckDB SQL, true where the text in `column` (an SQL expression) is not a `type_`.

    The loader quarantines such rows and the raw gate checks raw has none, with this one
    definition: the text has its type's shape (surrounding spaces allowed: staging trims)
    and casts, which refuses a day the calendar lacks or a number out of range. A timestamp
    takes the core timestamp cast, as an offset's value does not matter for validity. Casts
    skip surrounding spaces themselves, so values are not trimmed first (a copy of each).
    """
    cast_to = "timestamp" if type_ == "timestamptz" else DUCKDB_TYPES[type_]
    cast = f"try_cast({column} as {cast_to}) is null"
    if type_ not in _SHAPES:
        return cast
    return f"(not regexp_full_match({column}, ' *{_SHAPES[type_]} *') or {cast})"


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType = "text"
    required: bool = False
    example: str = ""


@dataclass(frozen=True)
class Source:
    """One source object: where its files land, in what format, with which columns."""

    system: str  # the system it comes from (crm, shop, ...)
    entity: str  # the object (customers, orders, ...)
    pattern: str  # glob inside the landing zone; every matching file is a batch
    format: Format
    columns: tuple[Column, ...]
    required: bool = False  # may the whole source be absent?
    description: str = ""

    @property
    def table(self) -> str:
        return f"{self.system}__{self.entity}"

    @property
    def required_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.required)


def _c(name: str, type_: ColumnType = "text", required: bool = False, example: str = "") -> Column:
    return Column(name, type_, required, example)


SOURCES: tuple[Source, ...] = (
    Source(
        "crm",
        "customers",
        "crm/customers*.csv",
        "csv",
        (
            _c("customer_id", required=True, example="C0000042"),
            _c("first_name", example="Anna"),
            _c("last_name", example="Berg"),
            _c("email", example=" Anna.Berg.42@Example.com"),
            _c("phone", example="+49 151 2345678"),
            _c("birth_date", example="1988-04-12"),
            _c("gender", example="f"),
            _c("city", example="Berlin"),
            _c("country", example="DE"),
            _c("signup_date", "date", example="2025-01-07"),
            _c("loyalty_id", example="L00012345"),
            _c("preferred_channel", example="email"),
            _c("interests", example="shoes;outdoor"),
            _c("updated_at", "timestamptz", required=True, example="2025-01-30 05:56:02Z"),
        ),
        description="CRM export: one row per CRM record (a person may have two).",
    ),
    Source(
        "shop",
        "orders",
        "shop/orders*.csv",
        "csv",
        (
            _c("order_id", required=True, example="O000000001"),
            _c("customer_id", example="C0000042"),
            _c("email", example="anna.berg.42@example.com"),
            _c("ordered_at", "timestamptz", required=True, example="2026-03-04 12:34:56+01:00"),
            _c("status", required=True, example="completed"),
            _c("amount", "decimal", required=True, example="131.21"),
            _c("discount", "decimal", example="5.00"),
            _c("currency", example="EUR"),
            _c("channel", example="web"),
            _c("updated_at", "timestamptz", example="2026-03-04 12:40:00Z"),
        ),
        required=True,
        description="Shop orders (web and app); guest orders have an email and no customer_id.",
    ),
    Source(
        "shop",
        "order_items",
        "shop/order_items*.csv",
        "csv",
        (
            _c("order_id", required=True, example="O000000001"),
            _c("line_number", "integer", required=True, example="1"),
            _c("product_id", required=True, example="P00017"),
            _c("quantity", "integer", required=True, example="2"),
            _c("unit_price", "decimal", required=True, example="19.90"),
        ),
        description="Order lines: product, quantity and price per order.",
    ),
    Source(
        "store",
        "stores",
        "store/stores*.csv",
        "csv",
        (
            _c("store_id", required=True, example="S001"),
            _c("name", example="Berlin Mitte"),
            _c("city", example="Berlin"),
            _c("country", example="DE"),
            _c("timezone", required=True, example="Europe/Berlin"),
        ),
        description="Physical stores and the time zone their tills record local time in.",
    ),
    Source(
        "store",
        "transactions",
        "store/transactions*.csv",
        "csv",
        (
            _c("transaction_id", required=True, example="T000000001"),
            _c("store_id", required=True, example="S001"),
            _c("transacted_at_local", "timestamp", required=True, example="2026-03-04 17:05:00"),
            _c("loyalty_id", example="L00012345"),
            _c("amount", "decimal", required=True, example="49.90"),
            _c("items", "integer", example="3"),
        ),
        description="In-store till sales, in the store's local time, loyalty card if shown.",
    ),
    Source(
        "web",
        "events",
        "web/events*.jsonl",
        "jsonl",
        (
            _c("message_id", required=True, example="m-7f3a..."),
            _c("anonymous_id", example="a-19c2..."),
            _c("user_id", example="C0000042"),
            _c("type", required=True, example="track"),
            _c("event", example="Product Viewed"),
            _c("properties", "json", example='{"product_id": "P00017"}'),
            _c("context", "json", example='{"userAgent": "...", "campaign": {"source": "google"}}'),
            _c("timestamp", "timestamptz", required=True, example="2026-03-04T12:30:00.000Z"),
            _c("sent_at", "timestamptz", example="2026-03-04T12:30:01.000Z"),
            _c("received_at", "timestamptz", example="2026-03-04T12:30:02.000Z"),
        ),
        description="Web and app clickstream, Segment-spec-like (page, track, identify).",
    ),
    Source(
        "email",
        "events",
        "email/events*.csv",
        "csv",
        (
            _c("event_id", required=True, example="E000000001"),
            _c("campaign_id", required=True, example="CMP0007"),
            _c("email", required=True, example="anna.berg.42@example.com"),
            _c("event_type", required=True, example="open"),
            _c("occurred_at", "timestamptz", required=True, example="2026-03-04 08:00:00Z"),
        ),
        description="Email platform events: sent, delivered, open, click, bounce, unsubscribe.",
    ),
    Source(
        "consent",
        "consents",
        "consent/consents*.csv",
        "csv",
        (
            _c("customer_id", example="C0000042"),
            _c("email", example="anna.berg.42@example.com"),
            _c("purpose", required=True, example="email_marketing"),
            _c("status", required=True, example="granted"),
            _c("recorded_at", "timestamptz", required=True, example="2025-01-07 10:00:00Z"),
        ),
        description="Consent changes per person and purpose (email_marketing, ad_targeting).",
    ),
    Source(
        "consent",
        "erasure_requests",
        "consent/erasure_requests*.csv",
        "csv",
        (
            _c("request_id", required=True, example="R000001"),
            _c("customer_id", example="C0000042"),
            _c("email", example="anna.berg.42@example.com"),
            _c("requested_at", "timestamptz", required=True, example="2026-02-01 09:00:00Z"),
        ),
        description="Right-to-be-forgotten requests.",
    ),
    Source(
        "catalog",
        "products",
        "catalog/products*.parquet",
        "parquet",
        (
            _c("product_id", required=True, example="P00017"),
            _c("name", example="Trail runner"),
            _c("category", example="shoes"),
            _c("brand", example="Northwind"),
            _c("price", "decimal", example="89.90"),
        ),
        description="Product catalog.",
    ),
)

SOURCES_BY_TABLE = {source.table: source for source in SOURCES}


def contract_markdown() -> str:
    """The contract as the README shows it (a test keeps the README equal to this)."""
    blocks = []
    for source in SOURCES:
        need = "required" if source.required else "optional"
        typed = ", ".join(f"{c.name} ({c.type})" for c in source.columns if c.type not in ("text",))
        required = ", ".join(c.name for c in source.required_columns)
        if source.format == "jsonl":
            example = json.dumps({c.name: c.example for c in source.columns})
        elif source.format == "csv":
            example = (
                ",".join(c.name for c in source.columns)
                + "\n"
                + ",".join(
                    f'"{c.example}"'
                    if "," in c.example or c.example != c.example.strip()
                    else c.example
                    for c in source.columns
                )
            )
        else:
            example = " | ".join(f"{c.name}={c.example}" for c in source.columns)
        blocks.append(
            f"**`{source.pattern}`** ({source.format}, {need}) → `raw.{source.table}`: "
            f"{source.description}  \n"
            f"Required columns: {required}. Typed: {typed or 'none'}.\n\n```\n{example}\n```"
        )
    return "\n\n".join(blocks)


if __name__ == "__main__":
    print(contract_markdown())
