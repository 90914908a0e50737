"""The dbt marts: the incremental fct_sessions equals a full refresh, sessions follow the
30-minute inactivity rule, and customer_features is point-in-time correct: its snapshot as
of an earlier date, from the build as of AS_OF, equals the build as of that date.

One small demo company is generated and loaded once for the module, with a few planted
devices whose events sit on the rule's edges. The fixture then builds the project as a
pipeline would over time and keeps a copy of what each step left (schema `snap`):

1. seeds and models as of EARLY (a fresh warehouse; no earlier feature snapshots):
   `snap.features_early`, `snap.sessions_early`;
2. late events arrive (planted rows that bridge two of a device's sessions, before EARLY);
3. `dbt build` as of AS_OF, fct_sessions incremental, with one feature snapshot 21 days back
   (`feature_snapshot_offsets_days: [21]`, i.e. EARLY), as every AS_OF step below:
   `snap.sessions_incremental`;
4. back to EARLY, incremental (the pre-hook's path): `snap.sessions_back`;
5. `dbt build --full-refresh --select fct_sessions+` as of AS_OF: the warehouse's state.

About 45 s, most of it dbt starting and parsing (the `as_of_date` var changes every time).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from demo_data.generate import generate
from extract_load.load import load_all
from tests.conftest import AS_OF
from tests.dbt_cli import run_dbt

CUSTOMERS = 1500
SEED = 7
EARLY = AS_OF - timedelta(days=21)
TIMEOUT = timedelta(minutes=30)
USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
EVE = datetime.combine(EARLY - timedelta(days=1), datetime.min.time())
# Planted devices: (anonymous id, event times). Gaps of exactly 30 minutes stay in a session;
# 30 minutes and a millisecond start a new one.
GAPS_DEVICE = "a-00000000000000e1"
MIDNIGHT_DEVICE = "a-00000000000000e2"
BRIDGE_DEVICE = "a-00000000000000e3"
PLANTED = {
    GAPS_DEVICE: [
        EVE - timedelta(days=5, hours=-10),
        EVE - timedelta(days=5, hours=-10, minutes=-30),
        EVE - timedelta(days=5, hours=-11, milliseconds=-1),
        EVE - timedelta(days=5, hours=-11, minutes=-29),
    ],
    # One session across EARLY's midnight: as of EARLY it ends at 23:50.
    MIDNIGHT_DEVICE: [
        EVE + timedelta(hours=23, minutes=50),
        EVE + timedelta(days=1, minutes=10),
        EVE + timedelta(days=1, minutes=35),
    ],
    # Two sessions (80 minutes apart) until the late events arrive.
    BRIDGE_DEVICE: [EVE + timedelta(hours=22), EVE + timedelta(hours=23, minutes=20)],
}
LATE = {
    BRIDGE_DEVICE: [EVE + timedelta(hours=22, minutes=25), EVE + timedelta(hours=22, minutes=50)]
}


def _plant(con: duckdb.DuckDBPyConnection, devices: dict[str, list[datetime]], tag: str) -> None:
    """Raw clickstream rows with a correct device clock (timestamp = sent_at = received_at)."""
    context = json.dumps({"userAgent": USER_AGENT, "device": {"type": "mobile"}})
    rows = []
    for anonymous_id, times in devices.items():
        for number, at in enumerate(times):
            stamp = at.isoformat(timespec="milliseconds") + "Z"
            message_id = f"m-test-{tag}-{anonymous_id}-{number}"
            # Each row its own position in the batch, as the loader numbers them.
            rows.append((message_id, anonymous_id, context, stamp, stamp, stamp, len(rows), tag))
    con.executemany(
        """
        insert into raw.web__events (
            message_id, anonymous_id, type, properties, context, timestamp, sent_at,
            received_at, _source_row, _batch_id, _loaded_at, _source_file
        )
        values (?, ?, 'page', '{"path": "/"}', ?, ?, ?, ?, ?, ?, now(), 'planted')
        """,
        rows,
    )


def _dbt(root: Path, warehouse: Path, as_of: date, *args: str) -> None:
    """dbt as of `as_of`; a build as of AS_OF also keeps the features as of EARLY."""
    offsets = [(as_of - EARLY).days] if as_of > EARLY else []
    run_dbt(
        root,
        *args,
        "--target",
        "duckdb",
        "--threads",
        "8",
        env={"SEGMENTS_WAREHOUSE": str(warehouse)},
        dbt_vars={"as_of_date": as_of.isoformat(), "feature_snapshot_offsets_days": offsets},
    )


def _snapshot(warehouse: Path, **tables: str) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists snap")
        for name, source in tables.items():
            con.execute(f"create or replace table snap.{name} as select * from {source}")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A read-only connection to the warehouse after the steps in the module docstring."""
    root = tmp_path_factory.mktemp("marts")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    generate(landing, CUSTOMERS, seed=SEED, end_date=AS_OF, progress=False)
    load_all(warehouse, landing)
    with duckdb.connect(str(warehouse)) as con:
        _plant(con, PLANTED, "early")

    _dbt(root, warehouse, EARLY, "build", "--resource-type", "seed", "--resource-type", "model")
    _snapshot(
        warehouse,
        features_early="marts.customer_features",
        sessions_early="marts.fct_sessions",
    )
    with duckdb.connect(str(warehouse)) as con:
        _plant(con, LATE, "late")
    _dbt(root, warehouse, AS_OF, "build")
    _snapshot(warehouse, sessions_incremental="marts.fct_sessions")
    _dbt(root, warehouse, EARLY, "run", "--select", "fct_sessions")
    _snapshot(warehouse, sessions_back="marts.fct_sessions")
    # `+` reaches the activation layer too, which reads the segments no test built here.
    _dbt(
        root,
        warehouse,
        AS_OF,
        "build",
        "--full-refresh",
        "--select",
        "fct_sessions+",
        "--exclude",
        "path:models/activation",
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        yield con


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    return con.execute(f"select * from {table} order by session_id").df()


def _sessions_of(con: duckdb.DuckDBPyConnection, table: str, anonymous_id: str) -> list:
    return con.execute(
        f"select started_at, ended_at, events from {table} where anonymous_id = ? "
        "order by started_at",
        [anonymous_id],
    ).fetchall()


def test_incremental_sessions_equal_a_full_refresh(built):
    con = built
    incremental, full = _rows(con, "snap.sessions_incremental"), _rows(con, "marts.fct_sessions")
    assert len(full) > 1000
    pd.testing.assert_frame_equal(incremental, full)
    # The incremental run had work to do: sessions that grew across EARLY's midnight and two
    # sessions that late events bridged into one.
    assert _sessions_of(con, "snap.sessions_early", MIDNIGHT_DEVICE) == [
        (EVE + timedelta(hours=23, minutes=50), EVE + timedelta(hours=23, minutes=50), 1)
    ]
    assert _sessions_of(con, "marts.fct_sessions", MIDNIGHT_DEVICE) == [
        (EVE + timedelta(hours=23, minutes=50), EVE + timedelta(days=1, minutes=35), 3)
    ]
    assert len(_sessions_of(con, "snap.sessions_early", BRIDGE_DEVICE)) == 2
    assert _sessions_of(con, "marts.fct_sessions", BRIDGE_DEVICE) == [
        (EVE + timedelta(hours=22), EVE + timedelta(hours=23, minutes=20), 4)
    ]
    (grown,) = con.execute(
        """
        select count(*) from marts.fct_sessions
        where anonymous_id in (select anonymous_id from snap.sessions_early)
            and session_id not in (select session_id from snap.sessions_early)
        """
    ).fetchone()
    assert grown > 100


def test_a_run_back_to_an_earlier_date_equals_a_full_refresh(built):
    """Incremental back to EARLY equals the fresh build as of EARLY, but for the device whose
    late events arrived in between (one session now, as a full refresh would give)."""
    con = built
    without_late = f"where anonymous_id != '{BRIDGE_DEVICE}'"
    back = _rows(con, f"(select * from snap.sessions_back {without_late})")
    fresh = _rows(con, f"(select * from snap.sessions_early {without_late})")
    assert len(back) < len(_rows(con, "marts.fct_sessions"))
    assert back["ended_at"].max() < pd.Timestamp(EARLY)
    pd.testing.assert_frame_equal(back, fresh)
    assert _sessions_of(con, "snap.sessions_back", BRIDGE_DEVICE) == _sessions_of(
        con, "marts.fct_sessions", BRIDGE_DEVICE
    )
    assert _sessions_of(con, "snap.sessions_back", MIDNIGHT_DEVICE) == _sessions_of(
        con, "snap.sessions_early", MIDNIGHT_DEVICE
    )


def _expected_sessions(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Sessions recomputed in pandas: a gap over 30 minutes starts a new one."""
    events = con.execute(
        """
        select anonymous_id, message_id, occurred_at
        from staging.stg_web__events
        where not is_bot and anonymous_id is not null and occurred_at < ?
        """,
        [datetime.combine(AS_OF, datetime.min.time())],
    ).df()
    events = events.sort_values(["anonymous_id", "occurred_at", "message_id"])
    gap = events.groupby("anonymous_id")["occurred_at"].diff()
    events["session"] = (
        (gap.isna() | (gap > TIMEOUT)).astype(int).groupby(events["anonymous_id"]).cumsum()
    )
    return (
        events.groupby(["anonymous_id", "session"])
        .agg(
            started_at=("occurred_at", "min"),
            ended_at=("occurred_at", "max"),
            events=("message_id", "size"),
        )
        .reset_index()
        .drop(columns="session")
    )


def test_sessions_follow_the_30_minute_inactivity_rule(built):
    con = built
    expected = _expected_sessions(con)
    actual = con.execute(
        "select anonymous_id, started_at, ended_at, events, person_id from marts.fct_sessions"
    ).df()
    key = ["anonymous_id", "started_at"]
    left = expected.sort_values(key).reset_index(drop=True)
    right = actual[[*key, "ended_at", "events"]].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right, check_dtype=False)
    assert (expected.groupby("anonymous_id").size() > 1).sum() > 100

    # The edges: exactly 30 minutes stays in the session, a millisecond more does not.
    start = EVE - timedelta(days=5, hours=-10)
    assert _sessions_of(con, "marts.fct_sessions", GAPS_DEVICE) == [
        (start, start + timedelta(minutes=30), 2),
        (start + timedelta(hours=1, milliseconds=1), start + timedelta(hours=1, minutes=29), 2),
    ]

    # Per person: the sessions of the person's devices (the device's person, else its user's).
    people = con.execute(
        """
        with devices as (
            select anonymous_id, max(user_id) as user_id
            from staging.stg_web__events
            where not is_bot and anonymous_id is not null
            group by anonymous_id
        )
        select devices.anonymous_id, coalesce(by_device.person_id, by_user.person_id) as person
        from devices
        left join marts.person_identifiers as by_device
            on by_device.identifier_type = 'anonymous_id'
            and by_device.identifier_value = devices.anonymous_id
        left join marts.person_identifiers as by_user
            on by_user.identifier_type = 'user_id' and by_user.identifier_value = devices.user_id
        """
    ).df()
    per_person = expected.merge(people, on="anonymous_id").groupby("person").size()
    actual_per_person = actual.groupby("person_id").size()
    assert per_person.sort_index().to_dict() == actual_per_person.sort_index().to_dict()


def test_customer_features_are_point_in_time(built):
    """Features as of EARLY equal the AS_OF facts filtered to before EARLY."""
    con = built
    early = datetime.combine(EARLY, datetime.min.time())
    differences = con.execute(
        """
        with

        orders as (
            select
                person_id,
                count(*) filter (where order_status = 'completed') as frequency,
                sum(amount) as monetary,
                count(*) filter (
                    where order_status = 'completed' and ordered_at >= $early - interval 90 day
                ) as orders_90d
            from marts.fct_orders
            where ordered_at < $early and person_id is not null
            group by person_id
        ),

        sessions as (
            select person_id, count(*) as sessions
            from marts.fct_sessions
            where started_at < $early
            group by person_id
        ),

        emails as (
            select person_id, count(*) as emails_delivered
            from marts.fct_email_engagement
            where first_delivered_at < $early
                or first_opened_at < $early
                or first_clicked_at < $early
            group by person_id
        ),

        devices as (
            select identifiers.person_id, count(distinct events.anonymous_id) as devices
            from staging.stg_web__events as events
            join marts.person_identifiers as identifiers
                on identifiers.identifier_type = 'anonymous_id'
                and identifiers.identifier_value = events.anonymous_id
            where events.occurred_at < $early
            group by identifiers.person_id
        ),

        expected as (
            select
                people.person_id,
                coalesce(orders.frequency, 0) as frequency,
                coalesce(orders.monetary, 0) as monetary,
                coalesce(orders.orders_90d, 0) as orders_90d,
                coalesce(sessions.sessions, 0) as sessions,
                coalesce(emails.emails_delivered, 0) as emails_delivered,
                coalesce(devices.devices, 0) as devices
            from marts.dim_customers as people
            left join orders on people.person_id = orders.person_id
            left join sessions on people.person_id = sessions.person_id
            left join emails on people.person_id = emails.person_id
            left join devices on people.person_id = devices.person_id
            where people.first_seen_at < $early
        ),

        -- Late events reached this device after the EARLY build: a difference, not a leak.
        late_people as (
            select person_id from marts.person_identifiers
            where identifier_type = 'anonymous_id' and identifier_value = $late_device
        )

        select
            coalesce(expected.person_id, features.person_id) as person_id,
            expected.frequency, features.frequency,
            expected.monetary, features.monetary,
            expected.orders_90d, features.orders_90d,
            expected.sessions, features.sessions,
            expected.emails_delivered, features.emails_delivered,
            expected.devices, features.devices
        from expected
        full join snap.features_early as features on expected.person_id = features.person_id
        where coalesce(expected.person_id, features.person_id)
                not in (select person_id from late_people)
            and (expected.person_id is null
            or features.person_id is null
            or expected.frequency != features.frequency
            or abs(expected.monetary - features.monetary) > 0.005
            or expected.orders_90d != features.orders_90d
            or expected.sessions != features.sessions
            or expected.emails_delivered != features.emails_delivered
            or expected.devices != features.devices)
        limit 5
        """,
        {"early": early, "late_device": BRIDGE_DEVICE},
    ).fetchall()
    assert differences == []

    people, latest, buyers, any_recent = con.execute(
        """
        select
            count(*),
            max(as_of_date),
            count(*) filter (where is_buyer = 1),
            count(*) filter (where days_since_last_session < 1 or recency_days < 1)
        from snap.features_early
        """
    ).fetchone()
    (now_people,) = con.execute(
        "select count(*) from marts.customer_features where as_of_date = ?", [AS_OF]
    ).fetchone()
    assert 0 < people < now_people
    assert latest == EARLY
    assert buyers > 0
    assert any_recent == 0


def test_feature_snapshot_equals_a_build_as_of_its_date(built):
    """The build as of AS_OF keeps customer_features as of EARLY too (offset 21 days): those
    rows equal the build as of EARLY row for row, every column. One person is left out: the
    late events reached their device after the EARLY build (two sessions then, one now, as
    a build as of EARLY today would also say), a difference in the data, not a leak."""
    con = built
    dates = con.execute(
        "select as_of_date, count(*) from marts.customer_features group by 1 order by 1"
    ).fetchall()
    assert [d for d, _ in dates] == [EARLY, AS_OF]
    late_person = "(select person_id from marts.person_identifiers where identifier_value = ?)"
    query = f"select * from {{}} where person_id not in {late_person} order by person_id"
    snapshot = con.execute(
        query.format("(select * from marts.customer_features where as_of_date = ?)"),
        [EARLY, BRIDGE_DEVICE],
    ).df()
    early = con.execute(query.format("snap.features_early"), [BRIDGE_DEVICE]).df()
    assert len(early) > 1000
    assert (
        len(snapshot)
        == len(early)
        == con.execute("select count(*) - 1 from snap.features_early").fetchone()[0]
    )
    pd.testing.assert_frame_equal(
        snapshot.reset_index(drop=True),
        early.reset_index(drop=True),
        check_exact=False,
        rtol=1e-9,
        atol=1e-9,
    )
    # The comparison covers what could leak: a session running at EARLY's midnight (counted
    # as its part before it), buyers, and 90-day windows that differ between the dates.
    (midnight_person,) = con.execute(
        "select person_id from marts.person_identifiers where identifier_value = ?",
        [MIDNIGHT_DEVICE],
    ).fetchone()
    midnight = snapshot[snapshot["person_id"] == midnight_person].iloc[0]
    assert (midnight["sessions"], midnight["page_views_90d"]) == (1, 1)
    assert midnight["time_on_site_seconds_90d"] == 0
    assert snapshot["is_buyer"].sum() > 100
    now = con.execute(
        "select * from marts.customer_features where as_of_date = ? order by person_id", [AS_OF]
    ).df()
    assert len(now) > len(snapshot)
    assert now["orders_90d"].sum() != snapshot["orders_90d"].sum()


def test_rfm_mart_equals_the_feature_snapshot_of_its_date(built):
    """customer_rfm applies the RFM rules to the run's date alone, int_features__rfm to every
    snapshot date: the snapshot's rows for AS_OF are the mart, every column, scores and
    segments included; the EARLY rows differ (fewer orders before then)."""
    con = built
    columns = ", ".join(row[0] for row in con.execute("describe marts.customer_rfm").fetchall())
    snapshot = "select {} from intermediate.int_features__rfm where as_of_date = ?"
    mart = con.execute(f"select {columns} from marts.customer_rfm order by person_id").df()
    assert mart["frequency"].gt(0).sum() > 100 and mart["rfm_segment"].nunique() > 3
    for as_of, equal in ((AS_OF, True), (EARLY, False)):
        rows = con.execute(snapshot.format(columns) + " order by person_id", [as_of]).df()
        rows["as_of_date"] = mart["as_of_date"]  # the date column itself differs for EARLY
        assert rows.equals(mart) is equal
