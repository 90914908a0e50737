"""Cluster people on their RFM features and write named segments back to the warehouse.

One scikit-learn Pipeline (log transforms for the skewed counts and money, scaling, K-Means)
is fitted and saved as a single object with its metadata, so the transform used when scoring
is the one used in training. k is chosen on a bounded sample, so only the final fit grows with
the number of people, and linearly.
"""

from __future__ import annotations

import json
import logging
import platform
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.metrics import silhouette_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

log = logging.getLogger(__name__)

FEATURES = ["recency_days", "frequency", "monetary"]
SELECTION_SAMPLE = 50_000  # rows on which candidate k are fitted
SILHOUETTE_SAMPLE = 4_000  # rows silhouette compares pairwise (memory ~ n²)


@dataclass(frozen=True)
class SegmentationResult:
    model_version: str
    k: int
    silhouette: float
    sizes: dict[str, int]


def read_features(con: duckdb.DuckDBPyConnection, as_of_date: date) -> pd.DataFrame:
    """RFM features of every person as of the date; never-bought recency is the longest seen + 1.

    A person who never bought is "less recent" than anyone who did, so their recency is set
    just past the largest observed value rather than dropped or zeroed.
    """
    frame = con.execute(
        """
        select person_id, recency_days, frequency, cast(monetary as double) as monetary
        from marts.customer_rfm
        where as_of_date = ?
        order by person_id
        """,
        [as_of_date],
    ).df()
    if frame.empty:
        raise ValueError(f"marts.customer_rfm has no rows for as_of_date {as_of_date}")
    never = frame["recency_days"].isna()
    frame["recency_days"] = frame["recency_days"].astype("float64")
    frame.loc[never, "recency_days"] = (frame["recency_days"].max() or 0.0) + 1.0
    return frame


def build_pipeline(k: int, random_state: int) -> Pipeline:
    log1p = FunctionTransformer(np.log1p, feature_names_out="one-to-one")
    preprocess = ColumnTransformer(
        [
            ("log_counts_money", log1p, ["frequency", "monetary"]),
            ("recency", "passthrough", ["recency_days"]),
        ]
    )
    return Pipeline(
        [
            ("preprocess", preprocess),
            ("scale", StandardScaler()),
            ("cluster", KMeans(n_clusters=k, n_init=4, random_state=random_state)),
        ]
    )


def choose_k(
    features: pd.DataFrame, k_min: int, k_max: int, random_state: int
) -> tuple[int, float]:
    """Pick k by silhouette, fitting candidates on a bounded sample so cost stays flat in n.

    Silhouette is quadratic in the rows it scores, so it sees a fixed-size sub-sample.
    """
    sample = features.sample(n=min(SELECTION_SAMPLE, len(features)), random_state=random_state)
    best: tuple[int, float] | None = None
    for k in range(k_min, min(k_max, len(sample) - 1) + 1):
        pipeline = build_pipeline(k, random_state).fit(sample[FEATURES])
        score = float(
            silhouette_score(
                pipeline[:-1].transform(sample[FEATURES]),
                pipeline[-1].labels_,
                sample_size=min(SILHOUETTE_SAMPLE, len(sample)),
                random_state=random_state,
            )
        )
        log.info("k=%d silhouette=%.3f", k, score)
        if best is None or score > best[1]:
            best = (k, score)
    if best is None:
        raise ValueError(f"too few people ({len(features)}) to cluster into {k_min}+ segments")
    return best


def name_segments(features: pd.DataFrame, labels: np.ndarray) -> dict[int, str]:
    """Name each cluster from its median traits relative to everyone's, in a marketer's words."""
    frame = features.assign(segment=labels)
    medians = frame.groupby("segment")[FEATURES].median()
    overall = features[FEATURES].median()
    names = {}
    for segment, row in medians.iterrows():
        if row["frequency"] == 0:
            names[segment] = "Prospects, no purchase yet"
            continue
        value = (
            "High spenders"
            if row["monetary"] >= 2 * overall["monetary"]
            else ("Mid spenders" if row["monetary"] >= overall["monetary"] else "Low spenders")
        )
        often = "frequent" if row["frequency"] >= 2 * max(overall["frequency"], 1) else "occasional"
        recency = (
            "active"
            if row["recency_days"] <= 60
            else "cooling"
            if row["recency_days"] <= 180
            else "lapsed"
        )
        names[segment] = f"{value}, {often}, {recency}"
    # Two clusters can read alike; number the repeats so names stay unique.
    seen: dict[str, int] = {}
    for segment in sorted(names):
        seen[names[segment]] = seen.get(names[segment], 0) + 1
        if seen[names[segment]] > 1:
            names[segment] = f"{names[segment]} ({seen[names[segment]]})"
    return names


def train_and_assign(
    warehouse_path: Path,
    models_dir: Path,
    as_of_date: date,
    k_min: int,
    k_max: int,
    random_state: int,
    schema: str = "segments",
) -> SegmentationResult:
    """Fit the clustering, save it, and replace `<schema>.customer_segments` for the date.

    The pipeline writes to a candidate schema that the outputs gate validates before
    publishing; `segments.model_runs` logs every training, published or not."""
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        features = read_features(con, as_of_date)
    k, silhouette = choose_k(features, k_min, k_max, random_state)
    pipeline = build_pipeline(k, random_state).fit(features[FEATURES])
    labels = pipeline[-1].labels_
    names = name_segments(features, labels)

    trained_at = datetime.now(UTC)
    model_version = f"kmeans-{as_of_date.isoformat()}-k{k}"
    metadata = {
        "model_version": model_version,
        "kind": "segmentation",
        "algorithm": "kmeans",
        "features": FEATURES,
        "as_of_date": as_of_date.isoformat(),
        "rows": len(features),
        "k": k,
        "silhouette_sample": silhouette,
        "segment_names": {str(key): value for key, value in names.items()},
        "versions": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
    }
    models_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(
        {"pipeline": pipeline, "metadata": metadata}, models_dir / f"{model_version}.joblib"
    )

    segments = pd.DataFrame(
        {
            "person_id": features["person_id"],
            "segment_id": labels.astype("int32"),
            "segment_name": [names[label] for label in labels],
            "model_version": model_version,
            "as_of_date": as_of_date,
        }
    )
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute(f"create schema if not exists {schema}")
        con.execute("create schema if not exists segments")
        con.execute("begin transaction")
        con.execute(f"create or replace table {schema}.customer_segments as select * from segments")
        con.execute(
            """
            create table if not exists segments.model_runs (
                model_version varchar primary key, kind varchar, trained_at timestamptz,
                metrics json
            )
            """
        )
        con.execute(
            "insert or replace into segments.model_runs values (?, ?, ?, ?)",
            [model_version, "segmentation", trained_at, json.dumps(metadata)],
        )
        con.execute("commit")
    sizes = segments["segment_name"].value_counts().to_dict()
    log.info("wrote %d people in %d segments (%s)", len(segments), k, model_version)
    return SegmentationResult(model_version, k, silhouette, sizes)
