"""Is this run's segmentation comparable with the last one, and does today's population still
look like the one the model was trained on?

Membership: adjusted Rand index between the last published segments and this run's, over the
people in both, and the transition counts (who moved from which segment to which).
Features: population stability index (PSI) of each model input against the training data's
deciles, stored with the model. PSI above 0.2 is the usual "the population has shifted"
line; a flagged shift makes the next run retrain instead of reusing the saved model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

PSI_BINS = 10
PSI_FLOOR = 1e-4  # an empty bin would make the logarithm infinite


def reference_bins(frame: pd.DataFrame) -> dict[str, dict[str, list[float]]]:
    """Decile edges of each column and the training shares in them (NaN is its own bin)."""
    reference = {}
    for column in frame.columns:
        values = frame[column].to_numpy(dtype=float)
        edges = np.unique(np.nanquantile(values, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
        if np.isnan(values).all():
            edges = np.array([])
        reference[column] = {
            "edges": edges.tolist(),
            "shares": _shares(values, edges).tolist(),
        }
    return reference


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of values per bin: len(edges) + 1 bins, then one for NaN."""
    missing = np.isnan(values)
    bins = np.searchsorted(edges, values[~missing], side="right")
    counts = np.bincount(bins, minlength=len(edges) + 1).astype(float)
    counts = np.append(counts, missing.sum())
    return counts / max(len(values), 1)


def population_stability(reference: dict, frame: pd.DataFrame) -> dict[str, float]:
    """PSI of each referenced column: sum over bins of (now - then) * ln(now / then)."""
    result = {}
    for column, ref in reference.items():
        expected = np.maximum(np.asarray(ref["shares"]), PSI_FLOOR)
        actual = np.maximum(
            _shares(frame[column].to_numpy(dtype=float), np.asarray(ref["edges"])), PSI_FLOOR
        )
        result[column] = float(np.sum((actual - expected) * np.log(actual / expected)))
    return result


def compare_memberships(
    previous: pd.DataFrame, current: pd.DataFrame
) -> tuple[float | None, pd.DataFrame]:
    """ARI over the people in both runs and the (from, to) transition counts.

    Both frames have person_id and segment_name; names, not ids, are compared, since a
    retrained model may number the same segments differently."""
    both = previous.merge(current, on="person_id", suffixes=("_from", "_to"))
    if both.empty:
        return None, pd.DataFrame(columns=["segment_from", "segment_to", "people"])
    ari = float(adjusted_rand_score(both["segment_name_from"], both["segment_name_to"]))
    transitions = (
        both.groupby(["segment_name_from", "segment_name_to"])
        .size()
        .reset_index(name="people")
        .rename(columns={"segment_name_from": "segment_from", "segment_name_to": "segment_to"})
    )
    return ari, transitions
