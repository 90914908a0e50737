"""How well the models recover what the generator planted: segments against personas,
purchase scores against the true 30-day probabilities, value against the next year's spend.

Each warehouse person is matched to the hidden person whose primary CRM id it holds
(`crm_id` = `true_person`), so every true person is scored once, through the profile the
warehouse built for them; fragments without that id (devices that never logged in) are not
customers a campaign could reach and are left out. Read by tests and the benchmark, never by
the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import adjusted_rand_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from ml.features import observed, read_features, scoring_matrix
from ml.propensity import candidates


@dataclass(frozen=True)
class ModelScores:
    people: int  # true persons matched to a warehouse person with a segment and scores
    segments_ari: float  # adjusted Rand index of segment vs persona (identified people)
    purchase_auc: float  # ROC-AUC of p_purchase_30d against what happened in the 30 days
    purchase_auc_truth: float  # the same for the true probabilities: the best possible
    value_spearman: float  # rank correlation of predicted and realised 12-month spend
    value_mae: float  # mean absolute error against the realised spend
    value_mae_truth: float  # the same for the true expected value: the irreducible noise
    value_total_error: float  # predicted total / realised total - 1


_MATCHED_SQL = """
select
    ids.person_id,
    truth.persona,
    truth.purchased_30d,
    truth.p_purchase_30d as p_true,
    truth.value_365d,
    truth.spend_365d,
    segments.segment_id,
    scores.p_purchase_30d,
    value.predicted_value_12m
from read_parquet($persons) as truth
inner join marts.person_identifiers as ids
    on ids.identifier_type = 'crm_id' and ids.identifier_value = truth.true_person
inner join {schema}.customer_segments as segments on segments.person_id = ids.person_id
inner join {schema}.propensity_scores as scores on scores.person_id = ids.person_id
inner join {schema}.customer_value as value on value.person_id = ids.person_id
"""


def model_scores(warehouse: Path, truth_dir: Path, schema: str = "segments") -> ModelScores:
    """Score the model tables in `schema` of `warehouse` against `truth_dir/persons.parquet`."""
    persons = Path(truth_dir) / "persons.parquet"
    if not persons.exists():
        raise FileNotFoundError(f"no demo truth at {persons}")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.execute(_MATCHED_SQL.format(schema=schema), {"persons": str(persons)}).df()
    if frame.empty:
        raise ValueError(f"no warehouse person matches the truth in {persons}")
    identified = frame[frame["segment_id"] > 0]
    bought = frame["purchased_30d"].to_numpy()
    spend = frame["spend_365d"].to_numpy(float)
    predicted = frame["predicted_value_12m"].to_numpy(float)
    return ModelScores(
        people=len(frame),
        segments_ari=float(adjusted_rand_score(identified["persona"], identified["segment_id"])),
        purchase_auc=float(roc_auc_score(bought, frame["p_purchase_30d"])),
        purchase_auc_truth=float(roc_auc_score(bought, frame["p_true"])),
        value_spearman=float(spearmanr(predicted, spend).statistic),
        value_mae=float(np.mean(np.abs(predicted - spend))),
        value_mae_truth=float(np.mean(np.abs(frame["value_365d"].to_numpy(float) - spend))),
        value_total_error=float(predicted.sum() / max(spend.sum(), 1e-12) - 1.0),
    )


def purchase_auc_ceiling(
    warehouse: Path, truth_dir: Path, as_of_date: date, schema: str = "segments"
) -> float:
    """The ROC-AUC a model reaches when it is fitted to the holdout's own outcomes.

    The true probabilities' AUC is out of reach: they come from each person's hidden rate,
    where a model sees a few orders drawn from it. This fits the propensity candidates to
    `purchased_30d` itself (features as of the run's date, segments as inputs, as the
    pipeline scores them), out of fold, and keeps the better: no window shift, no season to
    guess. A model trained on the past can only approach it.
    """
    persons = Path(truth_dir) / "persons.parquet"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        features = read_features(con, as_of_date)
        matched = con.execute(_MATCHED_SQL.format(schema=schema), {"persons": str(persons)}).df()
    rows = features.reset_index(names="row").merge(
        matched[["person_id", "segment_id", "purchased_30d"]], on="person_id"
    )
    segment = pd.get_dummies(rows["segment_id"], prefix="segment", dtype=float)
    inputs = scoring_matrix(features).iloc[rows["row"]].reset_index(drop=True)
    X = observed(pd.concat([inputs, segment], axis=1))
    y = rows["purchased_30d"].to_numpy()
    folds = StratifiedKFold(4, shuffle=True, random_state=0)
    return max(
        float(roc_auc_score(y, cross_val_predict(m, X, y, cv=folds, method="predict_proba")[:, 1]))
        for m in candidates(random_state=0).values()
    )
