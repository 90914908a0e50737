"""Planted dirt: what goes wrong in real exports, at known rates, with every plant counted.

Every kind of dirt a source module plants is recorded in a DirtLedger, which becomes
`_truth/dirt.json`: {"<raw table>": {"<kind>": count, ..., "quarantine_expected": n}}. Counts
are lines (records) in the files, so a test can recount them by parsing the files; only
second_crm_record and bot_anonymous_ids count records and ids. The kinds per table
(quarantined ones, which the loader must reject, marked *):

    shop__orders         duplicate_rows, guest_orders, refunded_orders,
                         email_mixed_case_or_spaces, local_time_with_offset,
                         empty_order_id*, bad_amount*, bad_ordered_at*, malformed_lines*
    shop__order_items    duplicate_rows, malformed_lines*
    crm__customers       second_crm_record, duplicate_rows, missing_phone, missing_email,
                         missing_birth_date, birth_date_dd_mm_yyyy, email_mixed_case_or_spaces,
                         phone_not_e164, empty_customer_id*, bad_updated_at*, malformed_lines*
    store__transactions  local_time_without_zone, no_loyalty_id, bad_amount*, malformed_lines*
    web__events          retried_events, late_events, clock_skew, bot_events,
                         bot_anonymous_ids, null_message_id*, bad_timestamp*, truncated_json*
    email__events        duplicate_rows, email_mixed_case, empty_email*, malformed_lines*
    consent__consents    unsubscribe_withdrawals, email_only, malformed_lines*
    consent__erasure_requests  erasure_requests
    catalog__products    missing_brand

Quarantined means: a CSV line with the wrong number of fields, a JSON line that does not parse,
or a required column (sources.py) empty or not of its type. Optional columns may hold
unparseable text (birth_date "31/12/1990"): staging's problem, not counted as quarantined.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from demo_data import formats
from demo_data.writers import Part, csv_lines

# Rates per row of the source (or per person where it says so). Quarantine-worthy plants are
# rare (a few per hundred thousand) but at least one of each lands in the first chunk, so even
# a 300-customer demo exercises every quarantine path.
RATES = {
    "duplicate_rows": 0.01,  # shop orders: the same order line exported twice
    "duplicate_item_rows": 0.005,
    "duplicate_crm_rows": 0.005,  # the same CRM record exported twice
    "second_crm_record": 0.03,  # per person: another CRM id for the same person
    "duplicate_email_events": 0.005,  # webhook delivered twice
    "retried_events": 0.02,  # web events sent again with the same message_id
    "late_events": 0.01,  # web events received days after they happened
    "guest_orders": 0.10,
    "bots_per_customer": 0.00005,  # at least 2
    "missing_phone": 0.08,
    "missing_email": 0.03,
    "missing_birth_date": 0.10,
    "missing_gender": 0.05,
    "birth_date_dd_mm_yyyy": 0.03,
    "email_mixed_case_or_spaces_crm": 0.15,
    "email_mixed_case_or_spaces": 0.08,  # orders, consents
    "email_mixed_case_platform": 0.02,  # the email platform mostly lower-cases
    "malformed_lines": 0.0002,  # wrong number of fields / truncated JSON
    "bad_required_value": 0.0001,  # per kind: empty id, "N/A" amount, "not a date"
    "erasure_requests": 0.001,  # per person, at least 1
}


@dataclass
class DirtLedger:
    """Counts of planted dirt per raw table, and which kinds the loader must quarantine."""

    counts: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    quarantined: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, table: str, kind: str, n: int, quarantine: bool = False) -> None:
        self.counts[table][kind] = self.counts[table].get(kind, 0) + int(n)
        if quarantine:
            self.quarantined[table] += int(n)

    def report(self, tables: list[str]) -> dict[str, dict[str, int]]:
        return {
            table: {
                **dict(sorted(self.counts[table].items())),
                "quarantine_expected": self.quarantined[table],
            }
            for table in tables
        }


def planted(rng: np.random.Generator, n_rows: int, rate: float, at_least: int = 0) -> int:
    """How many rows get a plant: binomial at the rate, at least `at_least` when rows exist."""
    if n_rows <= 0:
        return 0
    return int(min(n_rows, max(rng.binomial(n_rows, rate), at_least)))


def choose(rng: np.random.Generator, eligible: np.ndarray, k: int) -> np.ndarray:
    """A mask of k rows drawn from the eligible ones (fewer if not enough are eligible)."""
    candidates = np.flatnonzero(eligible)
    mask = np.zeros(len(eligible), dtype=bool)
    if k and len(candidates):
        mask[rng.choice(candidates, size=min(k, len(candidates)), replace=False)] = True
    return mask


def duplicate(rng: np.random.Generator, n: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows to write with exact copies right after their originals.

    Returns the row order to take (originals with copies repeated) and a mask over the output
    rows marking both copies of each pair, so later plants can keep away from them and the
    duplicate count stays exact.
    """
    copies = 1 + (rng.random(n) < rate)
    order = np.repeat(np.arange(n), copies)
    in_pair = np.repeat(copies > 1, copies)
    return order, in_pair


def break_csv_line(rng: np.random.Generator, line: str) -> str:
    """A CSV line with the wrong number of fields: cut short, or with a stray extra field.

    A cut keeps at least one non-empty field: a blank line is no row at all to a CSV reader.
    """
    fields = line.rstrip("\n").split(",")
    first_value = next((i for i, f in enumerate(fields) if f), len(fields))
    if rng.random() < 0.7 and first_value + 1 <= len(fields) - 2:
        return ",".join(fields[: int(rng.integers(first_value + 1, len(fields) - 1))]) + "\n"
    return ",".join([*fields, '"unexpected"']) + "\n"


def break_json_line(rng: np.random.Generator, line: str) -> str:
    """A JSON line cut off mid-record, as a crashed writer leaves it."""
    return line[: int(len(line) * rng.uniform(0.3, 0.8))] + "\n"


def plant_broken_csv_lines(
    rng: np.random.Generator,
    part: Part,
    k: int,
    eligible: np.ndarray,
    unquoted: tuple[str, ...] = (),
) -> int:
    """Write k malformed copies of rows (a torn re-export) right after them; returns k."""
    rows = np.flatnonzero(choose(rng, eligible, k))
    for row in rows:
        line = csv_lines(part.table.slice(int(row), 1), unquoted)[0].as_py()
        part.extra_lines.setdefault(int(row), []).append(break_csv_line(rng, line))
    return len(rows)


def plant_bad_values(
    rng: np.random.Generator,
    table: pa.Table,
    plants: tuple[tuple[str, str, str | None], ...],
    eligible: np.ndarray,
    at_least: int,
    ledger: DirtLedger,
    table_name: str,
) -> pa.Table:
    """Empty or unparseable values in required columns: rows the loader must quarantine.

    Each plant is (kind, column, value); None empties the field. Rows are drawn from the
    eligible ones and each row gets one plant at most (eligible is updated in place).
    """
    for kind, column, value in plants:
        k = planted(rng, table.num_rows, RATES["bad_required_value"], at_least)
        mask = choose(rng, eligible, k)
        eligible &= ~mask
        values = table.column(column).combine_chunks()
        if value is None:
            values = formats.null_where(values, mask)
        else:
            values = formats.replace_where(values, mask, value)
        table = table.set_column(table.schema.get_field_index(column), column, values)
        ledger.add(table_name, kind, int(mask.sum()), quarantine=True)
    return table


def plant_malformed(
    rng: np.random.Generator,
    part: Part,
    eligible: np.ndarray,
    at_least: int,
    ledger: DirtLedger,
    table_name: str,
    unquoted: tuple[str, ...],
) -> None:
    """Lines with the wrong number of fields, counted as quarantined."""
    k = planted(rng, part.table.num_rows, RATES["malformed_lines"], at_least)
    ledger.add(
        table_name,
        "malformed_lines",
        plant_broken_csv_lines(rng, part, k, eligible, unquoted),
        quarantine=True,
    )
