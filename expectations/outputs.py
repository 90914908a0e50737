"""Outputs suite: what the models wrote, checked while it is still a candidate (schema
`segments_candidate`) and published to `segments` only when it passes."""

from __future__ import annotations

from expectations.checks import CRITICAL, SqlCheck, TableSuite

CANDIDATE = "segments_candidate"
# No segment may hold less than this share of the people: a tiny cluster is noise to market.
MIN_SEGMENT_SHARE = 0.01


def _segments() -> list:
    import great_expectations.expectations as gxe

    critical = {"severity": CRITICAL}
    return [
        gxe.ExpectColumnValuesToBeUnique(column="person_id", meta=critical),
        gxe.ExpectColumnValuesToNotBeNull(column="person_id", meta=critical),
        gxe.ExpectColumnValuesToNotBeNull(column="segment_id", meta=critical),
        gxe.ExpectColumnValuesToNotBeNull(column="segment_name", meta=critical),
        gxe.ExpectColumnValuesToNotBeNull(column="model_version", meta=critical),
    ]


def suites() -> list[TableSuite]:
    table = f"{CANDIDATE}.customer_segments"
    return [
        TableSuite(
            table=table,
            frame_columns=("person_id", "segment_id", "segment_name", "model_version"),
            expectations=_segments,
            checks=(
                SqlCheck(
                    "person_id",
                    "expect_column_values_to_be_in_set:every_person_segmented",
                    "(select count(*) from marts.dim_customers as people where not exists "
                    f"(select 1 from {table} as s where s.person_id = people.person_id))",
                ),
                SqlCheck(
                    "segment_id",
                    "expect_column_proportion_of_unique_values:min_segment_share",
                    f"(select count(*) from (select segment_id from {table} group by 1 "
                    f"having count(*) < {MIN_SEGMENT_SHARE} * (select count(*) from {table})))",
                ),
            ),
            volume=True,
        ),
    ]
