"""Activation suite: what BI reads and the exports send, checked before any file is written.

The privacy checks live here as well as in dbt: an export must never go out with a person
who asked for erasure, whatever a model change did to the SQL.
"""

from __future__ import annotations

from activation.destinations import AUDIENCES
from expectations.checks import SqlCheck, TableSuite, between, not_null, unique

CUSTOMER_360 = "activation.customer_360"


def _no_erased(table: str) -> SqlCheck:
    return SqlCheck(
        "person_id",
        "expect_column_values_to_not_be_in_set:no_erased_person",
        f"(select count(*) from {table} as t inner join marts.dim_customers as d "
        "on t.person_id = d.person_id where d.is_erased)",
    )


def suites() -> list[TableSuite]:
    audiences = [
        TableSuite(
            table=f"activation.audience_{name}",
            checks=(
                unique("person_id"),
                not_null("person_id"),
                _no_erased(f"activation.audience_{name}"),
                SqlCheck(
                    "person_id",
                    "expect_column_values_to_be_in_set:in_customer_360",
                    f"(select count(*) from activation.audience_{name} as a where not exists "
                    f"(select 1 from {CUSTOMER_360} as c where c.person_id = a.person_id))",
                ),
            ),
            volume=True,
        )
        for name in AUDIENCES
    ]
    return [
        TableSuite(
            table=CUSTOMER_360,
            checks=(
                unique("person_id"),
                not_null("person_id"),
                not_null("segment_name"),
                _no_erased(CUSTOMER_360),
                SqlCheck(
                    "person_id",
                    "expect_table_row_count_to_equal_other_table:every_segmented_person",
                    f"(select count(*) from {CUSTOMER_360}) - (select count(*) from "
                    "segments.customer_segments as s inner join marts.dim_customers as d "
                    "on s.person_id = d.person_id where not d.is_erased)",
                ),
                between("p_purchase_30d", 0, 1),
            ),
            volume=True,
        ),
        *audiences,
    ]
