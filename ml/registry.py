"""Saved models: one joblib file per trained model, holding the fitted object and its metadata.

A pickled scikit-learn estimator is only safe to load with the version that wrote it (its
internals change between releases and may load but predict differently), so loading checks
the recorded version and refuses a mismatch with an error that says what to do.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn

log = logging.getLogger(__name__)


class IncompatibleModel(RuntimeError):
    """A saved model was written by another scikit-learn version."""


@dataclass(frozen=True)
class SavedModel:
    model: Any
    metadata: dict[str, Any]
    path: Path


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def model_path(models_dir: Path, kind: str, model_version: str) -> Path:
    """Where a model version is saved: `<models_dir>/<kind>/<model_version>.joblib`."""
    return models_dir / kind / f"{model_version}.joblib"


def save(models_dir: Path, kind: str, model_version: str, model: Any, metadata: dict) -> Path:
    """Write the model at `model_path`; the metadata gains the library versions."""
    path = model_path(models_dir, kind, model_version)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {**metadata, "kind": kind, "versions": library_versions()}
    joblib.dump({"model": model, "metadata": metadata}, path)
    return path


def load(path: Path) -> SavedModel:
    """Load a saved model, refusing one written by another scikit-learn version."""
    payload = joblib.load(path)
    saved = payload["metadata"]["versions"]["scikit-learn"]
    if saved != sklearn.__version__:
        raise IncompatibleModel(
            f"{path} was saved with scikit-learn {saved}, this environment has "
            f"{sklearn.__version__}: retrain it (SEGMENTS_RETRAIN=always) or install "
            f"scikit-learn=={saved}"
        )
    return SavedModel(payload["model"], payload["metadata"], path)


def latest(models_dir: Path, kind: str, as_of_date: date) -> Path | None:
    """The newest model of a kind trained for a date on or before `as_of_date`.

    Versions start with the training date (`YYYY-MM-DD-...`), so they sort by it."""
    folder = models_dir / kind
    if not folder.is_dir():
        return None
    candidates = sorted(p for p in folder.glob("*.joblib") if p.stem[:10] <= as_of_date.isoformat())
    return candidates[-1] if candidates else None


def reusable(
    models_dir: Path, kind: str, as_of_date: date, retrain: str
) -> tuple[SavedModel | None, str]:
    """The saved model a run should score with, or None and why a new one is trained.

    retrain: "auto" reuses the latest usable model and trains only when there is none (the
    weekly retrain is the `retrain_models` DAG's, which passes "always"); "always" never
    reuses; "never" always does (and fails without a usable model)."""
    if retrain not in ("auto", "always", "never"):
        raise ValueError(f"retrain must be auto, always or never, not {retrain!r}")
    if retrain == "always":
        return None, "retraining forced"
    path = latest(models_dir, kind, as_of_date)
    if path is None:
        if retrain == "never":
            raise FileNotFoundError(f"no saved {kind} model in {models_dir} and retrain=never")
        return None, "no saved model"
    try:
        saved = load(path)
    except IncompatibleModel:
        if retrain == "never":
            raise
        return None, "saved model from another scikit-learn"
    age = (as_of_date - date.fromisoformat(saved.metadata["as_of_date"])).days
    return saved, f"model is {age} days old"


def train_or_reuse(
    models_dir: Path,
    kind: str,
    as_of_date: date,
    retrain: str,
    train: Callable[[], tuple[Any, dict]],
    stale: Callable[[dict], str | None] = lambda metadata: None,
) -> tuple[Any, dict, bool, str]:
    """The model to score with: the saved one when `reusable` (and `stale` finds nothing
    wrong with its metadata), else a new one from `train`, saved. Returns the model, its
    metadata, whether it was trained now, and why."""
    saved, reason = reusable(models_dir, kind, as_of_date, retrain)
    if saved is not None and (why := stale(saved.metadata)):
        saved, reason = None, why
    if saved is not None:
        log.info("%s: scoring with %s (%s)", kind, saved.path.name, reason)
        return saved.model, saved.metadata, False, reason
    log.info("%s: training (%s)", kind, reason)
    model, metadata = train()
    save(models_dir, kind, metadata["model_version"], model, metadata)
    return model, metadata, True, reason
