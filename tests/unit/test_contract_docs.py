"""The README's landing-zone contract is the one the loader enforces."""

from __future__ import annotations

from extract_load.sources import (
    DECIMAL_PATTERN,
    INTEGER_PATTERN,
    LOCAL_TIMESTAMP_PATTERN,
    UTC_OFFSET_PATTERN,
    contract_markdown,
)
from tests.conftest import REPO


def test_readme_contract_matches_sources_module():
    readme = (REPO / "README.md").read_text()
    documented = readme.split("<!-- contract:start -->\n")[1].split("\n<!-- contract:end -->")[0]
    assert documented == contract_markdown(), (
        "README contract is stale: paste `python -m extract_load.sources` between the markers"
    )


def test_staging_reads_values_in_the_shapes_the_loader_lets_through():
    macros = (REPO / "dbt_project" / "macros" / "cross_database.sql").read_text()
    for macro, pattern in [
        ("_integer_pattern", INTEGER_PATTERN),
        ("_decimal_pattern", DECIMAL_PATTERN),
        ("_local_timestamp_pattern", LOCAL_TIMESTAMP_PATTERN),
        ("_utc_offset_pattern", UTC_OFFSET_PATTERN),
    ]:
        body = macros.split(f"{{% macro {macro}() -%}}")[1].split("{%- endmacro %}")[0]
        assert body.strip() == pattern, f"{macro} in cross_database.sql differs from sources.py"
