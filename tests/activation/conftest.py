"""One warehouse built through activation, shared by the activation tests (read it only;
a test that changes data copies it first with `copy_warehouse`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import AS_OF, build_through_models, configure


def activate(run_id: str) -> None:
    """Publish the model outputs, build the activation layer and export, as the DAGs do
    (gates included: they are what lets a run through)."""
    from pipeline import settings as config
    from pipeline import stages
    from pipeline.dbt_runner import run_dbt

    stages.quality_gate(run_id, "outputs", AS_OF)
    stages.publish_outputs(run_id)
    run_dbt(config.load(), ["build", "--select", "path:models/activation"], AS_OF)
    stages.quality_gate(run_id, "activation", AS_OF)
    stages.export_audiences(run_id)


@pytest.fixture(scope="session")
def activated_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Settings of a warehouse with published segments, the activation tables and a first
    export. The environment is restored after the build: use the returned paths."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        settings = configure(monkeypatch, tmp_path_factory.mktemp("activated"))
        build_through_models("activation-fixture")
        activate("activation-fixture")
    yield settings


def copy_warehouse(settings, monkeypatch: pytest.MonkeyPatch, data_dir: Path):
    """Settings for a copy of `settings`' data folder (warehouse, landing zone, exports,
    models), for a test that changes it."""
    shutil.copytree(settings.data_dir, data_dir)
    return configure(monkeypatch, data_dir)
