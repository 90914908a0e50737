"""Segment profiles find the differences planted in synthetic groups, and name them for it.

Every group is drawn from a known recipe: one feature (or a few) differs from the mainstream
group, the rest share its distributions. The tests check what the profile finds against the
recipe and the statistics against scipy's reference implementations, never against values
the profile itself produced.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.stats.contingency import association

from ml.profiles import PROFILE_COLUMNS, name_segments, profile_segments

NUMERIC = [
    "is_buyer",
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "tenure_days",
    "discounted_order_share",
    "store_order_share",
    "app_order_share",
    "sessions_90d",
    "email_open_rate_90d",
    "age_years",
    "holiday_order_share",
]
CATEGORICAL = ["preferred_channel", "country_code"]
# Drawn from one distribution for everybody: no segment may be said to differ on them.
UNPLANTED = ["email_open_rate_90d", "age_years", "holiday_order_share", "country_code"]

GROUP_SIZES = {
    "mainstream": 3000,
    "high_spenders": 500,
    "bargain": 500,
    "store": 500,
    "browsers": 800,
    "lapsed": 500,
}
EXPECTED_NAMES = {
    "mainstream": "Mainstream customers",
    "high_spenders": "Loyal high spenders, mostly web",
    "bargain": "Bargain hunters",
    "store": "Store regulars",
    "browsers": "Browsers, no purchase yet",
    "lapsed": "Lapsed one-time buyers",
}


def _group(kind: str, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """People of one planted kind: the mainstream recipe with that kind's differences."""
    frequency = 1 + rng.poisson(2, n)
    frame = pd.DataFrame(
        {
            "is_buyer": 1,
            "recency_days": rng.uniform(1, 180, n),
            "frequency": frequency,
            "avg_order_value": rng.lognormal(np.log(40), 0.5, n),
            "tenure_days": rng.uniform(30, 1500, n),
            "discounted_order_share": rng.beta(2, 6, n),
            "store_order_share": rng.beta(1, 9, n),
            "app_order_share": rng.beta(2, 5, n),
            "sessions_90d": rng.poisson(5, n),
            "email_open_rate_90d": rng.beta(2, 5, n),
            "age_years": rng.normal(40, 10, n).round(),
            "holiday_order_share": rng.beta(1, 9, n),
            "preferred_channel": rng.choice(["web", "app", "store"], n, p=[0.5, 0.35, 0.15]),
            "country_code": rng.choice(["DE", "FR", "NL", "ES", "IT"], n),
        }
    )
    if kind == "high_spenders":
        frame["frequency"] = 8 + rng.poisson(6, n)
        frame["avg_order_value"] = rng.lognormal(np.log(120), 0.5, n)
        frame["recency_days"] = rng.uniform(1, 60, n)
        frame["preferred_channel"] = rng.choice(["web", "app"], n, p=[0.9, 0.1])
    elif kind == "bargain":
        frame["discounted_order_share"] = rng.beta(30, 1, n)
    elif kind == "store":
        frame["store_order_share"] = 1.0
        frame["app_order_share"] = 0.0
        frame["preferred_channel"] = "store"
    elif kind == "browsers":
        frame["is_buyer"] = 0
        frame["frequency"] = 0
        frame["sessions_90d"] = rng.poisson(20, n)
        frame["preferred_channel"] = None
        for never in [
            "recency_days",
            "avg_order_value",
            "tenure_days",
            "holiday_order_share",
            "discounted_order_share",
            "store_order_share",
            "app_order_share",
        ]:
            frame[never] = np.nan
    elif kind == "holiday":
        frame["holiday_order_share"] = rng.beta(8, 2, n)
    elif kind == "new":
        frame["tenure_days"] = rng.uniform(1, 60, n)
    elif kind == "emailers":
        frame["email_open_rate_90d"] = rng.beta(8, 2, n)
    elif kind == "lapsed":
        frame["frequency"] = 1
        frame["recency_days"] = rng.uniform(400, 900, n)
        frame["sessions_90d"] = rng.poisson(1, n)
    frame["monetary"] = (frame["frequency"] * frame["avg_order_value"]).fillna(0.0)
    return frame


def planted(seed: int = 7, sizes: dict[str, int] = GROUP_SIZES) -> tuple[pd.DataFrame, np.ndarray]:
    """All groups shuffled together, with the planted kind of each row."""
    rng = np.random.default_rng(seed)
    frames = [_group(kind, n, rng).assign(kind=kind) for kind, n in sizes.items()]
    frame = pd.concat(frames, ignore_index=True).sample(frac=1, random_state=seed)
    frame = frame.reset_index(drop=True)
    return frame.drop(columns="kind"), frame["kind"].to_numpy()


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray, np.ndarray, dict[str, int]]:
    features, kinds = planted()
    # Segment numbers unrelated to the order of the recipes, as a clustering would give them.
    numbers = {kind: number for number, kind in zip([4, 0, 5, 2, 1, 3], GROUP_SIZES, strict=True)}
    labels = np.array([numbers[kind] for kind in kinds])
    return features, kinds, labels, numbers


@pytest.fixture(scope="module")
def profile(data) -> pd.DataFrame:
    features, _, labels, _ = data
    return profile_segments(features, labels, NUMERIC, CATEGORICAL)


def _row(profile: pd.DataFrame, segment: int, feature: str) -> pd.Series:
    rows = profile[(profile["segment_id"] == segment) & (profile["feature"] == feature)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_one_row_per_segment_and_feature_with_sizes_and_shares(data, profile):
    features, _, _, numbers = data
    assert list(profile.columns) == PROFILE_COLUMNS
    assert len(profile) == len(numbers) * (len(NUMERIC) + len(CATEGORICAL))
    per_segment = profile.drop_duplicates("segment_id").set_index("segment_id")
    assert per_segment["segment_size"].sum() == len(features)
    assert per_segment["segment_share"].sum() == pytest.approx(1.0)
    for kind, number in numbers.items():
        assert per_segment.loc[number, "segment_size"] == GROUP_SIZES[kind]
        ranks = profile.loc[profile["segment_id"] == number, "rank"]
        assert sorted(ranks) == list(range(1, len(NUMERIC) + len(CATEGORICAL) + 1))


@pytest.mark.parametrize(
    ("kind", "feature", "first_among", "sign"),
    [
        ("high_spenders", "monetary", {"monetary", "frequency", "avg_order_value"}, 1),
        ("high_spenders", "frequency", {"monetary", "frequency", "avg_order_value"}, 1),
        ("bargain", "discounted_order_share", {"discounted_order_share"}, 1),
        ("store", "store_order_share", {"store_order_share"}, 1),
        ("store", "preferred_channel", {"store_order_share"}, 1),
        ("browsers", "is_buyer", {"is_buyer"}, -1),
        ("browsers", "sessions_90d", {"is_buyer"}, 1),
        ("lapsed", "recency_days", {"recency_days"}, 1),
    ],
)
def test_planted_difference_is_found_with_its_sign(data, profile, kind, feature, first_among, sign):
    _, _, _, numbers = data
    segment = numbers[kind]
    row = _row(profile, segment, feature)
    assert row["distinguishing"]
    assert np.sign(row["effect_size"]) == sign
    first = profile[(profile["segment_id"] == segment) & (profile["rank"] == 1)]
    assert first["feature"].item() in first_among


def test_unplanted_features_distinguish_no_segment(profile):
    unplanted = profile[profile["feature"].isin(UNPLANTED)]
    assert len(unplanted) == len(UNPLANTED) * len(GROUP_SIZES)
    assert not unplanted["distinguishing"].any()
    assert (unplanted["effect_size"].abs().fillna(0) < 0.2).all()  # NaN: browsers, no orders


def test_descriptive_statistics_use_every_row(data, profile):
    features, kinds, _, numbers = data
    bargain = features[kinds == "bargain"]
    row = _row(profile, numbers["bargain"], "discounted_order_share")
    assert row["mean"] == pytest.approx(bargain["discounted_order_share"].mean())
    assert row["median"] == pytest.approx(bargain["discounted_order_share"].median())
    assert row["overall_mean"] == pytest.approx(features["discounted_order_share"].mean())
    assert row["overall_median"] == pytest.approx(features["discounted_order_share"].median())

    channel = _row(profile, numbers["store"], "preferred_channel")
    assert channel["top_value"] == "store"
    assert channel["top_share"] == pytest.approx(1.0)
    overall = features["preferred_channel"].value_counts(normalize=True)["store"]
    assert channel["overall_top_share"] == pytest.approx(overall)


def test_nulls_are_counted_not_compared(data, profile):
    features, _, _, numbers = data
    browsers = numbers["browsers"]
    for feature in ["recency_days", "preferred_channel"]:
        row = _row(profile, browsers, feature)
        assert row["null_share"] == 1.0
        assert row["overall_null_share"] == pytest.approx(features[feature].isna().mean())
        assert np.isnan(row["effect_size"]) and np.isnan(row["p_value"])
        assert not row["distinguishing"]
    assert pd.isna(_row(profile, browsers, "preferred_channel")["top_value"])
    # Buyers are not "different" on channel just because the non-buyers have none.
    for kind in ["bargain", "lapsed"]:
        row = _row(profile, numbers[kind], "preferred_channel")
        assert row["null_share"] == 0.0
        assert not row["distinguishing"]


def test_effect_sizes_match_their_definitions(data, profile):
    features, _, labels, numbers = data
    inside = labels == numbers["high_spenders"]
    a = features.loc[inside, "monetary"].to_numpy()
    b = features.loc[~inside, "monetary"].to_numpy()
    pooled = np.sqrt(
        ((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2)
    )
    row = _row(profile, numbers["high_spenders"], "monetary")
    assert row["effect_size"] == pytest.approx((a.mean() - b.mean()) / pooled)

    table = pd.crosstab(inside, features["preferred_channel"]).to_numpy()
    row = _row(profile, numbers["high_spenders"], "preferred_channel")
    assert row["effect_size"] == pytest.approx(association(table, method="cramer"))


@pytest.mark.filterwarnings("ignore:After omitting NaNs")  # the browsers have no recency
def test_p_values_match_scipy_when_the_sample_holds_everyone(data):
    features, _, labels, numbers = data
    full = profile_segments(features, labels, NUMERIC, CATEGORICAL, test_sample=len(features))
    for kind in ["mainstream", "lapsed", "browsers"]:
        inside = labels == numbers[kind]
        for feature in ["recency_days", "sessions_90d", "age_years", "frequency"]:
            values = features[feature]
            expected = stats.kruskal(values[inside], values[~inside], nan_policy="omit").pvalue
            got = _row(full, numbers[kind], feature)["p_value"]
            if np.isnan(expected):
                assert np.isnan(got)
            else:
                assert got == pytest.approx(expected, rel=1e-6, abs=1e-300)
        for feature in CATEGORICAL:
            got = _row(full, numbers[kind], feature)["p_value"]
            if features.loc[inside, feature].isna().all():
                assert np.isnan(got)  # nothing to compare the rest with
                continue
            table = pd.crosstab(inside, features[feature]).to_numpy()
            expected = stats.chi2_contingency(table, correction=False).pvalue
            assert got == pytest.approx(expected, rel=1e-6, abs=1e-300)


def test_tests_run_on_a_bounded_sample(data, profile):
    features, _, labels, numbers = data
    small = profile_segments(features, labels, NUMERIC, CATEGORICAL, test_sample=20)
    # Effect sizes and statistics use every row whatever the sample...
    pd.testing.assert_series_equal(small["effect_size"], profile["effect_size"])
    pd.testing.assert_series_equal(small["mean"], profile["mean"])
    # ...while 20 + 20 rows can never give the certainty 500 + 5,300 rows give.
    segment = numbers["bargain"]
    small_p = _row(small, segment, "discounted_order_share")["p_value"]
    assert small_p > 100 * _row(profile, segment, "discounted_order_share")["p_value"]
    assert small_p > 1e-12


def test_same_seed_same_profile(data, profile):
    features, _, labels, _ = data
    again = profile_segments(features, labels, NUMERIC, CATEGORICAL)
    pd.testing.assert_frame_equal(again, profile)


def test_planted_groups_get_their_names(data, profile):
    _, _, _, numbers = data
    names = name_segments(profile)
    assert names == {numbers[kind]: name for kind, name in EXPECTED_NAMES.items()}


def test_the_other_rules_name_their_planted_groups():
    sizes = {"mainstream": 3000, "holiday": 400, "new": 400, "emailers": 400}
    features, kinds = planted(seed=5, sizes=sizes)
    labels = pd.factorize(kinds)[0]
    names = name_segments(profile_segments(features, labels, NUMERIC, CATEGORICAL))
    assert {kinds[labels == segment][0]: name for segment, name in names.items()} == {
        "mainstream": "Mainstream customers",
        "holiday": "Holiday shoppers",
        "new": "New customers",
        "emailers": "Engaged emailers",
    }


def test_names_do_not_depend_on_segment_numbers(data, profile):
    features, kinds, _, _ = data
    renumbered = {kind: number for number, kind in enumerate(reversed(GROUP_SIZES))}
    labels = np.array([renumbered[kind] for kind in kinds])
    names = name_segments(profile_segments(features, labels, NUMERIC, CATEGORICAL))
    assert names == {renumbered[kind]: name for kind, name in EXPECTED_NAMES.items()}


def test_alike_segments_get_unique_names():
    # Two bargain groups, one of which also shops more on the app: a trait tells them apart.
    features, kinds = planted(seed=11, sizes={"mainstream": 3000, "bargain": 1000})
    labels = np.where(kinds == "bargain", 1, 0)
    bargain = np.flatnonzero(kinds == "bargain")
    second = bargain[: len(bargain) // 2]
    labels[second] = 2
    features.loc[second, "app_order_share"] = 0.95
    names = name_segments(profile_segments(features, labels, NUMERIC, CATEGORICAL))
    assert names[1] == "Bargain hunters"
    assert names[2] == "Bargain hunters, higher app order share"

    # Two bargain groups with nothing between them: only a number can, the larger unnumbered.
    features, kinds = planted(seed=11, sizes={"mainstream": 3000, "bargain": 1000})
    labels = np.where(kinds == "bargain", 1, 0)
    labels[np.flatnonzero(kinds == "bargain")[:400]] = 2
    names = name_segments(profile_segments(features, labels, NUMERIC, CATEGORICAL))
    assert names == {0: "Mainstream customers", 1: "Bargain hunters", 2: "Bargain hunters (2)"}
    # The number goes by size, not by segment number.
    labels = np.where(labels == 0, 0, 3 - labels)
    names = name_segments(profile_segments(features, labels, NUMERIC, CATEGORICAL))
    assert names == {0: "Mainstream customers", 1: "Bargain hunters (2)", 2: "Bargain hunters"}


def test_tiny_segments_and_empty_columns_do_not_crash(data):
    features, _, labels, _ = data
    features = features.assign(
        all_null=np.nan,
        constant=3.0,
        nullable_ints=pd.array([None] * len(features), dtype="Int64"),
        no_category=pd.Series([None] * len(features), dtype=object),
    )
    labels = labels.copy()
    labels[0] = 99  # a segment of one person
    numeric = [*NUMERIC, "all_null", "constant", "nullable_ints"]
    categorical = [*CATEGORICAL, "no_category"]
    profile = profile_segments(features, labels, numeric, categorical)
    assert len(profile) == 7 * (len(numeric) + len(categorical))
    assert _row(profile, 99, "monetary")["segment_size"] == 1
    assert not profile.loc[profile["segment_id"] == 99, "distinguishing"].any()
    empty = profile[
        profile["feature"].isin(["all_null", "constant", "nullable_ints", "no_category"])
    ]
    assert empty["p_value"].isna().all()
    assert empty["effect_size"].isna().all()
    assert not empty["distinguishing"].any()
    # Features with nothing to measure rank last, after every feature that has an effect.
    assert (empty["rank"] > len(NUMERIC) + len(CATEGORICAL) - 3).all()
    names = name_segments(profile)
    assert len(set(names.values())) == len(names) == 7


def test_bad_input_is_refused(data):
    features, _, labels, _ = data
    with pytest.raises(ValueError, match="one label per row"):
        profile_segments(features, labels[:-1], NUMERIC, CATEGORICAL)
    with pytest.raises(ValueError, match="not in the frame"):
        profile_segments(features, labels, [*NUMERIC, "nope"], CATEGORICAL)
    with pytest.raises(ValueError, match="both numeric and categorical"):
        profile_segments(features, labels, NUMERIC, ["monetary"])
