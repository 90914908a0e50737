"""Outputs suite: what the models wrote, checked while it is still a candidate (schema
`segments_candidate`) and published to `segments` only when it passes."""

from __future__ import annotations

from expectations.checks import CRITICAL, SqlCheck, TableSuite, between, not_null, unique

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


def _everyone_once(table: str) -> tuple[SqlCheck, ...]:
    """One row per person of the feature table's run date, no more, no less."""
    return (
        unique("person_id"),
        not_null("person_id"),
        SqlCheck(
            "person_id",
            "expect_table_row_count_to_equal_other_table:every_person_scored",
            f"(select count(*) from {table}) - (select count(*) from marts.customer_features "
            f"where as_of_date = (select max(as_of_date) from {table}))",
        ),
    )


def suites() -> list[TableSuite]:
    table = f"{CANDIDATE}.customer_segments"
    scores = f"{CANDIDATE}.propensity_scores"
    value = f"{CANDIDATE}.customer_value"
    profiles = f"{CANDIDATE}.segment_profiles"
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
                    # Segment 0 ("Not identified") is not a cluster: it may be small.
                    f"(select count(*) from (select segment_id from {table} where segment_id > 0 "
                    f"group by 1 having count(*) < {MIN_SEGMENT_SHARE} * "
                    f"(select count(*) from {table})))",
                ),
            ),
            volume=True,
        ),
        TableSuite(
            table=scores,
            checks=(
                *_everyone_once(scores),
                between("p_purchase_30d", 0, 1),
                not_null("p_purchase_30d"),
                between("p_churn", 0, 1),
                between("decile", 1, 10),
            ),
            volume=True,
        ),
        TableSuite(
            table=value,
            checks=(*_everyone_once(value), between("predicted_value_12m", 0, None)),
            volume=True,
        ),
        TableSuite(
            table=profiles,
            checks=(
                not_null("segment_name"),
                between("segment_share", 0, 1),
                SqlCheck(
                    "segment_id",
                    "expect_column_distinct_values_to_equal_set:profiled_segments",
                    f"(select count(distinct segment_id) from {table} where segment_id > 0) - "
                    f"(select count(distinct segment_id) from {profiles})",
                ),
            ),
        ),
    ]
