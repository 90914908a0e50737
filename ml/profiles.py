"""What sets each customer segment apart, and a name a marketer can read.

Clustering says who belongs together, not why. The profile compares every segment with
everyone else on each feature, so a segment can be described by the few features where it
really differs; the name turns the strongest of those differences into words.

Effect sizes and descriptive statistics use every row; significance tests use a bounded
random sample. At a million people every difference, however small, is "significant", so a
p-value on all rows says nothing, and ranking a segment on it would favour big segments. The
effect size says how large a difference is, the sampled test that it is not chance, and the
cost of both stays linear in people.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

# Cohen's conventions: d = 0.5 is a "medium" difference of means, V = 0.1 a "small" but real
# shift in a category mix (V is bounded by 1 and rarely large for one segment against the rest).
NUMERIC_EFFECT_THRESHOLD = 0.5
CATEGORICAL_EFFECT_THRESHOLD = 0.1
P_VALUE_THRESHOLD = 0.001

PROFILE_COLUMNS = [
    "segment_id",
    "segment_size",
    "segment_share",
    "feature",
    "kind",
    "null_share",
    "overall_null_share",
    "mean",
    "median",
    "overall_mean",
    "overall_median",
    "top_value",
    "top_share",
    "overall_top_share",
    "effect_size",
    "test",
    "p_value",
    "rank",
    "distinguishing",
]


def profile_segments(
    features: pd.DataFrame,
    labels: np.ndarray | Sequence[int],
    numeric: Sequence[str],
    categorical: Sequence[str],
    *,
    test_sample: int = 20_000,
    random_state: int = 0,
) -> pd.DataFrame:
    """One row per (segment, feature) saying how, how much and how surely the segment differs.

    Nulls are left out of every statistic, so recency or preferred channel compare buyers with
    buyers; `null_share` and `overall_null_share` say how many that leaves out (a segment of
    non-buyers shows up as is_buyer, not again in every order-based feature).

    Numeric features: `mean`/`median` of the segment and of everyone; `effect_size` is
    Cohen's d of the segment against everyone else (pooled SD; ±inf when neither side varies
    but their values differ). The test is Kruskal-Wallis on ranks, not ANOVA: money and
    counts are heavily skewed, with a long tail of big spenders, so a test of means would
    answer to a few outliers and its normality assumption would not hold.

    Categorical features: `top_value` is the segment's most common value (as text, so the
    column has one type whatever the feature's), `top_share` its share in the segment and
    `overall_top_share` in everyone; `effect_size` is Cramér's V of (in segment vs not) x
    category, the test chi-squared.

    Tests run on at most `test_sample` random rows of the segment and as many of the rest.
    `p_value` is null where no test is possible (a feature constant or all null there).
    `rank` 1 is the segment's most distinguishing feature: features are ordered by |effect|
    in units of their kind's threshold, since d and V are on different scales.
    `distinguishing` is p_value < 0.001 and |effect| >= 0.5 (d) or 0.1 (V).
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(features):
        raise ValueError(f"need one label per row: {labels.shape} labels, {len(features)} rows")
    if len(features) == 0:
        raise ValueError("no rows to profile")
    both = set(numeric) & set(categorical)
    if both:
        raise ValueError(f"features listed as both numeric and categorical: {sorted(both)}")
    absent = [name for name in [*numeric, *categorical] if name not in features.columns]
    if absent:
        raise ValueError(f"features not in the frame: {absent}")
    if test_sample < 1:
        raise ValueError(f"test_sample must be positive, got {test_sample}")

    segment_ids, codes = np.unique(labels, return_inverse=True)
    sizes = np.bincount(codes, minlength=len(segment_ids))
    # Rows ordered segment by segment: each segment is then one contiguous slice.
    by_segment = np.argsort(codes, kind="stable")
    samples = _test_samples(by_segment, sizes, test_sample, random_state)

    parts = [_numeric_profile(features[name], sizes, by_segment, samples) for name in numeric]
    parts += [_categorical_profile(features[name], codes, sizes, samples) for name in categorical]
    if not parts:
        return pd.DataFrame(columns=PROFILE_COLUMNS)
    profile = pd.concat(
        [
            part.assign(feature=name)
            for part, name in zip(parts, [*numeric, *categorical], strict=True)
        ],
        ignore_index=True,
    )
    profile["segment_size"] = sizes[profile["segment"]]
    profile["segment_share"] = profile["segment_size"] / len(codes)
    profile["segment_id"] = segment_ids[profile["segment"]]

    threshold = np.where(
        profile["kind"] == "numeric", NUMERIC_EFFECT_THRESHOLD, CATEGORICAL_EFFECT_THRESHOLD
    )
    strength = profile["effect_size"].abs() / threshold
    profile["rank"] = (
        strength.groupby(profile["segment"])
        .rank(method="first", ascending=False, na_option="bottom")
        .astype("int64")
    )
    profile["distinguishing"] = (profile["p_value"] < P_VALUE_THRESHOLD) & (strength >= 1)
    return (
        profile.sort_values(["segment_id", "rank"])
        .reset_index(drop=True)
        .reindex(columns=PROFILE_COLUMNS)
    )


def _test_samples(
    by_segment: np.ndarray, sizes: np.ndarray, size: int, random_state: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Row indices (segment, rest) per segment, each a uniform random sample of at most `size`.

    Positions are drawn in the segment's slice of `by_segment` and in the rows around it, so
    a draw costs O(size), not O(people).
    """
    rng = np.random.default_rng(random_state)
    n, ends = len(by_segment), np.cumsum(sizes)
    samples = []
    for start, end in zip(ends - sizes, ends, strict=True):
        inside = start + rng.choice(end - start, min(size, end - start), replace=False)
        rest = rng.choice(n - (end - start), min(size, n - (end - start)), replace=False)
        rest[rest >= start] += end - start  # skip over the segment's own slice
        samples.append((by_segment[inside], by_segment[rest]))
    return samples


def _as_float(column: pd.Series) -> np.ndarray:
    """Float values with NaN for nulls, whatever the column's dtype (nullable ints, booleans)."""
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _numeric_profile(
    column: pd.Series,
    sizes: np.ndarray,
    by_segment: np.ndarray,
    samples: list[tuple[np.ndarray, np.ndarray]],
) -> pd.DataFrame:
    """Means, medians and Cohen's d per segment, from one sort of each segment's slice.

    A sorted slice gives the median by position and the sums for mean and variance: faster
    than a pandas groupby median, which partitions and re-factorises the labels every time.
    """
    k, n = len(sizes), len(by_segment)
    values = _as_float(column)
    grouped = values[by_segment]
    known = ~np.isnan(values)
    overall_median = float(np.median(values[known])) if known.any() else np.nan
    # Squares are summed about the median, not zero: money squared over a million rows would
    # otherwise lose the variance to cancellation. A constant column centres to exact zeros.
    centre = 0.0 if np.isnan(overall_median) else overall_median
    count, total_sum, sum1, sum2 = np.zeros(k), np.zeros(k), np.zeros(k), np.zeros(k)
    median = np.full(k, np.nan)
    ends = np.cumsum(sizes)
    for segment, (start, end) in enumerate(zip(ends - sizes, ends, strict=True)):
        ordered = np.sort(grouped[start:end])  # nulls (NaN) sort last
        ordered = ordered[: len(ordered) - int(np.isnan(ordered).sum())]
        if len(ordered) == 0:
            continue
        half = len(ordered) // 2
        median[segment] = (
            ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2
        )
        centred = ordered - centre
        count[segment], total_sum[segment] = len(ordered), ordered.sum()
        # Squared in place rather than `centred @ centred`: BLAS threads spin for a dot this
        # small and, on a busy machine, tripled the whole profile's time.
        sum1[segment], sum2[segment] = centred.sum(), np.square(centred, out=centred).sum()

    total = count.sum()
    rest_count, rest_sum1, rest_sum2 = total - count, sum1.sum() - sum1, sum2.sum() - sum2
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total_sum / count
        rest_mean = (total_sum.sum() - total_sum) / rest_count
        overall_mean = total_sum.sum() / total if total else np.nan
        squares = np.where(count > 0, sum2 - sum1**2 / count, 0.0).clip(min=0)
        rest_squares = np.where(rest_count > 0, rest_sum2 - rest_sum1**2 / rest_count, 0.0)
        pooled_sd = np.sqrt((squares + rest_squares.clip(min=0)) / (total - 2))
        effect = (mean - rest_mean) / pooled_sd
    # 0/0 (nothing varies, nothing differs) is "no effect to measure", left as NaN; x/0 with
    # x != 0 (segment and rest do not overlap at all) stays ±inf, the strongest difference.
    effect = np.where((count > 0) & (rest_count > 0) & (total > 2), effect, np.nan)
    p_value = [_kruskal_p(values[inside], values[rest]) for inside, rest in samples]
    return pd.DataFrame(
        {
            "segment": np.arange(k),
            "kind": "numeric",
            "null_share": 1 - count / sizes,
            "overall_null_share": 1 - total / n,
            "mean": mean,
            "median": median,
            "overall_mean": overall_mean,
            "overall_median": overall_median,
            "effect_size": effect,
            "test": "kruskal",
            "p_value": p_value,
        }
    )


def _kruskal_p(first: np.ndarray, second: np.ndarray) -> float:
    """Kruskal-Wallis p-value for two samples, nulls dropped; NaN when no test is possible.

    Written out rather than scipy.stats.kruskal: a sort plus a binary search gives the tied
    average ranks directly, several times faster than ranking, and this runs for every
    segment x feature.
    """
    first, second = first[~np.isnan(first)], second[~np.isnan(second)]
    n1, n2 = len(first), len(second)
    if n1 == 0 or n2 == 0:
        return np.nan
    pooled = np.sort(np.concatenate([first, second]))
    n = float(n1 + n2)
    first = np.sort(first)  # sorted keys make the binary searches below four times faster
    # A value's average rank among ties: the mean of the 1-based positions its ties occupy.
    ranks = (
        np.searchsorted(pooled, first, "left") + np.searchsorted(pooled, first, "right") + 1
    ) / 2
    rank_sum1 = float(ranks.sum())
    rank_sum2 = n * (n + 1) / 2 - rank_sum1
    h = 12 / (n * (n + 1)) * (rank_sum1**2 / n1 + rank_sum2**2 / n2) - 3 * (n + 1)
    starts = np.flatnonzero(np.r_[True, pooled[1:] != pooled[:-1]])
    ties = np.diff(np.r_[starts, len(pooled)]).astype("float64")
    correction = 1 - float((ties**3 - ties).sum()) / (n**3 - n) if n > 1 else 0.0
    if correction <= 0:  # every value equal: ranks carry no information
        return np.nan
    return float(stats.chi2.sf(max(h, 0.0) / correction, 1))


def _categorical_profile(
    column: pd.Series,
    codes: np.ndarray,
    sizes: np.ndarray,
    samples: list[tuple[np.ndarray, np.ndarray]],
) -> pd.DataFrame:
    """Top value, shares and Cramér's V per segment from one segments x levels count table."""
    k = len(sizes)
    level_codes, uniques = pd.factorize(column, use_na_sentinel=True)
    levels = level_codes + 1  # level 0 is null, counted for null_share and dropped after
    m = len(uniques) + 1
    table = np.bincount(codes * m + levels, minlength=k * m).reshape(k, m)
    nulls, table = table[:, 0], table[:, 1:]
    overall = table.sum(axis=0)
    known, n = table.sum(axis=1), int(overall.sum())

    values = np.asarray(uniques, dtype=object)
    top_value: list[object] = [None] * k
    top_share = np.full(k, np.nan)
    overall_top_share = np.full(k, np.nan)
    if m > 1:
        top = table.argmax(axis=1)
        for segment in np.flatnonzero(known > 0):
            top_value[segment] = str(values[top[segment]])
            top_share[segment] = table[segment, top[segment]] / known[segment]
            overall_top_share[segment] = overall[top[segment]] / n

    effect = np.full(k, np.nan)
    p_value = np.full(k, np.nan)
    for segment, (inside, rest) in enumerate(samples):
        statistic, _ = _chi2(np.vstack([table[segment], overall - table[segment]]))
        effect[segment] = np.sqrt(statistic / n) if n else np.nan
        sampled = np.vstack(
            [np.bincount(levels[inside], minlength=m), np.bincount(levels[rest], minlength=m)]
        )[:, 1:]
        statistic, dof = _chi2(sampled)
        if dof > 0 and not np.isnan(statistic):
            p_value[segment] = stats.chi2.sf(statistic, dof)
    return pd.DataFrame(
        {
            "segment": np.arange(k),
            "kind": "categorical",
            "null_share": nulls / sizes,
            "overall_null_share": nulls.sum() / len(codes),
            "top_value": pd.Series(top_value, dtype=object),
            "top_share": top_share,
            "overall_top_share": overall_top_share,
            "effect_size": effect,
            "test": "chi2",
            "p_value": p_value,
        }
    )


def _chi2(table: np.ndarray) -> tuple[float, int]:
    """Pearson chi-squared of a 2 x levels table, empty levels dropped; NaN if undefined.

    Without Yates' correction: it only applies to 2 x 2 and would make V depend on the
    number of levels a feature happens to have.
    """
    table = table[:, table.sum(axis=0) > 0]
    rows = table.sum(axis=1)
    if table.shape[1] < 2 or (rows == 0).any():
        return np.nan, 0
    expected = np.outer(rows, table.sum(axis=0)) / table.sum()
    return float(((table - expected) ** 2 / expected).sum()), table.shape[1] - 1


# --- names ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Traits:
    """One segment's profile rows, read as "higher/lower than everyone" questions.

    A feature the profile lacks, or a statistic it could not compute, answers "no", so the
    rules work on whatever subset of features the caller profiled.
    """

    rows: dict[str, dict[str, Any]]

    def stat(self, feature: str, stat: str = "median") -> float:
        row = self.rows.get(feature)
        return float(row[stat]) if row is not None and row["kind"] == "numeric" else np.nan

    def _compare(self, feature: str, stat: str) -> tuple[float, float, float]:
        row = self.rows.get(feature)
        if row is None or row["kind"] != "numeric":
            return np.nan, np.nan, np.nan
        return float(row[stat]), float(row[f"overall_{stat}"]), float(row["effect_size"])

    def high(self, feature: str, factor: float, stat: str = "median") -> bool:
        """At least `factor` x everyone's value, and a real difference (d >= 0.5)."""
        segment, overall, effect = self._compare(feature, stat)
        return bool(
            effect >= NUMERIC_EFFECT_THRESHOLD and segment > overall and segment >= factor * overall
        )

    def low(self, feature: str, factor: float, stat: str = "median") -> bool:
        """At most everyone's value / `factor`, and a real difference (d <= -0.5)."""
        segment, overall, effect = self._compare(feature, stat)
        return bool(
            effect <= -NUMERIC_EFFECT_THRESHOLD
            and segment < overall
            and segment * factor <= overall
        )

    def any_high(self, features: Sequence[str], factor: float, stat: str) -> bool:
        return any(self.high(feature, factor, stat) for feature in features)

    def non_buyers(self) -> bool:
        share = self.stat("is_buyer", "mean")
        return bool(share < 0.5) if not np.isnan(share) else self.stat("frequency") == 0

    def browsing(self) -> bool:
        """Visits at least as often as the typical person (and at all)."""
        for feature in ["sessions_90d", "sessions"]:
            segment, overall, _ = self._compare(feature, "median")
            if not np.isnan(segment):
                return bool(segment > 0 and segment >= overall)
        return False

    def top(self, feature: str) -> tuple[object, float, float] | None:
        """(most common value, its share in the segment, in everyone), if there is one."""
        row = self.rows.get(feature)
        if row is None or row["kind"] != "categorical" or pd.isna(row["top_value"]):
            return None
        return row["top_value"], float(row["top_share"]), float(row["overall_top_share"])


_EMAIL = ["email_click_rate_90d", "email_open_rate_90d", "email_click_rate", "email_open_rate"]


def _holiday(traits: _Traits) -> bool:
    holiday = [name for name in traits.rows if "holiday" in name]
    return traits.any_high(holiday, 2, "mean")


# (name, rule, features the name already speaks for, by part of their name). The first rule
# that matches names the segment; keep this list and name_segments' docstring table in step.
_HEADS: list[tuple[str, Callable[[_Traits], bool], tuple[str, ...]]] = [
    ("Browsers, no purchase yet", lambda t: t.non_buyers() and t.browsing(),
     ("is_buyer", "frequency", "monetary", "sessions")),
    ("Prospects, no purchase yet", lambda t: t.non_buyers(), ("is_buyer", "frequency", "monetary")),
    ("Holiday shoppers", _holiday, ("holiday",)),
    ("Bargain hunters", lambda t: t.high("discounted_order_share", 2, "mean"),
     ("discounted_order_share",)),
    ("Lapsed one-time buyers", lambda t: t.high("recency_days", 2) and t.stat("frequency") <= 1,
     ("recency_days", "frequency")),
    ("Lapsed customers", lambda t: t.high("recency_days", 2), ("recency_days",)),
    ("Loyal high spenders", lambda t: t.high("monetary", 2) and t.high("frequency", 2),
     ("monetary", "frequency")),
    ("High spenders", lambda t: t.high("monetary", 2), ("monetary",)),
    ("New customers", lambda t: t.low("tenure_days", 2) or t.low("days_since_first_seen", 2),
     ("tenure_days", "days_since_first_seen")),
    ("Store regulars", lambda t: t.high("store_order_share", 1.5, "mean")
     and t.stat("store_order_share", "mean") >= 0.5, ("store_order_share", "preferred_channel")),
    ("App regulars", lambda t: t.high("app_order_share", 1.5, "mean")
     and t.stat("app_order_share", "mean") >= 0.5, ("app_order_share", "preferred_channel")),
    ("Engaged emailers", lambda t: t.any_high(_EMAIL, 1.5, "mean"), ("email_open", "email_click")),
    ("Frequent buyers", lambda t: t.high("frequency", 2), ("frequency",)),
]  # fmt: skip
_FALLBACK = "Mainstream customers"
_MOSTLY = 0.6  # share of a segment's people a channel needs before the name says "mostly"

_WORDS = {
    "recency_days": "time since last order",
    "frequency": "order count",
    "monetary": "spend",
    "avg_order_value": "basket size",
    "tenure_days": "tenure",
    "monetary_90d": "recent spend",
    "orders_90d": "recent orders",
    "sessions_90d": "recent visits",
    "page_views_90d": "recent page views",
    "days_since_last_session": "time since last visit",
    "days_since_first_seen": "time known",
    "age_years": "age",
}


def name_segments(profile: pd.DataFrame) -> dict[int, str]:
    """A unique, marketer-readable name per segment, from its profile alone.

    The name is the first matching rule below, then ", mostly <channel>" when one preferred
    channel covers >= 60% of the segment, more than it does of everyone, and the name does
    not already say it. "high" means at least the factor x everyone's value *and* d >= 0.5
    against the rest; "low" the mirror image. A rule on a missing feature does not match.

    | name                       | rule                                                    |
    |----------------------------|---------------------------------------------------------|
    | Browsers, no purchase yet  | under half are buyers; median visits >= everyone's, > 0 |
    | Prospects, no purchase yet | under half are buyers                                   |
    | Holiday shoppers           | a *holiday* share: mean 2x high                         |
    | Bargain hunters            | discounted_order_share: mean 2x high                    |
    | Lapsed one-time buyers     | recency_days: median 2x high; median frequency <= 1     |
    | Lapsed customers           | recency_days: median 2x high                            |
    | Loyal high spenders        | monetary and frequency: median 2x high                  |
    | High spenders              | monetary: median 2x high                                |
    | New customers              | tenure_days (or days_since_first_seen): median 2x low   |
    | Store regulars             | store_order_share: mean 1.5x high and >= 0.5            |
    | App regulars               | app_order_share: mean 1.5x high and >= 0.5              |
    | Engaged emailers           | an email open/click rate: mean 1.5x high                |
    | Frequent buyers            | frequency: median 2x high                               |
    | Mainstream customers       | none of the above                                       |

    Segments that come out alike are told apart by their best-ranked distinguishing feature
    the name does not already cover ("Bargain hunters, higher basket size"); if that still
    ties, by a number, given by size (largest first) so that it, like the rest of the name,
    does not depend on how the clustering happened to number segments.
    """
    names: dict[int, str] = {}
    used: dict[int, set[str]] = {}
    sizes: dict[int, int] = {}
    ranked: dict[int, pd.DataFrame] = {}
    for segment_id, rows in profile.groupby("segment_id", sort=True):
        segment = int(segment_id)
        rows = rows.sort_values("rank")
        traits = _Traits({row["feature"]: row for row in rows.to_dict("records")})
        head, covers = next(
            ((name, covers) for name, rule, covers in _HEADS if rule(traits)), (_FALLBACK, ())
        )
        used[segment] = set(covers)
        channel = traits.top("preferred_channel")
        if (
            channel is not None
            and "preferred_channel" not in used[segment]
            and channel[1] >= _MOSTLY
            and channel[1] > channel[2]
        ):
            head = f"{head}, mostly {channel[0]}"
            used[segment].add("preferred_channel")
        names[segment] = head
        sizes[segment] = int(rows["segment_size"].iloc[0])
        ranked[segment] = rows

    for segments in _repeats(names):
        for segment in segments:
            trait = _next_trait(ranked[segment], used[segment])
            if trait:
                names[segment] = f"{names[segment]}, {trait}"
    for segments in _repeats(names):
        by_size = sorted(segments, key=lambda s: (-sizes[s], s))
        number = 2
        for segment in by_size[1:]:
            while f"{names[segment]} ({number})" in names.values():
                number += 1
            names[segment] = f"{names[segment]} ({number})"
            number += 1
    return names


def _repeats(names: dict[int, str]) -> list[list[int]]:
    """Groups of segments that share a name."""
    groups: dict[str, list[int]] = {}
    for segment, name in names.items():
        groups.setdefault(name, []).append(segment)
    return [segments for segments in groups.values() if len(segments) > 1]


def _next_trait(rows: pd.DataFrame, used: set[str]) -> str | None:
    """Words for the best-ranked distinguishing feature that the name does not cover yet."""
    for row in rows[rows["distinguishing"]].to_dict("records"):
        feature = str(row["feature"])
        if any(part in feature for part in used):
            continue
        if row["kind"] == "numeric":
            words = _WORDS.get(feature, feature.replace("_", " "))
            return f"{'higher' if row['effect_size'] > 0 else 'lower'} {words}"
        share, overall = row["top_share"], row["overall_top_share"]
        if not pd.isna(row["top_value"]) and share >= _MOSTLY and share > overall:
            return f"mostly {row['top_value']}"
    return None
