"""The expectation suites, one function per gated table.

Each expectation carries a `severity` in its meta: `critical` stops the run, `warning` is
recorded and the run goes on. GX is imported here, so import this module inside tasks only.
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

CRITICAL = {"severity": "critical"}
WARNING = {"severity": "warning"}


def customer_rfm() -> gx.ExpectationSuite:
    """`marts.customer_rfm`: one row per person, scores in 1..5, no negative measures."""
    suite = gx.ExpectationSuite(name="marts.customer_rfm")
    for expectation in (
        gxe.ExpectTableRowCountToBeBetween(min_value=1, meta=CRITICAL),
        gxe.ExpectColumnValuesToNotBeNull(column="person_id", meta=CRITICAL),
        gxe.ExpectColumnValuesToBeUnique(column="person_id", meta=CRITICAL),
        gxe.ExpectColumnValuesToNotBeNull(column="as_of_date", meta=CRITICAL),
        *(
            gxe.ExpectColumnValuesToBeBetween(column=col, min_value=1, max_value=5, meta=CRITICAL)
            for col in ("r_score", "f_score", "m_score")
        ),
        gxe.ExpectColumnValuesToBeBetween(column="recency_days", min_value=0, meta=CRITICAL),
        gxe.ExpectColumnValuesToBeBetween(column="frequency", min_value=0, meta=CRITICAL),
        gxe.ExpectColumnValuesToBeBetween(column="monetary", min_value=0, meta=CRITICAL),
        gxe.ExpectColumnValuesToNotBeNull(column="rfm_segment", meta=CRITICAL),
        # Most customers of a working shop have bought something; far fewer signals a broken join.
        gxe.ExpectColumnMeanToBeBetween(column="frequency", min_value=0.5, meta=WARNING),
    ):
        suite.add_expectation(expectation)
    return suite


SUITES = {"marts.customer_rfm": customer_rfm}
