"""Learned customer segments: who belongs together, under a name a marketer can read.

Input is `customer_features` as of the run's date (see ml/features.py). The people clustered
are the identified ones (a CRM record or a purchase); devices that never logged in are
fragments of somebody the warehouse cannot name, and would pull centroids towards "no
data", so they get segment 0, "Not identified".

The model is one scikit-learn Pipeline saved with its metadata: the traits a segment is
about (buying rate and spend per year, basket size, recency, tenure, discount, store and
holiday shares, browsing recency), log transforms for the skewed rates and money, scaling,
then the clusterer. Rates per year rather than lifetime counts, so a customer who joined a
year ago is not mistaken for a light buyer. k is chosen on a bounded sample by three
measured criteria, so only the final fit grows with the number of people, and linearly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.compose import ColumnTransformer
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sklearn.neighbors import NearestCentroid
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from ml.features import order_rates

log = logging.getLogger(__name__)

LOGGED = ["orders_per_year", "spend_per_year", "days_since_first_seen"]
LINEAR = [
    "avg_order_value",
    "recency_days",
    "discounted_order_share",
    "store_order_share",
    "holiday_order_share",
    "days_since_last_session",
]
TRAITS = LOGGED + LINEAR
SHARES = ["discounted_order_share", "store_order_share", "holiday_order_share"]
PRIOR_ORDERS = 2.0  # weight of the population's share in a person's smoothed share
SELECTION_SAMPLE = 50_000  # rows on which candidate k are fitted and scored
SILHOUETTE_SAMPLE = 5_000  # silhouette compares rows pairwise (memory ~ n²)
AGGLOMERATIVE_SAMPLE = 5_000  # Ward linkage is quadratic too: it sees a sample
NOT_IDENTIFIED = (0, "Not identified")


def is_identified(features: pd.DataFrame) -> pd.Series:
    """People the warehouse can name: a CRM record, or at least one purchase."""
    return (features["is_crm_customer"] == 1) | (features["is_buyer"] == 1)


class CustomerTraits(BaseEstimator, TransformerMixin):
    """customer_features columns -> the traits clustering compares.

    Rates are per year of order history (ml.features.order_rates). "Never" (no
    order, no session) becomes one day longer than the longest seen in training, so a
    non-buyer is further from a purchase than any buyer. Shares of orders (discounted, in
    store, in the holidays) are smoothed towards the buyers' mean as if each person had
    PRIOR_ORDERS more orders at that mean: one order in November says little about a
    holiday shopper, six out of seven say a lot; without orders a share is the mean."""

    def fit(self, frame: pd.DataFrame, y=None) -> CustomerTraits:
        self.never_ = {
            column: float(np.nan_to_num(frame[column].max(), nan=0.0)) + 1.0
            for column in ("recency_days", "days_since_last_session")
        }
        self.prior_ = {column: float(np.nan_to_num(frame[column].mean())) for column in SHARES}
        return self

    def _smoothed(self, frame: pd.DataFrame, column: str) -> np.ndarray:
        orders = frame["frequency"].fillna(0).to_numpy(float)
        share = frame[column].fillna(0).to_numpy(float)
        return (share * orders + PRIOR_ORDERS * self.prior_[column]) / (orders + PRIOR_ORDERS)

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        traits = order_rates(frame).assign(
            **{
                "days_since_first_seen": frame["days_since_first_seen"].fillna(0),
                "avg_order_value": frame["avg_order_value"].fillna(0),
                "recency_days": frame["recency_days"].fillna(self.never_["recency_days"]),
                "discounted_order_share": self._smoothed(frame, "discounted_order_share"),
                "store_order_share": self._smoothed(frame, "store_order_share"),
                "holiday_order_share": self._smoothed(frame, "holiday_order_share"),
                "days_since_last_session": frame["days_since_last_session"].fillna(
                    self.never_["days_since_last_session"]
                ),
            }
        )
        return traits[TRAITS].astype("float64")

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.array(TRAITS)


class SampledAgglomerative(BaseEstimator, ClusterMixin):
    """Ward clustering of a random sample, then everyone to the nearest sample centroid.

    Ward linkage holds a distance matrix of the rows it sees, so it sees a bounded sample;
    assigning the rest is one nearest-centroid pass, linear in people."""

    def __init__(self, n_clusters: int = 8, sample: int = AGGLOMERATIVE_SAMPLE, random_state=0):
        self.n_clusters = n_clusters
        self.sample = sample
        self.random_state = random_state

    def fit(self, X: np.ndarray, y=None) -> SampledAgglomerative:
        rng = np.random.default_rng(self.random_state)
        rows = rng.choice(len(X), size=min(self.sample, len(X)), replace=False)
        sample_labels = AgglomerativeClustering(self.n_clusters, linkage="ward").fit_predict(
            X[rows]
        )
        self.nearest_ = NearestCentroid().fit(X[rows], sample_labels)
        self.cluster_centers_ = self.nearest_.centroids_
        self.labels_ = self.predict(X)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.nearest_.predict(X)


def build_pipeline(algorithm: str, k: int, random_state: int) -> Pipeline:
    log1p = FunctionTransformer(np.log1p, feature_names_out="one-to-one")
    transform = ColumnTransformer(
        [("log_rates_money", log1p, LOGGED), ("linear", "passthrough", LINEAR)]
    )
    if algorithm == "kmeans":
        clusterer = KMeans(n_clusters=k, n_init=4, random_state=random_state)
    elif algorithm == "agglomerative":
        clusterer = SampledAgglomerative(n_clusters=k, random_state=random_state)
    else:
        raise ValueError(f"unknown clustering algorithm {algorithm!r}: kmeans or agglomerative")
    return Pipeline(
        [
            ("traits", CustomerTraits()),
            ("transform", transform),
            ("scale", StandardScaler()),
            ("cluster", clusterer),
        ]
    )


@dataclass
class KChoice:
    k: int
    scores: dict[int, dict[str, float]] = field(default_factory=dict)


def choose_k(
    features: pd.DataFrame, algorithm: str, k_min: int, k_max: int, random_state: int
) -> KChoice:
    """Score each k on a bounded sample and pick the best by the sum of its three ranks.

    Silhouette (higher is better, pairwise so on a sub-sample), Calinski-Harabasz (higher)
    and Davies-Bouldin (lower) each favour a different shape of solution; the k that does
    well on all three is kept, silhouette breaking ties."""
    sample = features.sample(n=min(SELECTION_SAMPLE, len(features)), random_state=random_state)
    prepared = build_pipeline(algorithm, k_min, random_state)[:-1].fit(sample)
    X = prepared.transform(sample)
    scores: dict[int, dict[str, float]] = {}
    for k in range(k_min, min(k_max, len(sample) - 1) + 1):
        labels = build_pipeline(algorithm, k, random_state)[-1].fit(X).labels_
        if len(np.unique(labels)) < 2:
            continue
        scores[k] = {
            "silhouette": float(
                silhouette_score(
                    X, labels, sample_size=min(SILHOUETTE_SAMPLE, len(X)), random_state=random_state
                )
            ),
            "calinski_harabasz": float(calinski_harabasz_score(X, labels)),
            "davies_bouldin": float(davies_bouldin_score(X, labels)),
        }
        log.info("k=%d %s", k, scores[k])
    if not scores:
        raise ValueError(f"too few people ({len(features)}) to cluster into {k_min}+ segments")
    table = pd.DataFrame(scores).T
    rank = (
        table["silhouette"].rank(ascending=False)
        + table["calinski_harabasz"].rank(ascending=False)
        + table["davies_bouldin"].rank(ascending=True)
    )
    best = table.assign(rank=rank).sort_values(["rank", "silhouette"], ascending=[True, False])
    return KChoice(int(best.index[0]), scores)


@dataclass
class SegmentModel:
    """A fitted pipeline and how its clusters map to published segments (small ones merged)."""

    pipeline: Pipeline
    segment_of_cluster: np.ndarray  # cluster number -> segment id (1..)
    centroids: dict[int, np.ndarray]  # segment id -> centre in the scaled space
    names: dict[int, str] = field(default_factory=dict)

    def assign(self, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Segment id and distance to the segment's centre (scaled units) of every row."""
        X = self.pipeline[:-1].transform(features)
        segment = self.segment_of_cluster[self.pipeline[-1].predict(X)]
        ids = np.array(sorted(self.centroids))
        centres = np.stack([self.centroids[i] for i in ids])
        return segment, np.linalg.norm(X - centres[np.searchsorted(ids, segment)], axis=1)


def fit_segments(
    features: pd.DataFrame,
    algorithm: str,
    k: int,
    min_share: float,
    random_state: int,
) -> SegmentModel:
    """Fit on everyone, merge clusters below min_share into the nearest other, number the
    segments by size (1 = largest)."""
    pipeline = build_pipeline(algorithm, k, random_state).fit(features)
    X = pipeline[:-1].transform(features)
    clusters = pipeline[-1].labels_
    centres = np.asarray(pipeline[-1].cluster_centers_)
    sizes = np.bincount(clusters, minlength=len(centres))
    keep = sizes >= min_share * len(features)
    if not keep.any():
        keep[np.argmax(sizes)] = True
    target = np.arange(len(centres))
    for small in np.flatnonzero(~keep):
        distances = np.linalg.norm(centres[keep] - centres[small], axis=1)
        target[small] = np.flatnonzero(keep)[np.argmin(distances)]
    merged = target[clusters]
    by_size = np.argsort(-np.bincount(merged, minlength=len(centres)), kind="stable")
    number = np.zeros(len(centres), dtype=np.int64)
    number[by_size] = np.arange(1, len(centres) + 1)
    segment_of_cluster = number[target]
    segments = segment_of_cluster[clusters]
    centroids = {int(s): X[segments == s].mean(axis=0) for s in np.unique(segments)}
    return SegmentModel(pipeline, segment_of_cluster, centroids)
