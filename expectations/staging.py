"""Staging layer suite: what dbt's staging promises to the marts, pushed down to SQL (the
event views are as large as the raw tables): keys unique after de-duplication, identifiers
in their normal form, amounts never negative (refunds are a status, not a negative amount)."""

from __future__ import annotations

from expectations.checks import WARNING, TableSuite, between, matches, not_null, unique

EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
E164 = r"\+[1-9][0-9]{6,14}"


def suites() -> list[TableSuite]:
    def stg(name: str, *checks, volume: bool = True) -> TableSuite:
        return TableSuite(table=f"staging.{name}", checks=checks, volume=volume)

    return [
        stg(
            "stg_crm__customers",
            unique("customer_id"),
            not_null("customer_id"),
            matches("email", EMAIL),
            matches("phone", E164),
        ),
        stg(
            "stg_shop__orders",
            unique("order_id"),
            not_null("ordered_at"),
            matches("email", EMAIL),
            between("amount", 0, None),
            between("discount", 0, None),
        ),
        stg(
            "stg_shop__order_items",
            unique("order_line_id"),
            between("quantity", 1, None),
            between("unit_price", 0, None),
        ),
        stg("stg_store__stores", unique("store_id"), not_null("timezone")),
        stg(
            "stg_store__transactions",
            unique("transaction_id"),
            not_null("transacted_at"),
            between("amount", 0, None),
        ),
        stg(
            "stg_web__events",
            unique("message_id"),
            not_null("occurred_at"),
            not_null("anonymous_id", severity=WARNING),
        ),
        stg("stg_email__events", unique("event_id"), matches("email", EMAIL)),
        stg(
            "stg_consent__consents",
            unique("consent_change_id"),
            matches("purpose", "email_marketing|ad_targeting"),
            matches("consent_status", "granted|withdrawn"),
        ),
        stg("stg_consent__erasure_requests", unique("request_id"), volume=False),
        stg("stg_catalog__products", unique("product_id"), between("price", 0, None)),
    ]
