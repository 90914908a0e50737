"""The RFM mart against two peers on the same warehouse: the same figures computed the way a
pandas notebook does it, and by `lifetimes`' `summary_data_from_transaction_data`.

Both peers start from the same frame: the completed orders with a person placed before
midnight UTC of the as-of date, read from `marts.fct_orders` once (the read is timed apart and
counts towards neither peer). A peer's seconds are its own computation only; ours are the dbt
node time of `customer_rfm` in the marts build, which reads the orders from the warehouse,
scores, names segments and writes a row for every person, where each peer computes the
aggregates of its in-memory frame only; and the same model run again alone after the run, as
the peers run. Each peer's result is checked against `marts.customer_rfm`, person by person;
`mismatches` counts the people whose figures differ or who are on one side only.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

# Our side of the comparison: the model that computes customer_rfm from fct_orders.
RFM_NODES = ("customer_rfm",)
OURS_NOTE = (
    "ours: dbt node time of customer_rfm (the run's date, read from the warehouse, with "
    "scores, segments and a row per person, written to a table), in the build beside other "
    "models; ours alone: the same model run again after the run with nothing beside it, as "
    "the peers run"
)

ORDERS_SQL = """
    select person_id, ordered_at, amount
    from marts.fct_orders
    where
        order_status = 'completed'
        and person_id is not null
        and ordered_at < cast($as_of as timestamp)
"""

# customer_rfm's buyers, money in whole cents (exact: it is a decimal(18, 2)).
MART_SQL = """
    select
        person_id,
        first_ordered_at,
        last_ordered_at,
        recency_days,
        tenure_days,
        frequency,
        cast(monetary * 100 as bigint) as monetary_cents
    from marts.customer_rfm
    where as_of_date = $as_of and frequency > 0
"""

# What lifetimes counts and customer_rfm does not: the days with an order, and the first
# such day's total (lifetimes leaves it out of the repeat purchases' mean).
ORDER_DAYS_SQL = """
    with

    daily as (
        select
            person_id,
            cast(ordered_at as date) as order_date,
            sum(amount) as day_amount
        from marts.fct_orders
        where
            order_status = 'completed'
            and person_id is not null
            and ordered_at < cast($as_of as timestamp)
        group by person_id, cast(ordered_at as date)
    )

    select
        person_id,
        count(*) as order_days,
        cast(arg_min(day_amount, order_date) * 100 as bigint) as first_day_cents
    from daily
    group by person_id
"""

NOTEBOOK_COLUMNS = [
    "first_ordered_at",
    "last_ordered_at",
    "recency_days",
    "tenure_days",
    "frequency",
    "monetary_cents",
]
LIFETIMES_COLUMNS = ["frequency", "recency", "T", "monetary_cents"]


@dataclass
class Inputs:
    """What the peers read and what they are checked against."""

    as_of: date
    orders: pd.DataFrame  # person_id, ordered_at, amount (float, as a notebook reads it)
    read_seconds: float  # reading `orders` from the warehouse
    mart: pd.DataFrame  # customer_rfm's buyers as of the date, by person_id
    order_days: pd.DataFrame  # order_days, first_day_cents, by person_id (from fct_orders)


def read_inputs(warehouse_path: Path, as_of: date) -> Inputs:
    params = {"as_of": as_of}
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        started = time.perf_counter()
        orders = con.execute(ORDERS_SQL, params).df()
        read_seconds = time.perf_counter() - started
        mart = con.execute(MART_SQL, params).df().set_index("person_id")
        order_days = con.execute(ORDER_DAYS_SQL, params).df().set_index("person_id")
    return Inputs(as_of, orders, read_seconds, mart, order_days)


def rfm_node_seconds(run_results: Path) -> float | None:
    """Our RFM's time: the execution time of RFM_NODES in a dbt build's run results (None
    when that build did not run them)."""
    results = json.loads(run_results.read_text())["results"]
    times = {
        result["unique_id"].rsplit(".", 1)[-1]: result["execution_time"]
        for result in results
        if result["unique_id"].startswith("model.")
    }
    if not all(node in times for node in RFM_NODES):
        return None
    return sum(times[node] for node in RFM_NODES)


def _mismatches(theirs: pd.DataFrame, ours: pd.DataFrame, columns: list[str]) -> dict:
    """People on one side only, or with any of `columns` unequal; both frames by person_id."""
    joined = theirs[columns].join(ours[columns], how="outer", lsuffix="_peer", rsuffix="_ours")
    one_side = theirs.index.symmetric_difference(ours.index)
    differs = pd.Series(False, index=joined.index)
    by_column = {}
    for column in columns:  # a few columns, each compared as a whole
        unequal = joined[f"{column}_peer"].ne(joined[f"{column}_ours"])
        by_column[column] = int(unequal.drop(one_side).sum())
        differs |= unequal
    return {
        "people": len(joined),
        "mismatches": int(differs.sum()),
        "only_one_side": len(one_side),
        "mismatches_by_column": by_column,
    }


def rfm_alone_seconds(warehouse_path: Path, compiled_dir: Path, memory_limit: str) -> float | None:
    """Our RFM again after the run, alone on the machine as each peer is: RFM_NODES' SQL as
    dbt compiled it in the run, in order, each written to a table as dbt writes it (in a
    scratch schema, dropped after), with the dbt profile's DuckDB settings (`memory_limit`:
    the run's `duckdb_memory_limit`). In the build the nodes share the two cores with the
    models beside them; here, as for the peers, nothing else runs. Each table must equal the
    one the build wrote (row count and hash), or this raises. None when the run did not
    compile them."""
    paths = [next(compiled_dir.rglob(f"{node}.sql"), None) for node in RFM_NODES]
    if None in paths:
        return None
    config = {"memory_limit": memory_limit, "preserve_insertion_order": False}
    seconds = 0.0
    with duckdb.connect(str(warehouse_path), config=config) as con:
        con.execute("set enable_progress_bar = false")
        con.execute("create schema if not exists bench_scratch")
        try:
            for node, path in zip(RFM_NODES, paths, strict=True):
                started = time.perf_counter()
                con.execute(f"create table bench_scratch.{node} as {path.read_text()}")
                seconds += time.perf_counter() - started
                (built,) = con.execute(
                    "select table_schema from information_schema.tables "
                    "where table_name = ? and table_schema != 'bench_scratch'",
                    [node],
                ).fetchone()
                digest = "select count(*), sum(hash(t)) from {} as t"
                again = con.execute(digest.format(f"bench_scratch.{node}")).fetchone()
                if again != con.execute(digest.format(f"{built}.{node}")).fetchone():
                    raise RuntimeError(f"{node}: run again alone, it differs from the build's")
        finally:
            con.execute("drop schema bench_scratch cascade")
    return seconds


def pandas_notebook(orders: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """RFM as a data scientist writes it in a notebook: one groupby over the orders."""
    rfm = orders.groupby("person_id").agg(
        first_ordered_at=("ordered_at", "min"),
        last_ordered_at=("ordered_at", "max"),
        frequency=("ordered_at", "size"),
        monetary=("amount", "sum"),
    )
    as_of_ts = pd.Timestamp(as_of)
    rfm["recency_days"] = (as_of_ts - rfm["last_ordered_at"].dt.normalize()).dt.days
    rfm["tenure_days"] = (as_of_ts - rfm["first_ordered_at"].dt.normalize()).dt.days
    return rfm


def notebook_peer(inputs: Inputs, ours_seconds: float | None) -> dict:
    """The notebook's groupby, timed, and compared with customer_rfm: first and last order
    time, recency and tenure days, order count and money to the cent, for every buyer."""
    started = time.perf_counter()
    rfm = pandas_notebook(inputs.orders, inputs.as_of)
    seconds = time.perf_counter() - started
    rfm["monetary_cents"] = (rfm["monetary"] * 100).round().astype("int64")
    check = _mismatches(rfm, inputs.mart, NOTEBOOK_COLUMNS)
    return _row(
        "pandas notebook (groupby on the orders)",
        seconds,
        ours_seconds,
        inputs,
        check,
        compared="first/last ordered_at, recency_days, tenure_days, frequency, monetary (cents)",
    )


def sample_people(orders: pd.DataFrame, max_people: int) -> pd.Index | None:
    """Every n-th buyer by person_id (the same ones on every run), at most max_people;
    None when there are no more buyers than that."""
    people = pd.Index(orders["person_id"].unique()).sort_values()
    if len(people) <= max_people:
        return None
    return people[:: -(-len(people) // max_people)]


def lifetimes_peer(inputs: Inputs, ours_seconds: float | None, max_people: int = 200_000) -> dict:
    """`summary_data_from_transaction_data` with freq='D' up to the day before the as-of
    date, timed, and mapped onto ours for every buyer (or every buyer of a fixed sample):

    - T (days from the first order's day to the period's last day) = tenure_days - 1;
    - recency (days from the first order's day to the last one's) = tenure_days - recency_days;
    - frequency (repeat order days) = days with an order - 1, counted in fct_orders;
    - monetary_value (mean of the repeat days' totals) x frequency + the first day's total
      = customer_rfm's monetary, to the cent (the first day's total from fct_orders).
    """
    with warnings.catch_warnings():  # lifetimes sets an option pandas 3 deprecates
        warnings.simplefilter("ignore")
        from lifetimes.utils import summary_data_from_transaction_data

    orders, mart, sample = inputs.orders, inputs.mart, sample_people(inputs.orders, max_people)
    if sample is not None:
        orders = orders[orders["person_id"].isin(sample)]
        mart = mart[mart.index.isin(sample)]
    started = time.perf_counter()
    summary = summary_data_from_transaction_data(
        orders,
        "person_id",
        "ordered_at",
        monetary_value_col="amount",
        observation_period_end=pd.Timestamp(inputs.as_of - timedelta(days=1)),
        freq="D",
    )
    seconds = time.perf_counter() - started

    days = inputs.order_days.reindex(summary.index)
    summary["monetary_cents"] = (
        summary["monetary_value"] * summary["frequency"] * 100
    ).round().astype("int64") + days["first_day_cents"]
    ours = pd.DataFrame(
        {
            "frequency": inputs.order_days["order_days"].reindex(mart.index) - 1,
            "recency": mart["tenure_days"] - mart["recency_days"],
            "T": mart["tenure_days"] - 1,
            "monetary_cents": mart["monetary_cents"],
        }
    )
    check = _mismatches(summary, ours, LIFETIMES_COLUMNS)
    row = _row(
        "lifetimes summary_data_from_transaction_data",
        seconds,
        ours_seconds,
        inputs,
        check,
        compared=(
            "T = tenure_days - 1 and recency = tenure_days - recency_days (customer_rfm); "
            "frequency = order days - 1 (fct_orders: customer_rfm counts orders, not days); "
            "monetary_value x frequency + first day's total = monetary, to the cent"
        ),
    )
    row["sampled"] = None if sample is None else len(sample)
    if sample is not None:
        row["note"] += f"; lifetimes ran on a fixed sample of {len(sample):,} buyers"
    return row


def _row(
    name: str, seconds: float, ours: float | None, inputs: Inputs, check: dict, compared: str
) -> dict:
    return {
        "name": name,
        "seconds": seconds,
        "ours_seconds": ours,
        "ratio": seconds / ours if ours else None,
        "rows": len(inputs.orders),
        "read_seconds": inputs.read_seconds,
        "agree": check["mismatches"] == 0,
        **check,
        "compared": compared,
        "note": OURS_NOTE + "; reading the orders into pandas is timed apart (read_seconds)",
    }


def peers(
    warehouse_path: Path,
    as_of: date,
    ours_seconds: float | None,
    max_lifetimes_people: int = 200_000,
    ours_alone_seconds: float | None = None,
) -> list[dict]:
    """Both peers on the warehouse as of `as_of`, each against customer_rfm; ours_seconds
    from `rfm_node_seconds` of the marts build (None: ratio unknown), ours_alone_seconds
    from `rfm_alone_seconds`."""
    inputs = read_inputs(warehouse_path, as_of)
    rows = [
        notebook_peer(inputs, ours_seconds),
        lifetimes_peer(inputs, ours_seconds, max_lifetimes_people),
    ]
    for row in rows:
        row["ours_alone_seconds"] = ours_alone_seconds
        row["ratio_alone"] = row["seconds"] / ours_alone_seconds if ours_alone_seconds else None
    return rows
