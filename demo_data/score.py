"""How well identity resolution finds the demo's people: pairwise precision and recall of
"same person" against the generator's truth.

Every pair of planted identifiers is a decision: the warehouse says the two are one person
(same `person_id` in `marts.person_identifiers`) or not, the truth says they are (same
`true_person`) or not. Precision is the share of pairs the warehouse joined that are truly one
person; recall the share of truly-same pairs it joined. Pairs are never enumerated: a cluster
of n identifiers holds C(n, 2) = n(n-1)/2 pairs, so the pairs joined by both are the sum of
C(n, 2) over the cells of the (true person x found person) contingency table, the pairs the
warehouse joined the sum over found persons, the true pairs the sum over true persons. Three
group-bys in DuckDB: linear in the identifiers, fine for millions.

Which identifiers are scored: every planted identifier of a person (bots' anonymous ids, which
belong to no one, are left out). One the warehouse did not resolve (flagged, or never seen) is
a person of its own, so a wrongly flagged identifier costs recall.

Why recall is over *linked* identifiers, with `recall_all` beside it: some planted identifiers
are tied to their person by nothing in any source (a device that never logged in nor checked
out, a loyalty card the CRM never recorded). No resolver can join those from the data, so
counting their pairs as misses measures the generator's dirt, not the resolver: `recall` keeps
only identifiers the truth marks `linked`. `recall_all`, over every planted identifier, is the
share of truly-same pairs found at all, what a user of the data sees; the gap between the two is
the unlinkable part. Precision is over all planted identifiers (a wrong join is an error
whether or not the identifier was linkable).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class IdentityScores:
    precision: float  # pairs joined that are one true person / pairs joined
    recall: float  # over linked identifiers: true pairs joined / true pairs
    recall_all: float  # the same over every planted identifier
    identifiers_scored: int  # planted identifiers of persons (bots excluded)
    persons_true: int  # distinct true persons among them
    persons_found: int  # distinct persons the warehouse gave them (unresolved ones count alone)


_SCORES_SQL = """
with

truth as (

    select identifier_type, identifier_value, true_person, coalesce(linked, false) as linked
    from read_parquet($truth)
    where true_person is not null

),

scored as (

    -- An identifier the warehouse did not resolve is a person of its own.
    select
        truth.true_person,
        truth.linked,
        coalesce(
            found.person_id,
            'unresolved:' || truth.identifier_type || ':' || truth.identifier_value
        ) as found_person
    from truth
    left join marts.person_identifiers as found
        on
            truth.identifier_type = found.identifier_type
            and truth.identifier_value = found.identifier_value

),

cells as (

    select linked_only, count(*) as n
    from scored
    cross join (values (false), (true)) as scopes (linked_only)
    where linked or not linked_only
    group by linked_only, true_person, found_person

),

found_clusters as (

    select linked_only, count(*) as n
    from scored
    cross join (values (false), (true)) as scopes (linked_only)
    where linked or not linked_only
    group by linked_only, found_person

),

true_clusters as (

    select linked_only, count(*) as n
    from scored
    cross join (values (false), (true)) as scopes (linked_only)
    where linked or not linked_only
    group by linked_only, true_person

),

pairs as (

    select
        scopes.linked_only,
        (select sum(n * (n - 1) / 2) from cells where cells.linked_only = scopes.linked_only)
            as both_pairs,
        (select sum(n * (n - 1) / 2) from found_clusters as c
         where c.linked_only = scopes.linked_only) as found_pairs,
        (select sum(n * (n - 1) / 2) from true_clusters as c
         where c.linked_only = scopes.linked_only) as true_pairs
    from (values (false), (true)) as scopes (linked_only)

)

select
    max(case when not linked_only then both_pairs end) as both_pairs_all,
    max(case when not linked_only then found_pairs end) as found_pairs_all,
    max(case when not linked_only then true_pairs end) as true_pairs_all,
    max(case when linked_only then both_pairs end) as both_pairs_linked,
    max(case when linked_only then true_pairs end) as true_pairs_linked,
    (select count(*) from scored) as identifiers_scored,
    (select count(distinct true_person) from scored) as persons_true,
    (select count(distinct found_person) from scored) as persons_found
from pairs
"""


def _ratio(numerator: float | None, denominator: float | None) -> float:
    """numerator / denominator; 1.0 when there is nothing to get wrong (no pairs)."""
    if not denominator:
        return 1.0
    return float(numerator or 0) / float(denominator)


def identity_scores(warehouse: Path, truth_dir: Path) -> IdentityScores:
    """Pairwise precision and recall of `marts.person_identifiers` in `warehouse` against the
    demo truth in `truth_dir` (`identifiers.parquet`: identifier_type, identifier_value,
    true_person, linked). Opens the warehouse read-only."""
    truth = Path(truth_dir) / "identifiers.parquet"
    if not truth.exists():
        raise FileNotFoundError(f"no demo truth at {truth}")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        row = con.execute(_SCORES_SQL, {"truth": str(truth)}).fetchone()
    (
        both_all,
        found_all,
        true_all,
        both_linked,
        true_linked,
        identifiers_scored,
        persons_true,
        persons_found,
    ) = row
    return IdentityScores(
        precision=_ratio(both_all, found_all),
        recall=_ratio(both_linked, true_linked),
        recall_all=_ratio(both_all, true_all),
        identifiers_scored=int(identifiers_scored),
        persons_true=int(persons_true),
        persons_found=int(persons_found),
    )
