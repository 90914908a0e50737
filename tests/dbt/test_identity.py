"""Identity resolution end to end: scored against the demo generator's truth, then changed by
appending landing files the way new data arrives, and rebuilt.

One small demo company is generated, loaded and built once for the module. The tests run in
file order and the later ones append data and rebuild the identity models, so each builds on
the state the previous one left:

1. scores, graph health and convergence on the demo as generated;
2. new identifiers (a new device logging in, junk, a hub) arrive: persons keep their ids;
3. a CRM record ties two persons together: they merge under the older person's id;
4. a hub email arrives on a person's only link between two CRM records: the person splits;
5. a long chain with too few label-propagation passes fails the convergence test.

`pytest -s` prints the precision and recall.
"""

from __future__ import annotations

import csv
import json
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from demo_data.generate import generate
from demo_data.score import IdentityScores, identity_scores
from extract_load.load import load_all
from tests.conftest import AS_OF
from tests.dbt_cli import run_dbt

CUSTOMERS = 1500
SEED = 11
# The identity models, and the staging models materialised as tables that feed them.
# Staging models are tables: new raw rows reach identity only once staging is rebuilt.
IDENTITY_MODELS = "path:models/staging path:models/intermediate/identity path:models/marts/identity"
# New data arrives the day before the as-of date: after every person's first sighting.
ARRIVAL = datetime(AS_OF.year, AS_OF.month, AS_OF.day) - timedelta(days=1)
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
CRM_COLUMNS = (
    "customer_id,first_name,last_name,email,phone,birth_date,gender,city,country,signup_date,"
    "loyalty_id,preferred_channel,interests,updated_at"
).split(",")
ORDER_COLUMNS = (
    "order_id,customer_id,email,ordered_at,status,amount,discount,currency,channel,updated_at"
).split(",")


@dataclass
class Demo:
    root: Path
    landing: Path
    warehouse: Path
    scores: IdentityScores | None = None
    baseline: pd.DataFrame = field(default_factory=pd.DataFrame)  # person_identifiers as built
    batches: int = 0

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """A read-only query; the connection is closed again so that loads and dbt can write."""
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).df()

    def dbt(self, *args: str, dbt_vars: dict | None = None) -> subprocess.CompletedProcess:
        return run_dbt(
            self.root,
            *args,
            "--target",
            "duckdb",
            # Only the tests whose every parent is selected (no marts beyond identity).
            "--indirect-selection",
            "cautious",
            env={"SEGMENTS_WAREHOUSE": str(self.warehouse)},
            dbt_vars=dbt_vars,
            check=False,
        )

    def rebuild(self) -> str:
        """Rebuild (and test) the identity models; the run's invocation id."""
        result = self.dbt("build", "--select", *IDENTITY_MODELS.split())
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        run_results = json.loads((self.root / "dbt" / "target" / "run_results.json").read_text())
        return run_results["metadata"]["invocation_id"]

    def append(
        self,
        crm: list[dict] | None = None,
        orders: list[dict] | None = None,
        events: list[dict] | None = None,
    ) -> None:
        """Land one more file per source given (as a new delivery would) and load them."""
        self.batches += 1
        tag = f"{self.batches:05d}"
        for rows, path, columns in (
            (crm, self.landing / "crm" / f"customers-test{tag}.csv", CRM_COLUMNS),
            (orders, self.landing / "shop" / f"orders-test{tag}.csv", ORDER_COLUMNS),
        ):
            if rows:
                with path.open("w", newline="") as handle:
                    writer = csv.DictWriter(handle, columns, quoting=csv.QUOTE_ALL)
                    writer.writeheader()
                    writer.writerows({c: row.get(c, "") for c in columns} for row in rows)
        if events:
            path = self.landing / "web" / f"events-test{tag}.jsonl"
            path.write_text("".join(json.dumps(event) + "\n" for event in events))
        load_all(self.warehouse, self.landing)

    def persons(self) -> pd.DataFrame:
        return self.query("select * from marts.person_identifiers")

    def changes(self, invocation: str) -> pd.DataFrame:
        return self.query(
            "select * from marts.identity_changes where invocation_id = ?", [invocation]
        )


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


def crm_record(customer_id: str, email: str = "", phone: str = "", day: int = 0) -> dict:
    signed_up = ARRIVAL - timedelta(days=day)
    return {
        "customer_id": customer_id,
        "first_name": "Test",
        "last_name": "Person",
        "email": email,
        "phone": phone,
        "country": "DE",
        "signup_date": signed_up.date().isoformat(),
        "updated_at": _stamp(signed_up),
    }


def order(order_id: str, customer_id: str, email: str) -> dict:
    return {
        "order_id": order_id,
        "customer_id": customer_id,
        "email": email,
        "ordered_at": _stamp(ARRIVAL),
        "status": "completed",
        "amount": "10.00",
        "discount": "0.00",
        "currency": "EUR",
        "channel": "web",
        "updated_at": _stamp(ARRIVAL),
    }


def web_event(message_id: str, anonymous_id: str, user_id: str | None) -> dict:
    stamp = ARRIVAL.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "message_id": message_id,
        "anonymous_id": anonymous_id,
        "user_id": user_id,
        "type": "identify",
        "event": None,
        "properties": {},
        "context": {"userAgent": USER_AGENT, "device": {"type": "desktop"}},
        "timestamp": stamp,
        "sent_at": stamp,
        "received_at": stamp,
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Demo:
    root = tmp_path_factory.mktemp("identity")
    built = Demo(root=root, landing=root / "landing", warehouse=root / "warehouse.duckdb")
    generate(built.landing, CUSTOMERS, seed=SEED, end_date=AS_OF, progress=False)
    load_all(built.warehouse, built.landing)
    result = built.dbt("build", "--select", "+identity_graph_health")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    built.scores = identity_scores(built.warehouse, built.landing / "_truth")
    built.baseline = built.persons()
    return built


def _person_of(persons: pd.DataFrame, identifier_type: str, value: str) -> str | None:
    rows = persons[
        (persons.identifier_type == identifier_type) & (persons.identifier_value == value)
    ]
    return None if rows.empty else rows.person_id.iloc[0]


def _simple_persons(demo: Demo, count: int) -> pd.DataFrame:
    """Persons with exactly one CRM id, one email and one phone (oldest first): crm_id, email,
    phone, person_id."""
    return demo.query(
        """
        with persons as (
            select person_id, min(person_first_seen_at) as first_seen_at
            from marts.person_identifiers
            group by person_id
            having count(*) filter (where identifier_type = 'crm_id') = 1
                and count(*) filter (where identifier_type = 'email') = 1
                and count(*) filter (where identifier_type = 'phone') = 1
        )
        select
            persons.person_id,
            max(case when identifier_type = 'crm_id' then identifier_value end) as crm_id,
            max(case when identifier_type = 'email' then identifier_value end) as email,
            max(case when identifier_type = 'phone' then identifier_value end) as phone,
            min(persons.first_seen_at) as first_seen_at
        from persons
        inner join marts.person_identifiers using (person_id)
        group by persons.person_id
        order by first_seen_at, persons.person_id
        limit ?
        """,
        [count],
    )


def _connected(edges: pd.DataFrame, cut: str, start: str, end: str) -> bool:
    """Whether `end` can be reached from `start` over the edges that don't touch `cut`."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.get(key, key) != key:
            key = parent[key]
        return key

    for left, right in zip(edges.left_key, edges.right_key, strict=True):
        if cut not in (left, right):
            parent[root(left)] = root(right)
    return root(start) == root(end)


def _person_tied_by_one_email(demo: Demo) -> tuple[str, str]:
    """A person with two CRM ids that fall apart when one email leaves the graph."""
    persons = demo.persons()
    crm_counts = persons[persons.identifier_type == "crm_id"].groupby("person_id").size()
    edges = demo.query(
        """
        select
            edges.left_type || ':' || edges.left_value as left_key,
            edges.right_type || ':' || edges.right_value as right_key,
            left_end.person_id
        from intermediate.int_identity__edges as edges
        inner join marts.person_identifiers as left_end
            on edges.left_type = left_end.identifier_type
            and edges.left_value = left_end.identifier_value
        inner join marts.person_identifiers as right_end
            on edges.right_type = right_end.identifier_type
            and edges.right_value = right_end.identifier_value
        where left_end.person_id = right_end.person_id
        """
    )
    for person in sorted(crm_counts[crm_counts == 2].index):
        own = persons[persons.person_id == person]
        crm_ids = ["crm_id:" + v for v in own[own.identifier_type == "crm_id"].identifier_value]
        person_edges = edges[edges.person_id == person]
        for email in own[own.identifier_type == "email"].identifier_value:
            if not _connected(person_edges, "email:" + email, *crm_ids):
                return person, email
    raise AssertionError("the demo plants duplicate CRM records tied by one email")


# 1. The demo as generated --------------------------------------------------------------------


def test_precision_and_recall_against_the_truth(demo):
    scores = demo.scores
    report = (
        f"identity resolution on {CUSTOMERS} demo customers: pairwise precision "
        f"{scores.precision:.4f}, recall {scores.recall:.4f} over linked identifiers "
        f"({scores.recall_all:.4f} over all planted); {scores.identifiers_scored} identifiers, "
        f"{scores.persons_found} persons found for {scores.persons_true} true"
    )
    print(f"\n{report}")
    assert scores.identifiers_scored > 5 * CUSTOMERS, report
    assert scores.persons_true == CUSTOMERS, report
    assert scores.precision >= 0.98, report
    assert scores.recall >= 0.98, report
    assert scores.recall_all <= scores.recall, report


def test_graph_health_agrees_with_person_identifiers(demo):
    health = demo.query("select * from marts.identity_graph_health where run_date = ?", [AS_OF])
    assert len(health) == 1
    row = health.iloc[0]
    persons = demo.persons()
    sizes = persons.groupby("person_id").size()
    crm_ids = persons[persons.identifier_type == "crm_id"].groupby("person_id").size()
    flagged = demo.query("select reason from intermediate.int_identity__flagged")
    assert row.persons == persons.person_id.nunique()
    assert row.identifiers == len(persons)
    assert row.singletons == int((sizes == 1).sum())
    assert row.largest_component == int(sizes.max())
    assert row.mean_identifiers_per_person == pytest.approx(sizes.mean())
    assert row.multi_crm_id_persons == int((crm_ids > 1).sum())
    assert row.flagged_identifiers == len(flagged)
    assert row.flagged_bots == int((flagged.reason == "bot").sum())
    # The demo plants duplicate CRM records, so some persons hold two CRM ids.
    assert row.multi_crm_id_persons > 0


def test_label_propagation_converged_with_passes_to_spare(demo):
    health = demo.query("select passes_used, max_passes from marts.identity_graph_health")
    passes = demo.query(
        "select max(first_round_changed_in_pass) as passes "
        "from intermediate.int_identity__components"
    )
    assert 0 < health.passes_used[0] < health.max_passes[0]
    assert health.passes_used[0] >= passes.passes[0]


# 2. New identifiers arrive: junk, a hub, a new device ----------------------------------------


def test_new_identifiers_junk_and_a_hub_keep_every_person_id(demo):
    baseline = demo.baseline
    people = _simple_persons(demo, 8)
    first, second, third, fourth, fifth, sixth = people.iloc[:6].itertuples()
    events = [
        # A new device logs in as an existing customer.
        web_event("m-test-login", "a-test-new-device", first.crm_id),
        # Placeholder user ids on two persons' devices: 'anonymous' (blocklisted), 'null' and
        # '' (no identifier at all).
        web_event("m-test-anon-1", "a-test-junk-1", "anonymous"),
        web_event("m-test-anon-2", "a-test-junk-2", "anonymous"),
        web_event("m-test-null-1", "a-test-junk-1", "null"),
        web_event("m-test-null-2", "a-test-junk-2", "null"),
        web_event("m-test-empty-1", "a-test-junk-1", ""),
        web_event("m-test-empty-2", "a-test-junk-2", ""),
        # Each junk device is otherwise tied to one person by a real login.
        web_event("m-test-real-1", "a-test-junk-1", second.crm_id),
        web_event("m-test-real-2", "a-test-junk-2", third.crm_id),
    ]
    orders = [
        # A test address typed at checkout by two different customers.
        order("O-TEST-0001", fourth.crm_id, "test@test.com"),
        order("O-TEST-0002", fifth.crm_id, "test@test.com"),
    ]
    crm = [
        # Two customers re-registered at a store desk with its shared phone number.
        crm_record("C-TEST-0001", email=fifth.email, phone="+49 30 12345678"),
        crm_record("C-TEST-0002", email=sixth.email, phone="+49 30 12345678"),
    ] + [
        # One family address on six new CRM records: a hub, not one person.
        crm_record(f"C-TEST-H{n}", email="family.hub@example.org", phone=f"+4915190000{n:02d}")
        for n in range(6)
    ]
    demo.append(crm=crm, orders=orders, events=events)
    invocation = demo.rebuild()
    after = demo.persons()

    kept = baseline.merge(after, on=["identifier_type", "identifier_value"], suffixes=("", "_now"))
    assert len(kept) == len(baseline), "an identifier of the previous run disappeared"
    moved = kept[kept.person_id != kept.person_id_now]
    assert moved.empty, moved.head()

    assert _person_of(after, "anonymous_id", "a-test-new-device") == first.person_id
    assert _person_of(after, "anonymous_id", "a-test-junk-1") == second.person_id
    assert _person_of(after, "anonymous_id", "a-test-junk-2") == third.person_id
    assert _person_of(after, "crm_id", "C-TEST-0001") == fifth.person_id
    assert _person_of(after, "crm_id", "C-TEST-0002") == sixth.person_id
    assert _person_of(after, "crm_id", fourth.crm_id) == fourth.person_id

    flagged = demo.query("select * from intermediate.int_identity__flagged")
    reasons = {
        (row.identifier_type, row.identifier_value): row.reason for row in flagged.itertuples()
    }
    assert reasons.get(("user_id", "anonymous")) == "blocklist"
    assert reasons.get(("email", "test@test.com")) == "blocklist"
    assert reasons.get(("phone", "+493012345678")) == "blocklist"
    assert reasons.get(("email", "family.hub@example.org")) == "too_many_crm_ids"
    junk = after[after.identifier_value.str.lower().isin(["", "null", "anonymous"])]
    assert junk.empty, junk
    assert not (
        {"test@test.com", "+493012345678", "family.hub@example.org"} & set(after.identifier_value)
    )

    hub_persons = {_person_of(after, "crm_id", f"C-TEST-H{n}") for n in range(6)}
    assert len(hub_persons) == 6 and None not in hub_persons

    changes = demo.query(
        "select * from marts.identity_changes where invocation_id = ?", [invocation]
    )
    assert changes.empty, changes


# 3. A merge ----------------------------------------------------------------------------------


def test_a_record_tying_two_persons_merges_them_under_the_older_id(demo):
    before = demo.persons()
    people = _simple_persons(demo, 20).iloc[10:]  # persons no earlier test touched
    older = people.iloc[0]
    newer = people[people.first_seen_at > older.first_seen_at].iloc[0]
    demo.append(crm=[crm_record("C-TEST-M1", email=older.email, phone=newer.phone)])
    invocation = demo.rebuild()
    after = demo.persons()

    merged = {older.person_id, newer.person_id}
    identifiers = before.loc[before.person_id.isin(merged), ["identifier_type", "identifier_value"]]
    now = after.merge(identifiers, on=["identifier_type", "identifier_value"])
    assert len(now) == len(identifiers) > 0
    assert set(now.person_id) == {older.person_id}
    assert _person_of(after, "crm_id", "C-TEST-M1") == older.person_id

    changes = demo.query(
        "select * from marts.identity_changes where invocation_id = ?", [invocation]
    )
    assert list(changes.change_kind) == ["merge"], changes
    change = changes.iloc[0]
    assert change.person_id == older.person_id
    assert set(change.previous_person_ids.split(",")) == merged
    assert change.identifiers == len(identifiers)


# 4. A split ----------------------------------------------------------------------------------


def test_a_hub_arriving_on_a_persons_only_link_splits_them_and_is_logged(demo):
    """A person entered twice in the CRM, the two records tied only by one email: when that
    email turns up on orders of two other customers it links four CRM ids, is flagged as a hub,
    and the person splits in two (the part holding the anchor keeps the id)."""
    person, email = _person_tied_by_one_email(demo)
    before = demo.persons()
    others = _simple_persons(demo, 30).iloc[25:27]
    demo.append(
        orders=[
            order(f"O-TEST-S{n}", other.crm_id, email)
            for n, other in enumerate(others.itertuples())
        ]
    )
    invocation = demo.rebuild()
    after = demo.persons()

    flagged = demo.query(
        "select reason from intermediate.int_identity__flagged where identifier_value = ?", [email]
    )
    assert list(flagged.reason) == ["too_many_crm_ids"]
    crm_ids = before[(before.person_id == person) & (before.identifier_type == "crm_id")]
    now = {_person_of(after, "crm_id", crm_id) for crm_id in crm_ids.identifier_value}
    assert len(now) == 2 and person in now, now
    for other in others.itertuples():
        assert _person_of(after, "crm_id", other.crm_id) == other.person_id

    changes = demo.query(
        "select * from marts.identity_changes where invocation_id = ?", [invocation]
    )
    splits = changes[changes.change_kind == "split"]
    assert list(splits.person_id) == [person], changes
    assert set(splits.current_person_ids[splits.index[0]].split(",")) == now
    assert set(changes.change_kind) == {"split"}, changes


# 5. Convergence ------------------------------------------------------------------------------


def test_too_few_passes_for_a_long_chain_fail_the_convergence_test(demo):
    """Ten CRM records chained by alternately shared phones and emails: 18 hops end to end.
    With one pass more than the demo needs, the demo converges and the chain does not: the
    convergence test fails, on the chain's edges only."""
    passes = int(demo.query("select passes_used from marts.identity_graph_health").passes_used[0])
    records = []
    for n in range(10):
        email_n = n if n % 2 == 0 else n - 1  # records 2k and 2k+1 share an email ...
        phone_n = n if n % 2 == 1 else n - 1  # ... records 2k-1 and 2k a phone
        records.append(
            crm_record(
                f"C-TEST-CHAIN{n}",
                email=f"chain.{email_n}@example.org",
                phone=f"+4915191{max(phone_n, 0):05d}",
                day=30 - n,
            )
        )
    demo.append(crm=records)
    result = demo.dbt(
        "build",
        "--select",
        "stg_crm__customers",
        "path:models/intermediate/identity",
        dbt_vars={"identity_max_passes": passes + 1},
    )
    assert result.returncode != 0, result.stdout[-3000:]
    assert "FAIL" in result.stdout and "identity_labels_converged" in result.stdout

    split_edges = demo.query(
        """
        select edges.*
        from intermediate.int_identity__edges as edges
        inner join intermediate.int_identity__components as left_end
            on edges.left_type = left_end.identifier_type
            and edges.left_value = left_end.identifier_value
        inner join intermediate.int_identity__components as right_end
            on edges.right_type = right_end.identifier_type
            and edges.right_value = right_end.identifier_value
        where left_end.is_resolved and right_end.is_resolved
            and left_end.component_node_id <> right_end.component_node_id
        """
    )
    assert not split_edges.empty
    chain_values = split_edges.left_value.str.contains("CHAIN|chain|4915191") & (
        split_edges.right_value.str.contains("CHAIN|chain|4915191")
    )
    assert chain_values.all(), split_edges[~chain_values]
