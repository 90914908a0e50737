"""Every DAG file parses fast: the DAG processor pays this every 30 seconds, for every file.

Measured as `make dag-parse` measures it (a fresh process, the file's imports and top-level
code plus serialization), once per file; the budget is loose so only a real regression
(a heavy import or work at the top level of a DAG file) fails it.
"""

from __future__ import annotations

import pytest

from benchmarks.dag_parse import DAGS_DIR, main, measure

PARSE_BUDGET_S = 2.0
DAG_FILES = sorted(DAGS_DIR.glob("*.py"))


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_parses_within_budget(dag_file):
    timing = measure(dag_file, repeats=1)
    assert timing.dags >= 1
    assert timing.total_s < PARSE_BUDGET_S, f"{dag_file.name} takes {timing.total_s:.2f} s to parse"


def test_report_lists_every_file(capsys):
    assert main(["--repeats", "1", *map(str, DAG_FILES)]) == 0
    out = capsys.readouterr().out
    for dag_file in DAG_FILES:
        assert dag_file.name in out
