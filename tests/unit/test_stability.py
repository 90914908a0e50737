"""Population stability and membership comparison on planted data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.stability import compare_memberships, population_stability, reference_bins


def _frame(rng, n, shift=0.0):
    return pd.DataFrame(
        {
            "spend": rng.lognormal(3 + shift, 1, n),
            "share": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
        }
    )


def test_psi_is_near_zero_for_the_same_population_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    reference = reference_bins(_frame(rng, 50_000))
    same = population_stability(reference, _frame(rng, 50_000))
    shifted = population_stability(reference, _frame(rng, 50_000, shift=0.5))
    assert max(same.values()) < 0.01
    assert shifted["spend"] > 0.2 and shifted["share"] < 0.01


def test_psi_counts_missing_values_as_their_own_bin():
    rng = np.random.default_rng(1)
    training = _frame(rng, 20_000)
    reference = reference_bins(training)
    more_missing = training.assign(share=np.where(rng.random(20_000) < 0.6, np.nan, training.share))
    assert population_stability(reference, more_missing)["share"] > 0.2


def test_membership_comparison_uses_names_and_common_people():
    before = pd.DataFrame({"person_id": ["a", "b", "c", "d"], "segment_name": ["X", "X", "Y", "Y"]})
    # Renumbered but the same grouping, one person gone, one new.
    after = pd.DataFrame({"person_id": ["a", "b", "c", "e"], "segment_name": ["X", "X", "Y", "Y"]})
    ari, transitions = compare_memberships(before, after)
    assert ari == 1.0
    assert transitions.set_index(["segment_from", "segment_to"]).people.to_dict() == {
        ("X", "X"): 2,
        ("Y", "Y"): 1,
    }
    moved = after.assign(segment_name=["X", "Y", "Y", "Y"])
    ari, transitions = compare_memberships(before, moved)
    assert ari < 1.0 and transitions.people.sum() == 3
