"""Every planted kind of bad row in the demo company lands in quarantine, with the right reason,
and every other row lands in raw: rows in = rows loaded + rows quarantined, per source."""

from __future__ import annotations

import json
import re

import duckdb
import pytest

from demo_data.generate import generate
from extract_load.load import load_all
from tests.conftest import AS_OF


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    counts = generate(root / "landing", 1500, seed=9, end_date=AS_OF, progress=False)
    results = load_all(root / "wh.duckdb", root / "landing")
    dirt = json.loads((root / "landing" / "_truth" / "dirt.json").read_text())
    with duckdb.connect(str(root / "wh.duckdb"), read_only=True) as con:
        yield counts, results, dirt, con


def _reason_pattern(kind: str) -> tuple[str | None, str]:
    """The quarantine column and reason a planted kind must produce."""
    if kind == "malformed_lines":
        return None, r"^Expected Number of Columns"
    if kind == "truncated_json":
        return None, r"^not valid JSON$"
    prefix, column = kind.split("_", 1)
    return column, {"bad": r"is not a valid", "empty": r"is empty$", "null": r"is empty$"}[prefix]


def _quarantine_kinds(kinds: dict[str, int]) -> dict[str, int]:
    return {
        kind: n
        for kind, n in kinds.items()
        if kind in ("malformed_lines", "truncated_json") or re.match(r"(bad|empty|null)_", kind)
    }


def test_rows_in_equal_loaded_plus_quarantined_for_every_source(loaded):
    counts, results, dirt, _ = loaded
    by_table: dict[str, list[int]] = {}
    for result in results:
        totals = by_table.setdefault(result.table, [0, 0, 0])
        totals[0] += result.rows_in
        totals[1] += result.rows_loaded
        totals[2] += result.rows_quarantined
    for table, written in counts.rows.items():
        rows_in, rows_loaded, rows_quarantined = by_table[table]
        assert rows_in == written == rows_loaded + rows_quarantined, table
        assert rows_quarantined == dirt[table]["quarantine_expected"], table


def test_each_planted_kind_is_quarantined_with_its_reason(loaded):
    _, _, dirt, con = loaded
    checked = 0
    for table, kinds in dirt.items():
        rows = con.execute(f"select column_name, reason from quarantine.{table}").fetchall()
        expected = _quarantine_kinds(kinds)
        assert sum(expected.values()) == kinds["quarantine_expected"], table
        for kind, n in expected.items():
            column, pattern = _reason_pattern(kind)
            matching = [
                r for r in rows if re.search(pattern, r[1]) and (column is None or r[0] == column)
            ]
            assert len(matching) == n, f"{table}: {kind} planted {n}, quarantined {len(matching)}"
            checked += 1
    assert checked >= 10  # the demo plants every kind in several sources
