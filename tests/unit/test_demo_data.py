"""The demo generator: reproducible, consistent with its truth, and dirty where it says so."""

from __future__ import annotations

import hashlib

import duckdb
import pandas as pd

from demo_data.generate import generate
from demo_data.personas import PERSONAS
from tests.conftest import AS_OF


def _digest(folder):
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path):
    generate(tmp_path / "a", 500, seed=7, end_date=AS_OF)
    generate(tmp_path / "b", 500, seed=7, end_date=AS_OF)
    generate(tmp_path / "c", 500, seed=8, end_date=AS_OF)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_files_agree_with_counts_truth_and_end_date(tmp_path):
    counts = generate(tmp_path, 1200, seed=1, end_date=AS_OF)
    con = duckdb.connect()
    customers = con.sql(f"select * from read_csv('{tmp_path}/crm/customers.csv')").df()
    orders = con.sql(f"select * from read_csv('{tmp_path}/shop/orders.csv')").df()
    truth = pd.read_parquet(tmp_path / "_truth" / "persons.parquet")

    assert len(customers) == counts.customers == 1200
    assert len(orders) == counts.orders > 1200
    assert customers["customer_id"].is_unique and orders["order_id"].is_unique
    assert set(orders["customer_id"]) <= set(customers["customer_id"])
    assert set(truth["true_person"]) == set(customers["customer_id"])
    assert set(truth["persona"]) == {p.name for p in PERSONAS}
    assert truth["p_purchase_30d"].between(0, 1).all()
    # Every order lies before the end date: the future window exists only in the truth.
    assert orders["ordered_at"].max() < pd.Timestamp(AS_OF, tz="UTC")


def test_personas_drive_behaviour(tmp_path):
    generate(tmp_path, 3000, seed=3, end_date=AS_OF)
    con = duckdb.connect()
    per_persona = (
        con.sql(
            f"""
        select
            truth.persona,
            count(orders.order_id) / count(distinct truth.true_person) as orders_pp
        from '{tmp_path}/_truth/persons.parquet' as truth
        left join read_csv('{tmp_path}/shop/orders.csv') as orders
            on orders.customer_id = truth.true_person
        group by truth.persona
        """
        )
        .df()
        .set_index("persona")["orders_pp"]
    )
    assert per_persona["loyal_high_value"] > 3 * per_persona["occasional"]


def test_emails_are_planted_dirty(tmp_path):
    generate(tmp_path, 2000, seed=5, end_date=AS_OF)
    emails = duckdb.sql(f"select email from read_csv('{tmp_path}/crm/customers.csv')").df()["email"]
    assert (emails != emails.str.strip().str.lower()).mean() > 0.1
