"""Predicted value of each person over the next 12 months.

Method: a gradient-boosted regressor of the net spend, trained on a time split from
customer_features: features as of T-365, target the net spend between T-365 and T (the
growth of `monetary`: completed orders, refunds and cancellations excluded). It then
predicts from T's features the spend of the 12 months after T. Squared error, not a Poisson
loss: both fit the training year's total, but the Poisson model's log link carried the
small shift between a one-year and a two-year history multiplicatively into today's
predictions (measured at 10k customers: total next-year spend -35% with Poisson, -9% with
squared error; rank correlation with the realised spend 0.50 against 0.73).

The naive forecast, "next year like the last", is cross-validated beside it and recorded,
so the model's gain is a measured number, not a claim.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import KFold, cross_val_predict

from ml import registry
from ml.features import observed, read_features, scoring_matrix, snapshot_pair
from ml.propensity import deciles
from ml.warehouse import write_scores

log = logging.getLogger(__name__)
KIND = "value"
HORIZON_DAYS = 365
SELECTION_SAMPLE = 100_000
FIT_SAMPLE = 300_000
METHOD = (
    "HistGradientBoostingRegressor (squared error) on customer_features as of T-365, "
    "target net spend from T-365 to T; predicts the 12 months after T"
)


def regressor(random_state: int) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        max_iter=300, learning_rate=0.05, early_stopping=False, random_state=random_state
    )


def regression_metrics(y: np.ndarray, predicted: np.ndarray) -> dict:
    """Mean absolute error, its share of the mean spend, and the error of the total."""
    mean = max(float(y.mean()), 1e-12)
    mae = float(np.mean(np.abs(y - predicted)))
    return {
        "mae": mae,
        "mae_over_mean": mae / mean,
        "total_error": float(predicted.sum() / max(y.sum(), 1e-12) - 1.0),
        "mean_actual": float(y.mean()),
    }


def train(
    con: duckdb.DuckDBPyConnection, as_of_date: date, random_state: int
) -> tuple[HistGradientBoostingRegressor, dict]:
    """Fit on the year before the date: features as of T-365, net spend up to T."""
    cutoff = as_of_date - timedelta(days=HORIZON_DAYS)
    then, now = snapshot_pair(con, cutoff, as_of_date, ["monetary"])
    spend = np.maximum(now["monetary"].to_numpy(float) - then["monetary"].to_numpy(float), 0.0)
    spend = np.nan_to_num(spend)
    X = observed(scoring_matrix(then))

    rng = np.random.default_rng(random_state)
    pick = rng.choice(len(X), size=min(SELECTION_SAMPLE, len(X)), replace=False)
    folds = KFold(4, shuffle=True, random_state=random_state)
    out_of_fold = cross_val_predict(regressor(random_state), X.iloc[pick], spend[pick], cv=folds)
    naive = np.nan_to_num(X["spend_per_year"].to_numpy(float)[pick])
    metrics = {
        "cross_validated": regression_metrics(spend[pick], out_of_fold),
        "naive_last_year": regression_metrics(spend[pick], naive),
    }
    log.info(
        "value: cross-validated MAE %.2f (naive %.2f)",
        metrics["cross_validated"]["mae"],
        metrics["naive_last_year"]["mae"],
    )
    fit_rows = rng.choice(len(X), size=min(FIT_SAMPLE, len(X)), replace=False)
    model = clone(regressor(random_state)).fit(X.iloc[fit_rows], spend[fit_rows])
    metadata = {
        "model_version": f"{as_of_date.isoformat()}-gbm",
        "as_of_date": as_of_date.isoformat(),
        "method": METHOD,
        "data_window": {
            "features_as_of": cutoff.isoformat(),
            "label_until": as_of_date.isoformat(),
        },
        "features": list(X.columns),
        "metrics": metrics,
        "training_rows": len(X),
    }
    return model, metadata


def run_value(
    warehouse_path: Path,
    models_dir: Path,
    as_of_date: date,
    random_state: int,
    schema: str,
    retrain: str = "auto",
) -> dict:
    """Predict everyone's next 12 months with the saved model, or a new one when a retrain
    is due; write `<schema>.customer_value` and log the run."""
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        model, metadata, retrained, reason = registry.train_or_reuse(
            models_dir,
            KIND,
            as_of_date,
            retrain,
            lambda: train(con, as_of_date, random_state),
        )
        today = read_features(con, as_of_date)
    predicted = np.maximum(model.predict(scoring_matrix(today)[metadata["features"]]), 0.0)
    table = pd.DataFrame(
        {
            "person_id": today["person_id"],
            "predicted_value_12m": np.round(predicted, 2),
            "value_decile": deciles(predicted),
            "method": "gradient_boosting",
            "model_version": metadata["model_version"],
            "as_of_date": as_of_date,
        }
    )
    run = metadata | {"retrained": retrained, "reason": reason}
    return write_scores(warehouse_path, schema, "customer_value", table, KIND, as_of_date, run)
