"""The linters the README names pass on the tree: style drift fails CI, not code review."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["sqlfluff", "lint", "dbt_project"],
    ],
    ids=["ruff-check", "ruff-format", "sqlfluff"],
)
def test_linter_passes(command, tmp_path):
    # sqlfluff's dbt templater compiles the project: give it a throwaway warehouse.
    env = {**os.environ, "SEGMENTS_WAREHOUSE": str(tmp_path / "lint.duckdb")}
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
