"""The README's landing-zone contract is the one the loader enforces."""

from __future__ import annotations

from extract_load.sources import contract_markdown
from tests.conftest import REPO


def test_readme_contract_matches_sources_module():
    readme = (REPO / "README.md").read_text()
    documented = readme.split("<!-- contract:start -->\n")[1].split("\n<!-- contract:end -->")[0]
    assert documented == contract_markdown(), (
        "README contract is stale: paste `python -m extract_load.sources` between the markers"
    )
