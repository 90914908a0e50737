"""Who will buy in the next 30 days, and which buyers will not buy again within a year.

Both are learned on a time split from customer_features alone: features as of an earlier
snapshot, the label from what changed by the run's date (purchase: frequency grew between
T-30 and T; churn: a buyer as of T-365 whose frequency did not grow by T). The fitted model
then scores T's features, i.e. the 30 days (or the year) after the run's date.

Logistic regression and gradient boosting are compared by stratified cross-validation on
the training snapshot (a bounded sample, so the comparison costs the same at any scale),
by ROC-AUC; the better one is refitted and kept. Out-of-fold predictions give the recorded
ROC-AUC, PR-AUC, Brier score and lift by decile.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from ml import registry
from ml.features import observed, read_features, scoring_matrix, snapshot_pair
from ml.segmentation import SegmentModel, is_identified
from ml.warehouse import write_scores

log = logging.getLogger(__name__)
KIND = "propensity"
PURCHASE_DAYS = 30
CHURN_DAYS = 365
SELECTION_SAMPLE = 60_000  # rows the cross-validated comparison sees
FIT_SAMPLE = 300_000  # rows the kept model is refitted on
FOLDS = 4


def with_segments(
    X: pd.DataFrame, frame: pd.DataFrame, segments: SegmentModel | None
) -> pd.DataFrame:
    """The scoring inputs plus one 0/1 column per segment of the saved segmentation model.

    A segment is a stable summary of behaviour (a holiday shopper stays one whether or not
    the season has started), where single features such as recency move with the calendar;
    measured on the demo, it lifts the holdout ROC-AUC by about 0.02."""
    if segments is None:
        return X
    identified = is_identified(frame).to_numpy()
    segment = np.zeros(len(frame), dtype=np.int64)
    if identified.any():
        segment[identified] = segments.assign(frame[identified])[0]
    columns = {f"segment_{s}": (segment == s).astype(float) for s in sorted(segments.centroids)}
    return X.assign(**columns)


def _signed_log1p(X: np.ndarray) -> np.ndarray:
    return np.sign(X) * np.log1p(np.abs(X))


def candidates(random_state: int) -> dict[str, Pipeline | HistGradientBoostingClassifier]:
    """The two model families compared. Logistic regression needs the skewed money and
    counts logged, gaps filled (with an indicator, since "never" is informative) and scaled;
    gradient boosting takes the raw numbers and missing values as they are."""
    return {
        "logistic_regression": Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", add_indicator=True)),
                ("log", FunctionTransformer(_signed_log1p)),
                ("scale", StandardScaler()),
                ("model", LogisticRegression(max_iter=2000)),
            ]
        ),
        "gradient_boosting": HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=random_state
        ),
    }


def lift_by_decile(y: np.ndarray, p: np.ndarray) -> list[float]:
    """Positive rate in each tenth of people ranked by score (1 = top), over the base rate."""
    order = np.argsort(-p, kind="stable")
    deciles = np.array_split(y[order], 10)
    base = max(float(y.mean()), 1e-12)
    return [round(float(d.mean()) / base, 4) if len(d) else 0.0 for d in deciles]


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "base_rate": float(y.mean()),
        "lift_by_decile": lift_by_decile(y, p),
    }


@dataclass(frozen=True)
class FittedClassifier:
    name: str
    model: object
    columns: list[str]
    metrics: dict  # the kept model's cross-validated metrics, and every candidate's


def fit_best(X: pd.DataFrame, y: np.ndarray, random_state: int) -> FittedClassifier:
    """Compare the candidates by out-of-fold ROC-AUC on a sample; refit the better one."""
    if len(np.unique(y)) < 2:
        raise ValueError("the label has one class only: nothing to learn")
    X = observed(X)
    rng = np.random.default_rng(random_state)
    pick = rng.choice(len(X), size=min(SELECTION_SAMPLE, len(X)), replace=False)
    Xs, ys = X.iloc[pick], y[pick]
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=random_state)
    scores = {}
    for name, model in candidates(random_state).items():
        oof = cross_val_predict(model, Xs, ys, cv=folds, method="predict_proba")[:, 1]
        scores[name] = classification_metrics(ys, oof)
        log.info("%s: cross-validated ROC-AUC %.4f", name, scores[name]["roc_auc"])
    best = max(scores, key=lambda name: scores[name]["roc_auc"])
    fit_rows = rng.choice(len(X), size=min(FIT_SAMPLE, len(X)), replace=False)
    model = clone(candidates(random_state)[best]).fit(X.iloc[fit_rows], y[fit_rows])
    metrics = {"kept": best, **scores[best], "candidates": scores, "training_rows": len(X)}
    return FittedClassifier(best, model, list(X.columns), metrics)


def deciles(p: np.ndarray) -> np.ndarray:
    """1 for the tenth most likely, 10 for the least (ties share the better decile)."""
    rank = pd.Series(p).rank(ascending=False, method="min").to_numpy()
    return np.minimum(10, 1 + ((rank - 1) * 10 // max(len(p), 1))).astype("int32")


def train(
    con: duckdb.DuckDBPyConnection,
    as_of_date: date,
    segments: registry.SavedModel | None,
    random_state: int,
) -> tuple[dict[str, FittedClassifier], dict]:
    """Fit the purchase and churn models on their time splits; the models and metadata."""
    purchase_cutoff = as_of_date - timedelta(days=PURCHASE_DAYS)
    churn_cutoff = as_of_date - timedelta(days=CHURN_DAYS)
    early, late = snapshot_pair(con, purchase_cutoff, as_of_date, ["frequency"])
    year_ago, year_later = snapshot_pair(con, churn_cutoff, as_of_date, ["frequency"])
    segment_model = segments.model if segments else None

    bought = (late["frequency"].to_numpy(float) > early["frequency"].to_numpy(float)).astype(int)
    X = with_segments(scoring_matrix(early), early, segment_model)
    purchase = fit_best(X, bought, random_state)
    buyers = year_ago["frequency"].to_numpy(float) > 0
    stayed = (
        year_later["frequency"].to_numpy(float)[buyers]
        > year_ago["frequency"].to_numpy(float)[buyers]
    )
    X = scoring_matrix(year_ago[buyers].reset_index(drop=True))
    churn = fit_best(X, (~stayed).astype(int), random_state)
    metadata = {
        "model_version": f"{as_of_date.isoformat()}-{purchase.name}-{churn.name}",
        "as_of_date": as_of_date.isoformat(),
        "segmentation_version": segments.metadata["model_version"] if segments else None,
        "data_window": {
            "purchase": {
                "features_as_of": purchase_cutoff.isoformat(),
                "label_until": as_of_date.isoformat(),
            },
            "churn": {
                "features_as_of": churn_cutoff.isoformat(),
                "label_until": as_of_date.isoformat(),
            },
        },
        "features": purchase.columns,
        "purchase_30d": purchase.metrics,
        "churn_365d": churn.metrics,
    }
    return {"purchase": purchase, "churn": churn}, metadata


def run_propensity(
    warehouse_path: Path,
    models_dir: Path,
    as_of_date: date,
    random_state: int,
    schema: str,
    retrain: str = "auto",
) -> dict:
    """Score everyone as of T with the saved models, or with new ones when a retrain is due
    (as for segments) or the segments they take as inputs changed; write
    `<schema>.propensity_scores` and log the run."""
    segments_path = registry.latest(models_dir, "segmentation", as_of_date)
    segments = registry.load(segments_path) if segments_path else None
    if segments is None:
        log.warning("no segmentation model: purchase scores without segment inputs")
    segments_version = segments.metadata["model_version"] if segments else None
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        models, metadata, retrained, reason = registry.train_or_reuse(
            models_dir,
            KIND,
            as_of_date,
            retrain,
            lambda: train(con, as_of_date, segments, random_state),
            stale=lambda saved: (
                "segments retrained" if saved["segmentation_version"] != segments_version else None
            ),
        )
        today = read_features(con, as_of_date)

    purchase, churn = models["purchase"], models["churn"]
    X = with_segments(scoring_matrix(today), today, segments.model if segments else None)
    p_purchase = purchase.model.predict_proba(X[purchase.columns])[:, 1]
    is_buyer = today["frequency"].to_numpy(float) > 0
    # Churn is a buyer's risk: only buyers are scored (a quarter of the people at 1M are not).
    p_churn = np.full(len(today), np.nan)
    if is_buyer.any():
        p_churn[is_buyer] = churn.model.predict_proba(X.loc[is_buyer, churn.columns])[:, 1]
    scores = pd.DataFrame(
        {
            "person_id": today["person_id"],
            "p_purchase_30d": p_purchase,
            "decile": deciles(p_purchase),
            "p_churn": p_churn,
            "model_version": metadata["model_version"],
            "as_of_date": as_of_date,
        }
    )
    run = metadata | {"retrained": retrained, "reason": reason}
    return write_scores(warehouse_path, schema, "propensity_scores", scores, KIND, as_of_date, run)
