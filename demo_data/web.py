"""Web and app clickstream (Segment-like JSON lines): sessions, the funnel, bots and bad clocks.

Every tracked order has a session that ends in its Order Completed event (page, Product Viewed
for each item, Added to Cart, Checkout Started, Order Completed); browsing sessions view and
sometimes add to the cart without buying. A session that logs in sends an identify event and
every later event carries the user id next to the device's anonymous id: that pair is what
stitches devices to people. Bots, retried sends, late arrivals and devices with a wrong clock
are planted and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from demo_data import dirt, formats, identity
from demo_data.catalog import CATEGORIES, Catalog
from demo_data.formats import DAY_MS, DAY_S
from demo_data.identity import People
from demo_data.shop import Orders, order_id
from demo_data.timeline import ONLINE_HOURS, Timeline, seconds_of_day
from demo_data.writers import SLICE_ROWS, LineFile
from extract_load.sources import SOURCES_BY_TABLE

EVENTS = SOURCES_BY_TABLE["web__events"]
TRACKED_ORDERS = 0.35  # the rest were placed with tracking blocked or declined
UTM_SHARE = 0.35  # sessions that arrive from a campaign link
CHECKOUT_WITHOUT_ORDER = 0.35  # browsing sessions with a cart that start the checkout
BOT_EVENTS = (400, 2500)  # per bot, within a few hours

# Event kinds inside a session, in the order they happen.
LANDING, IDENTIFY, PAGE, VIEW, CART, CHECKOUT, ORDER = range(7)
TYPES = ('"page"', '"identify"', '"page"', '"track"', '"track"', '"track"', '"track"')
NAMES = (
    "null",
    "null",
    "null",
    '"Product Viewed"',
    '"Added to Cart"',
    '"Checkout Started"',
    '"Order Completed"',
)
MEAN_GAP_S = np.array([0.0, 4.0, 45.0, 40.0, 15.0, 60.0, 90.0])
PATHS = ("/", "/sale", "/account", *(f"/c/{c}" for c in CATEGORIES))
CAMPAIGNS = (
    ("google", "cpc", "brand"),
    ("google", "cpc", "shopping"),
    ("newsletter", "email", "weekly"),
    ("facebook", "paid_social", "retargeting"),
    ("instagram", "social", "spring_drop"),
    ("partner", "affiliate", "cashback"),
)


@dataclass
class Clickstream:
    """The chunk's events as numbers, sorted as written (by received_at)."""

    time_ms: np.ndarray  # true time
    device: np.ndarray  # index into the chunk's devices (bots after the people's)
    kind: np.ndarray
    user: np.ndarray  # person (chunk index) whose user id the event carries, -1 for none
    product: np.ndarray  # -1 for none
    quantity: np.ndarray
    value_cents: np.ndarray
    order_number: np.ndarray  # -1 for none
    path: np.ndarray  # -1 for none
    campaign: np.ndarray  # -1 for none
    timestamp_ms: np.ndarray  # device clock
    sent_ms: np.ndarray  # device clock
    received_ms: np.ndarray  # server clock
    message: np.ndarray  # byte matrix '"m-<24 hex>"'
    null_message: np.ndarray
    bad_timestamp: np.ndarray
    truncated: np.ndarray  # a torn copy of the line is written after it

    def __len__(self) -> int:
        return len(self.time_ms)


@dataclass
class Devices:
    """People's devices followed by the chunk's bots."""

    kind: np.ndarray
    agent: np.ndarray
    skew_ms: np.ndarray
    anonymous_id: np.ndarray  # byte matrix
    n_people_devices: int


def make_clickstream(
    rng: np.random.Generator,
    people: People,
    orders: Orders,
    catalog: Catalog,
    timeline: Timeline,
    n_bots: int,
    ledger: dirt.DirtLedger,
    first_chunk: bool,
) -> tuple[Clickstream, Devices]:
    """Sessions of every person in the chunk, plus bots, with the web dirt planted."""
    end_ms = timeline.end_s * 1000
    sessions = _sessions(rng, people, orders, timeline)
    events = _session_events(rng, people, orders, catalog, sessions, end_ms)
    bots, devices = _bots(rng, people, catalog, timeline, n_bots)
    columns = {k: np.concatenate([events[k], bots[k]]) for k in events}
    human = np.arange(len(columns["time_ms"])) < len(events["time_ms"])
    return _deliver(rng, columns, human, devices, end_ms, ledger, first_chunk), devices


def _sessions(
    rng: np.random.Generator, people: People, orders: Orders, timeline: Timeline
) -> dict[str, np.ndarray]:
    """One session per tracked order, plus browsing sessions at the persona's rate."""
    tracked = np.flatnonzero(rng.random(len(orders)) < TRACKED_ORDERS)
    rate = people.p("sessions") * people.intensity
    mass = timeline.mass(people.persona, people.active_from, people.active_to)
    browse_owner = np.repeat(np.arange(len(people)), rng.poisson(rate * mass / 365.0))
    n_browse = len(browse_owner)
    day = timeline.sample_days(
        rng,
        people.persona[browse_owner],
        people.active_from[browse_owner],
        people.active_to[browse_owner],
    )
    start_s = timeline.day_start_s(day) + seconds_of_day(rng, n_browse, ONLINE_HOURS)
    browse_device = people.device_first[browse_owner] + (
        rng.random(n_browse) * people.device_count[browse_owner]
    ).astype(np.int64)
    owner = np.concatenate([orders.owner[tracked], browse_owner])
    total = len(owner)
    return {
        "owner": owner,
        "order": np.concatenate([tracked, np.full(n_browse, -1)]),
        "device": np.concatenate([orders.device[tracked], browse_device]),
        "logged_in": np.concatenate(
            [~orders.guest[tracked], rng.random(n_browse) < people.p("login_rate")[browse_owner]]
        ),
        "start_ms": np.concatenate(
            [np.zeros(len(tracked), np.int64), start_s * 1000 + rng.integers(0, 1000, n_browse)]
        ),
        "campaign": np.where(
            rng.random(total) < UTM_SHARE, rng.integers(0, len(CAMPAIGNS), total), -1
        ),
    }


def _session_events(
    rng: np.random.Generator,
    people: People,
    orders: Orders,
    catalog: Catalog,
    sessions: dict[str, np.ndarray],
    end_ms: int,
) -> dict[str, np.ndarray]:
    """Expand sessions into events: counts per kind, then one row per event, all vectorised."""
    owner, order = sessions["owner"], sessions["order"]
    n = len(owner)
    buys = order >= 0
    safe_order = np.maximum(order, 0)
    n_items = np.where(buys, orders.item_count[safe_order], 0)
    viewed = rng.poisson(people.p("views")[owner] * np.where(buys, 0.2, 1.0))
    views = n_items + viewed
    carts = np.where(buys, n_items, rng.binomial(viewed, people.p("cart_rate")[owner]))
    checkout = buys | ((carts > 0) & (rng.random(n) < CHECKOUT_WITHOUT_ORDER))
    identify = sessions["logged_in"].astype(np.int64)
    extra_pages = rng.poisson(0.5, n)
    # Thresholds on the rank of an event inside its session: kind = thresholds passed.
    a2 = 1 + identify
    a3 = a2 + extra_pages
    a4 = a3 + views
    a5 = a4 + carts
    a6 = a5 + checkout
    count = a6 + buys
    session = np.repeat(np.arange(n), count)
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    rank = np.arange(len(session)) - first[session]
    kind = (
        (rank >= 1).astype(np.int8)
        + (rank >= a2[session])
        + (rank >= a3[session])
        + (rank >= a4[session])
        + (rank >= a5[session])
        + (rank >= a6[session])
    )
    gap = rng.exponential(1.0, len(session)) * MEAN_GAP_S[kind] * 1000
    offset = np.cumsum(gap.astype(np.int64))
    offset -= offset[first][session]
    last = first + count - 1
    order_ms = orders.time_s[safe_order] * 1000 + rng.integers(0, 1000, n)
    start = np.where(buys, order_ms - offset[last], sessions["start_ms"])
    time_ms = start[session] + offset

    # Products: a buying session views and carts its order's items first.
    e_owner = owner[session]
    e_order = safe_order[session]
    e_buys = buys[session]
    view_rank = rank - a3[session]
    is_view = kind == VIEW
    is_cart = kind == CART
    from_order = (is_view | is_cart) & e_buys
    item_rank = np.where(is_cart, rank - a4[session], view_rank)
    item = np.where(from_order, orders.item_start[e_order] + np.maximum(item_rank, 0), 0)
    from_order &= item_rank < orders.item_count[e_order]
    favourite = people.favourites[e_owner, rng.integers(0, 2, len(session))]
    product = np.where(
        from_order,
        orders.item_product[np.minimum(item, len(orders.item_product) - 1)],
        catalog.draw(rng, favourite, people.p("price_tilt")[e_owner]),
    )
    cart_rows = np.flatnonzero(is_cart & ~e_buys)
    product[cart_rows] = product[cart_rows - views[session[cart_rows]]]  # the same view's product
    product = np.where(is_view | is_cart, product, -1)
    quantity = np.where(from_order, orders.item_qty[np.minimum(item, len(orders.item_qty) - 1)], 1)
    cart_value = np.bincount(
        session,
        weights=np.where(is_cart, catalog.price_cents[np.maximum(product, 0)] * quantity, 0),
        minlength=n,
    ).astype(np.int64)
    value = np.where(buys, orders.amount_cents[safe_order], cart_value)[session]
    value = np.where((kind == CHECKOUT) | (kind == ORDER), value, 0)
    path = np.where(
        kind == LANDING,
        rng.choice(len(PATHS), size=len(session)),
        np.where(kind == PAGE, 3 + favourite, -1),
    )
    events = {
        "time_ms": time_ms,
        "device": sessions["device"][session],
        "kind": kind.astype(np.int64),
        "user": np.where(sessions["logged_in"][session] & (kind >= IDENTIFY), e_owner, -1),
        "product": product,
        "quantity": quantity,
        "value_cents": value,
        "order_number": np.where(kind == ORDER, orders.number[e_order], -1),
        "path": path,
        "campaign": np.where(rank == 0, sessions["campaign"][session], -1),
    }
    keep = time_ms < end_ms  # browsing sessions started late on the last day are cut off
    return {k: v[keep] for k, v in events.items()}


def _bots(
    rng: np.random.Generator,
    people: People,
    catalog: Catalog,
    timeline: Timeline,
    n_bots: int,
) -> tuple[dict[str, np.ndarray], Devices]:
    """Crawlers: one anonymous id each, a bot user agent, thousands of hits in a few hours."""
    n_people_devices = len(people.device_kind)
    count = rng.integers(*BOT_EVENTS, n_bots)
    bot = np.repeat(np.arange(n_bots), count)
    first = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    start_ms = (
        timeline.start_s + rng.integers(0, max(timeline.history_days - 3, 1) * DAY_S, n_bots)
    ) * 1000
    step = rng.integers(800, 6000, len(bot))
    offset = np.cumsum(step)
    offset -= offset[first][bot]
    is_view = rng.random(len(bot)) < 0.5
    n_agents = len(identity.USER_AGENTS[identity.BOT])
    devices = Devices(
        kind=np.concatenate([people.device_kind, np.full(n_bots, identity.BOT)]),
        agent=np.concatenate([people.device_agent, rng.integers(0, n_agents, n_bots)]),
        skew_ms=np.concatenate([people.device_skew_ms, np.zeros(n_bots, np.int64)]),
        anonymous_id=np.concatenate([people.anonymous_id, formats.hex_ids(rng, "a-", n_bots, 8)]),
        n_people_devices=n_people_devices,
    )
    none = np.full(len(bot), -1)
    events = {
        "time_ms": start_ms[bot] + offset,
        "device": n_people_devices + bot,
        "kind": np.where(is_view, VIEW, PAGE),
        "user": none,
        "product": np.where(is_view, rng.integers(0, len(catalog.price_cents), len(bot)), -1),
        "quantity": np.ones(len(bot), np.int64),
        "value_cents": np.zeros(len(bot), np.int64),
        "order_number": none,
        "path": np.where(is_view, -1, rng.integers(0, len(PATHS), len(bot))),
        "campaign": none,
    }
    return events, devices


def _deliver(
    rng: np.random.Generator,
    events: dict[str, np.ndarray],
    human: np.ndarray,
    devices: Devices,
    end_ms: int,
    ledger: dirt.DirtLedger,
    first_chunk: bool,
) -> Clickstream:
    """Device clocks, network delays, late arrivals, retries and broken records."""
    name = EVENTS.table
    at_least = int(first_chunk)
    n = len(events["time_ms"])
    time_ms = events["time_ms"]
    device = events["device"]
    skew = devices.skew_ms[device]
    app = np.isin(devices.kind[device], identity.APP_KINDS)
    send_delay = rng.integers(0, 2000, n) + np.where(app, rng.integers(0, 30_000, n), 0)
    timestamp = time_ms + skew
    sent = timestamp + send_delay
    received = np.minimum(time_ms + send_delay + rng.integers(50, 1500, n), end_ms - 1)
    sent = np.where(skew == 0, np.minimum(sent, end_ms - 1), sent)

    late = dirt.choose(
        rng,
        human & (skew == 0) & (time_ms < end_ms - 6 * DAY_MS),
        dirt.planted(rng, n, dirt.RATES["late_events"]),
    )
    received = received + np.where(late, rng.integers(DAY_MS, 5 * DAY_MS, n), 0)
    message = formats.hex_ids(rng, '"m-', n, 12)
    message = np.concatenate([message, np.full((n, 1), ord('"'), np.uint8)], axis=1)

    # Retries: the same record (same message_id) delivered again a little later.
    retried = dirt.choose(rng, human, dirt.planted(rng, n, dirt.RATES["retried_events"]))
    copies = 1 + retried
    take = np.repeat(np.arange(n), copies)
    is_copy = np.zeros(len(take), dtype=bool)
    is_copy[np.cumsum(copies)[retried] - 1] = True
    out = {k: v[take] for k, v in events.items()}
    received = received[take] + np.where(is_copy, rng.integers(1000, 600_000, len(take)), 0)
    received = np.where(is_copy, np.minimum(received, end_ms - 1), received)
    order = np.argsort(received, kind="stable")
    out = {k: v[order] for k, v in out.items()}
    take, is_copy, received = take[order], is_copy[order], received[order]

    # Broken records, on events that were sent once.
    once = (human & ~retried)[take]
    null_message = dirt.choose(
        rng, once, dirt.planted(rng, len(take), dirt.RATES["bad_required_value"], at_least)
    )
    once &= ~null_message
    bad_timestamp = dirt.choose(
        rng, once, dirt.planted(rng, len(take), dirt.RATES["bad_required_value"], at_least)
    )
    once &= ~bad_timestamp
    truncated = dirt.choose(
        rng, once, dirt.planted(rng, len(take), dirt.RATES["malformed_lines"], at_least)
    )
    is_human = human[take]
    ledger.add(name, "retried_events", int(is_copy.sum()))
    ledger.add(name, "late_events", int(late[take].sum()))
    ledger.add(name, "clock_skew", int((skew[take] != 0).sum()))
    ledger.add(name, "bot_events", int((~is_human).sum()))
    ledger.add(name, "bot_anonymous_ids", len(devices.kind) - devices.n_people_devices)
    ledger.add(name, "null_message_id", int(null_message.sum()), quarantine=True)
    ledger.add(name, "bad_timestamp", int(bad_timestamp.sum()), quarantine=True)
    ledger.add(name, "truncated_json", int(truncated.sum()), quarantine=True)
    return Clickstream(
        **out,
        timestamp_ms=timestamp[take],
        sent_ms=sent[take],
        received_ms=received,
        message=message[take],
        null_message=null_message,
        bad_timestamp=bad_timestamp,
        truncated=truncated,
    )


def write_clickstream(
    path: Path,
    rng: np.random.Generator,
    clicks: Clickstream,
    devices: Devices,
    people: People,
    catalog: Catalog,
) -> int:
    """Write the chunk's events as JSON lines, slice by slice; returns the lines written."""
    quoted_users = formats.join('"', people.customer_id, '"')
    anonymous = formats.from_matrix(
        formats.concat_matrix('"', devices.anonymous_id, '"', rows=len(devices.kind))
    )
    agents = [a for kind in identity.USER_AGENTS for a in kind]
    agent_base = np.cumsum([0, *(len(k) for k in identity.USER_AGENTS)])[:-1]
    device_context = formats.join(
        '{"userAgent":"',
        formats.pick(agents, agent_base[devices.kind] + devices.agent),
        '","device":{"type":"',
        formats.pick(identity.DEVICE_TYPES, devices.kind),
        '"}',
    )
    product_props = formats.join(
        '{"product_id":"',
        catalog.product_id,
        '","category":"',
        formats.pick(CATEGORIES, catalog.category),
        '","price":',
        formats.money(catalog.price_cents),
    )
    path_props = [f'{{"path":"{p}"}}' for p in PATHS]
    campaigns = [
        f',"campaign":{{"source":"{s}","medium":"{m}","name":"{c}"}}' for s, m, c in CAMPAIGNS
    ]
    out = LineFile(path)
    try:
        for start in range(0, len(clicks), SLICE_ROWS):
            rows = slice(start, start + SLICE_ROWS)
            lines = _lines(
                clicks,
                rows,
                quoted_users,
                anonymous,
                device_context,
                product_props,
                path_props,
                campaigns,
            )
            extra = {
                int(start + r): [dirt.break_json_line(rng, lines[int(r)].as_py())]
                for r in np.flatnonzero(clicks.truncated[rows])
            }
            out.write_lines(lines, extra, offset=start)
    finally:
        out.close()
    return out.lines


def _lines(
    clicks: Clickstream,
    rows: slice,
    quoted_users: pa.Array,
    anonymous: pa.Array,
    device_context: pa.Array,
    product_props: pa.Array,
    path_props: list[str],
    campaigns: list[str],
) -> pa.Array:
    kind = clicks.kind[rows]
    n = len(kind)
    user = clicks.user[rows]
    device = pa.array(clicks.device[rows])
    message = formats.replace_where(
        formats.from_matrix(clicks.message[rows]), clicks.null_message[rows], "null"
    )
    timestamp = formats.replace_where(
        formats.ts_iso_ms(clicks.timestamp_ms[rows], quoted=True),
        clicks.bad_timestamp[rows],
        '"not a date"',
    )
    user_id = quoted_users.take(pa.array(np.maximum(user, 0), mask=user < 0)).fill_null("null")
    campaign = clicks.campaign[rows]
    utm = formats.pick(campaigns, np.maximum(campaign, 0))
    utm = formats.null_where(utm, campaign < 0)
    return formats.join(
        '{"message_id":',
        message,
        ',"anonymous_id":',
        anonymous.take(device),
        ',"user_id":',
        user_id,
        ',"type":',
        formats.pick(TYPES, kind),
        ',"event":',
        formats.pick(NAMES, kind),
        ',"properties":',
        _properties(clicks, rows, kind, n, product_props, path_props),
        ',"context":',
        device_context.take(device),
        utm,
        '},"timestamp":',
        timestamp,
        ',"sent_at":',
        formats.ts_iso_ms(clicks.sent_ms[rows], quoted=True),
        ',"received_at":',
        formats.ts_iso_ms(clicks.received_ms[rows], quoted=True),
        "}\n",
    )


def _properties(
    clicks: Clickstream,
    rows: slice,
    kind: np.ndarray,
    n: int,
    product_props: pa.Array,
    path_props: list[str],
) -> pa.Array:
    """Each event kind's properties object, built per kind and put back in row order."""
    groups: list[tuple[np.ndarray, pa.Array]] = []
    page = np.flatnonzero((kind == LANDING) | (kind == PAGE))
    groups.append((page, formats.pick(path_props, clicks.path[rows][page])))
    identify = np.flatnonzero(kind == IDENTIFY)
    groups.append((identify, formats.pick(("{}",), np.zeros(len(identify), np.int64))))
    item = np.flatnonzero((kind == VIEW) | (kind == CART))
    quantity = formats.null_where(
        formats.join(',"quantity":', formats.integers(clicks.quantity[rows][item])),
        kind[item] != CART,
    )
    groups.append(
        (
            item,
            formats.join(product_props.take(pa.array(clicks.product[rows][item])), quantity, "}"),
        )
    )
    value = clicks.value_cents[rows]
    checkout = np.flatnonzero(kind == CHECKOUT)
    groups.append(
        (
            checkout,
            formats.join('{"value":', formats.money(value[checkout]), ',"currency":"EUR"}'),
        )
    )
    purchase = np.flatnonzero(kind == ORDER)
    groups.append(
        (
            purchase,
            formats.join(
                '{"order_id":"',
                order_id(clicks.order_number[rows][purchase]),
                '","revenue":',
                formats.money(value[purchase]),
                ',"currency":"EUR"}',
            ),
        )
    )
    position = np.concatenate([g[0] for g in groups])
    assert len(position) == n
    values = pa.concat_arrays([pc.cast(g[1], pa.string()) for g in groups])
    return values.take(pa.array(np.argsort(position, kind="stable")))
