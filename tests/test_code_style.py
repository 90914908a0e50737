"""The linters the README names pass on the tree: style drift fails CI, not code review."""

from __future__ import annotations

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
def test_linter_passes(command):
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
