"""The benchmark's RFM peers (a pandas notebook, lifetimes) agree with customer_rfm person by
person on a built warehouse, and the check reports a mart that differs."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from benchmarks.peers import (
    Inputs,
    lifetimes_peer,
    notebook_peer,
    read_inputs,
    rfm_alone_seconds,
    rfm_node_seconds,
)
from tests.activation.conftest import copy_warehouse
from tests.conftest import AS_OF


@pytest.fixture(scope="module")
def inputs(activated_settings) -> Inputs:
    return read_inputs(activated_settings.warehouse_path, AS_OF)


def _perturbed(inputs: Inputs, person_id: str, column: str, change: int) -> Inputs:
    mart = inputs.mart.copy()
    mart.loc[person_id, column] += change
    return Inputs(inputs.as_of, inputs.orders, inputs.read_seconds, mart, inputs.order_days)


def test_both_peers_agree_with_the_mart(inputs: Inputs) -> None:
    assert len(inputs.mart) > 100  # the fixture's buyers
    for row in (notebook_peer(inputs, None), lifetimes_peer(inputs, None)):
        assert row["agree"], row
        assert row["mismatches"] == 0 and row["only_one_side"] == 0
        assert row["people"] == len(inputs.mart)
        assert row["ratio"] is None
    timed = lifetimes_peer(inputs, 2.0)
    assert timed["ratio"] == pytest.approx(timed["seconds"] / 2.0)


@pytest.mark.parametrize(
    ("column", "change", "notebook_sees", "lifetimes_sees"),
    [
        ("frequency", 1, "frequency", None),  # lifetimes counts days, not orders
        ("monetary_cents", 1, "monetary_cents", "monetary_cents"),
        ("tenure_days", -1, "tenure_days", "T"),
        ("recency_days", 1, "recency_days", "recency"),
    ],
)
def test_a_different_mart_is_a_mismatch(
    inputs: Inputs, column: str, change: int, notebook_sees: str, lifetimes_sees: str | None
) -> None:
    person_id = inputs.mart.index[0]
    changed = _perturbed(inputs, person_id, column, change)
    notebook = notebook_peer(changed, None)
    assert not notebook["agree"] and notebook["mismatches"] == 1
    assert notebook["mismatches_by_column"][notebook_sees] == 1
    lifetimes = lifetimes_peer(changed, None)
    if lifetimes_sees is None:
        assert lifetimes["agree"]
    else:
        assert not lifetimes["agree"] and lifetimes["mismatches"] == 1
        assert lifetimes["mismatches_by_column"][lifetimes_sees] == 1


def test_a_buyer_missing_from_the_mart_is_a_mismatch(inputs: Inputs) -> None:
    mart = inputs.mart.drop(inputs.mart.index[-1])
    changed = Inputs(inputs.as_of, inputs.orders, inputs.read_seconds, mart, inputs.order_days)
    for row in (notebook_peer(changed, None), lifetimes_peer(changed, None)):
        assert row["mismatches"] == 1 and row["only_one_side"] == 1


def test_lifetimes_on_a_sample_says_so(inputs: Inputs) -> None:
    row = lifetimes_peer(inputs, None, max_people=100)
    assert row["agree"] and 50 <= row["people"] == row["sampled"] <= 100
    assert "sample of" in row["note"]
    assert row == lifetimes_peer(inputs, None, max_people=100) | {"seconds": row["seconds"]}


def test_ours_is_the_rfm_nodes_time(tmp_path: Path) -> None:
    def write(results: list[tuple[str, float]]) -> Path:
        path = tmp_path / "run_results.json"
        path.write_text(
            json.dumps({"results": [{"unique_id": u, "execution_time": t} for u, t in results]})
        )
        return path

    nodes = [
        ("model.customer_segmentation.int_features__rfm", 1.5),
        ("test.customer_segmentation.not_null_customer_rfm_person_id.0178a4fea5", 9.0),
        ("model.customer_segmentation.customer_rfm", 0.25),
        ("model.customer_segmentation.customer_features", 9.0),
    ]
    assert rfm_node_seconds(write(nodes)) == 0.25
    assert rfm_node_seconds(write(nodes[:2])) is None  # a build without the RFM mart


def test_ours_alone_reruns_the_compiled_rfm_and_leaves_nothing(
    activated_settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = copy_warehouse(activated_settings, monkeypatch, tmp_path / "data")
    compiled = settings.dbt_target_dir / "compiled"
    seconds = rfm_alone_seconds(settings.warehouse_path, compiled, settings.duckdb_memory_limit)
    assert seconds is not None and seconds > 0
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        schemas = {
            row[0] for row in con.execute("select schema_name from duckdb_schemas()").fetchall()
        }
    assert "bench_scratch" not in schemas

    # SQL that no longer computes what the build wrote is refused, not timed.
    changed = tmp_path / "compiled"
    for path in compiled.rglob("*.sql"):
        target = changed / path.relative_to(compiled)
        target.parent.mkdir(parents=True, exist_ok=True)
        sql = path.read_text()
        if path.name == "customer_rfm.sql":
            sql = f"select * from ({sql}) as rfm where frequency > 1"
        target.write_text(sql)
    with pytest.raises(RuntimeError, match="customer_rfm: run again alone, it differs"):
        rfm_alone_seconds(settings.warehouse_path, changed, settings.duckdb_memory_limit)
    assert rfm_alone_seconds(settings.warehouse_path, tmp_path / "nothing", "1GB") is None
