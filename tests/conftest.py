"""Shared test set-up: every test works in its own temporary data folder, never in ./data."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 25)
TEST_CUSTOMERS = 1500

# Airflow reads its configuration when first imported: point it away from ~/airflow first.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
os.environ["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] = "False"
os.environ["AIRFLOW__COSMOS__CACHE_DIR"] = tempfile.mkdtemp(prefix="cosmos-cache-")
# A developer's own overrides must not send tests to their warehouse.
for name in [n for n in os.environ if n.startswith("SEGMENTS_") and n != "SEGMENTS_TEST_PG_DSN"]:
    del os.environ[name]


def configure(monkeypatch: pytest.MonkeyPatch, data_dir: Path, customers: int = TEST_CUSTOMERS):
    """Settings whose every path lies under data_dir."""
    from pipeline import settings as config

    monkeypatch.setenv("SEGMENTS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SEGMENTS_DEMO_CUSTOMERS", str(customers))
    return config.load()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    return configure(monkeypatch, tmp_path / "data")


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield configure(monkeypatch, tmp_path_factory.mktemp("data"))


def build_through_models(run_id: str) -> None:
    """Generate the demo company for the configured settings, load it, build every dbt model
    and run the three model stages as of AS_OF, as the DAG does (no quality gates, nothing
    published: the model outputs stay candidates)."""
    from extract_load.sources import SOURCES
    from pipeline import settings as config
    from pipeline import stages
    from pipeline.dbt_runner import run_dbt

    stages.generate_sources(run_id, AS_OF)
    for source in SOURCES:
        stages.load_source(run_id, source.table)
    run_dbt(config.load(), ["build"], AS_OF)  # the DAG's two layers in one build
    stages.segment_customers(run_id, AS_OF)
    stages.score_propensity(run_id, AS_OF)
    stages.predict_value(run_id, AS_OF)


def pytest_sessionstart(session: pytest.Session) -> None:
    """The DAG renders its dbt tasks from a parsed manifest: parse the project if it changed."""
    from pipeline.dbt_manifest import ensure_manifest

    ensure_manifest()
