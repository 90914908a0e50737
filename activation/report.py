"""The segment report: one self-contained HTML page that says what the segments are.

A marketer opening it sees how big each segment is, what sets it apart, where it sits on the
RFM grid and on a map of the clusters, how well the propensity model ranks people, who moved
between segments since the last run, whether the model's inputs drifted, and whether the
quality gates passed. It is one file with its CSS and its charts (SVG drawn here) inside and
no JavaScript, so it can be mailed, attached to a ticket or served from any static host, and
it renders the same offline years later.

Every figure is aggregated in DuckDB, so the page costs the same at a million customers as
at a thousand, except the cluster map, which projects a fixed-size sample. The warehouse is
opened read-only, so the report never changes it; a DuckDB reader still keeps writers out
while it reads (a few seconds), so in Airflow it runs in the one-slot `warehouse` pool like
every other task. A table that is not there yet (a warehouse before its first segmentation,
an older layout) leaves its section saying so; the rest of the page is built as usual.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np

from activation import svg

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

MAP_SAMPLE = 3_000  # people on the cluster map: enough to see the shapes, cheap to draw
PROFILE_FEATURES = 5  # distinguishing features listed per segment
PROPENSITY_KIND = "propensity"  # ml.propensity.KIND
SEGMENTATION_KIND = "segmentation"  # ml.segment_customers.KIND
LAYER_ORDER = ["raw", "staging", "marts", "outputs", "activation"]
PROPENSITY_TARGETS = {  # the keys ml.propensity.train records each model's metrics under
    "purchase_30d": "Purchase in the next 30 days",
    "churn_365d": "Churn within a year",
}
TESTS = {"kruskal": "Kruskal-Wallis", "chi2": "chi-squared"}  # ml.profiles' test names
NONE = "\u2013"  # an en dash: what a table shows where there is no value


class Markup(str):
    """Text that is already HTML (escaped where it needed to be): `_cell` leaves it alone."""


class MissingTable(LookupError):
    """A section needs a table the warehouse does not have yet."""

    def __init__(self, table: str):
        super().__init__(table)
        self.table = table


@dataclass(frozen=True)
class Context:
    """What every section reads: the connection, which tables exist, and the published
    segments' date, version and names (so every chart colours and names them alike)."""

    con: duckdb.DuckDBPyConnection
    tables: frozenset[str]
    models_dir: Path
    drift_threshold: float
    as_of_date: date | None
    model_version: str | None
    names: dict[int, str]

    def need(self, *tables: str) -> None:
        for table in tables:
            if table not in self.tables:
                raise MissingTable(table)


def build_report(warehouse_path: Path, report_path: Path, models_dir: Path | None = None) -> Path:
    """Write the report for the warehouse's published segments to `report_path` and return it.

    The page is written to a temporary file beside the target and renamed over it, so a
    browser or a web server reading the old page never sees half of the new one. Nothing is
    written to the warehouse. `models_dir` holds the saved segmentation model the cluster map
    projects with (the settings' by default)."""
    from pipeline import settings as config

    started = time.perf_counter()
    warehouse_path, report_path = Path(warehouse_path), Path(report_path)
    if not warehouse_path.is_file():
        raise FileNotFoundError(f"no warehouse at {warehouse_path}: run the pipeline first")
    settings = config.load()
    models_dir = models_dir if models_dir is not None else settings.models_dir
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        tables = frozenset(
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        )
        as_of_date, model_version, names = _published(con, tables)
        context = Context(
            con,
            tables,
            Path(models_dir),
            settings.segments_drift_threshold,
            as_of_date,
            model_version,
            names,
        )
        sections = [_section(context, *section) for section in SECTIONS]
    page = _page(context, warehouse_path, sections)

    report_path.parent.mkdir(parents=True, exist_ok=True)
    partial = report_path.with_name(f".{report_path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(page, encoding="utf-8")
        os.replace(partial, report_path)
    finally:
        partial.unlink(missing_ok=True)
    log.info("report written to %s in %.2f s", report_path, time.perf_counter() - started)
    return report_path


def _published(
    con: duckdb.DuckDBPyConnection, tables: frozenset[str]
) -> tuple[date | None, str | None, dict[int, str]]:
    """The published segments' as-of date, model version and id -> name."""
    if "segments.customer_segments" not in tables:
        return None, None, {}
    as_of_date, model_version = con.execute(
        "select max(as_of_date), max(model_version) from segments.customer_segments"
    ).fetchone()
    names = dict(
        con.execute(
            "select segment_id, min(segment_name) from segments.customer_segments group by all"
        ).fetchall()
    )
    return as_of_date, model_version, {int(k): str(v) for k, v in names.items()}


def _section(context: Context, section_id: str, _link: str, title: str, render: Callable) -> str:
    """One `<section>`; a missing table or a failed query becomes a message in it, so one
    section's trouble never costs the reader the rest of the page."""
    try:
        body = render(context)
    except MissingTable as missing:
        body = _note(f"not available yet: {missing.table} missing", "missing")
    except duckdb.Error as error:
        log.warning("report section %s: %s", section_id, error)
        body = _note(f"could not be built from this warehouse: {error}", "missing")
    return f'<section id="{escape(section_id)}"><h2>{escape(title)}</h2>\n{body}\n</section>'


# --- small HTML helpers ------------------------------------------------------------------


def _note(text: str, kind: str = "note") -> str:
    return f'<p class="{escape(kind)}">{escape(text)}</p>'


def _cell(value: object) -> str:
    return value if isinstance(value, Markup) else escape(str(value))


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    numeric: Iterable[int] = (),
    row_data: Sequence[dict[str, object]] | None = None,
) -> str:
    """An HTML table; columns listed in `numeric` are right-aligned, row_data become data-*."""
    numeric = set(numeric)
    head = "".join(
        f"<th{' class=num' if i in numeric else ''}>{escape(h)}</th>" for i, h in enumerate(headers)
    )
    body = []
    for r, row in enumerate(rows):
        data = row_data[r] if row_data else {}
        attributes = "".join(f' data-{escape(k)}="{escape(str(v))}"' for k, v in data.items())
        cells = "".join(
            f"<td{' class=num' if i in numeric else ''}>{_cell(v)}</td>" for i, v in enumerate(row)
        )
        body.append(f"<tr{attributes}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _swatch(segment_id: int, name: str) -> Markup:
    return Markup(
        f'<span class="swatch" style="background:{svg.segment_colour(segment_id)}"></span>'
        f"{escape(name)}"
    )


def _lines(main: str, detail: str) -> Markup:
    """A table cell's value with a smaller line of detail under it."""
    return Markup(f"{escape(main)}<small>{escape(detail)}</small>")


def _figures(pairs: Sequence[tuple[str, str]]) -> str:
    """A row of headline numbers: (label, value)."""
    items = "".join(
        f'<div class="figure"><b>{escape(value)}</b><span>{escape(label)}</span></div>'
        for label, value in pairs
    )
    return f'<div class="figures">{items}</div>'


def _number(value: float | None) -> str:
    """A figure as a person reads it: thousands separated, three significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NONE
    value = float(value)
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if value == int(value):
        return f"{int(value)}"
    return f"{value:.3g}"


def _count(value: int) -> str:
    return f"{int(value):,}"


def _share(value: float) -> str:
    return f"{100 * value:.1f}%"


def _p_value(value: float | None) -> str:
    if value is None or math.isnan(value):
        return NONE
    if value == 0:
        return "< 1e-300"
    return f"{value:.2g}" if value >= 0.001 else f"{value:.1e}"


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    """Rows as dicts by column name: for queries with more columns than a tuple reads well."""
    cursor = con.execute(sql, params or [])
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _name(context: Context, segment_id: int) -> str:
    return context.names.get(segment_id, f"segment {segment_id}")


# --- sections ----------------------------------------------------------------------------


def _sizes(context: Context) -> str:
    """How many people each segment holds, and its share of everyone."""
    context.need("segments.customer_segments")
    rows = context.con.execute(
        """
        select segment_id, segment_name, count(*) as people
        from segments.customer_segments
        group by segment_id, segment_name
        order by segment_id = 0, segment_id, segment_name
        """
    ).fetchall()
    if not rows:
        return _note("segments.customer_segments is empty: nothing published yet.")
    total = sum(people for _, _, people in rows)
    bars = [
        svg.Bar(
            f"{segment_id}  {name}",
            people,
            svg.segment_colour(segment_id),
            f"{_count(people)} · {_share(people / total)}",
            {"segment-id": segment_id, "segment-name": name, "people": people},
        )
        for segment_id, name, people in rows
    ]
    chart = svg.horizontal_bars(bars, "people per segment", width=900)
    return (
        f"<p>{_count(total)} people in {len(rows)} segments. Segments are numbered by size; "
        "segment 0 holds the people the warehouse cannot name (no CRM record, no purchase), "
        "who are not clustered.</p>"
        f'<figure data-total="{total}">{chart}</figure>'
    )


def _profiles(context: Context) -> str:
    """Per segment, the features where it differs most from everyone (profile rank)."""
    context.need("segments.segment_profiles")
    segments = context.con.execute(
        """
        select segment_id, min(segment_name), max(segment_size), max(segment_share)
        from segments.segment_profiles group by segment_id order by segment_id
        """
    ).fetchall()
    rows = _records(
        context.con,
        f"""
        select segment_id, feature, kind, mean, median, overall_mean, overall_median,
               top_value, top_share, overall_top_share, effect_size, test, p_value
        from segments.segment_profiles
        where distinguishing
        qualify row_number() over (partition by segment_id order by rank) <= {PROFILE_FEATURES}
        order by segment_id, rank
        """,
    )
    if not segments:
        return _note("segments.segment_profiles is empty.")
    by_segment: dict[int, list[list[object]]] = {}
    for row in rows:
        if row["kind"] == "categorical":
            this = _lines(str(row["top_value"]), f"{_share(row['top_share'])} of the segment")
            everyone = _lines(_share(row["overall_top_share"]), "of everyone")
            effect = f"V = {_number(row['effect_size'])}"
        else:
            this = _lines(_number(row["mean"]), f"median {_number(row['median'])}")
            everyone = _lines(
                _number(row["overall_mean"]), f"median {_number(row['overall_median'])}"
            )
            effect = f"d = {_number(row['effect_size'])}"
        test = TESTS.get(row["test"], row["test"] or NONE)
        by_segment.setdefault(row["segment_id"], []).append(
            [row["feature"], this, everyone, effect, _lines(_p_value(row["p_value"]), test)]
        )
    cards = []
    for segment_id, name, size, share in segments:
        name = context.names.get(segment_id, name)
        found = by_segment.get(segment_id)
        body = (
            _table(
                ["feature", "this segment", "everyone", "effect", "p-value"],
                found,
                numeric=[1, 2, 3, 4],
            )
            if found
            else _note("Nothing sets it clearly apart from everyone else.")
        )
        cards.append(
            f'<div class="card" data-segment-id="{segment_id}"><h3>{_swatch(segment_id, name)}'
            f" <small>{_count(size)} people · {_share(share)}</small></h3>{body}</div>"
        )
    return (
        "<p>For each segment, the features where it differs most from everyone else "
        f"(up to {PROFILE_FEATURES}, strongest first). Numbers compare means and medians, "
        "with Cohen's d as the effect size; categories compare the share of the segment's "
        "most common value with its share among everyone, with Cramér's V. P-values come "
        "from tests on a bounded sample, so they say a difference is not chance; the effect "
        "size says how large it is.</p>" + f'<div class="cards">{"".join(cards)}</div>'
    )


def _rfm(context: Context) -> str:
    """The 5 by 5 recency and frequency grid of buyers: people and mean spend per cell."""
    context.need("marts.customer_rfm")
    rows = context.con.execute(
        """
        select r_score, f_score, count(*) as people, avg(monetary)::double as mean_monetary
        from marts.customer_rfm
        where frequency > 0 and r_score is not null and f_score is not null
        group by all
        """
    ).fetchall()
    [(everyone, unscored)] = context.con.execute(
        """
        select count(*),
               count(*) filter (where not (frequency > 0 and r_score is not null
                                           and f_score is not null) or frequency is null)
        from marts.customer_rfm
        """
    ).fetchall()
    cells = {(int(r), int(f)): (int(people), mean) for r, f, people, mean in rows}
    recency, frequency = [5, 4, 3, 2, 1], [1, 2, 3, 4, 5]

    def cell(r: int, f: int) -> svg.Cell:
        people, mean = cells.get((r, f), (0, None))
        lines = [_count(people), f"avg {_number(mean)}"] if people else ["0"]
        return svg.Cell(people, lines, {"r": r, "f": f, "people": people})

    grid = [[cell(r, f) for f in frequency] for r in recency]
    scored = sum(people for people, _ in cells.values())
    chart = svg.heatmap(
        [f"R {r}" for r in recency],
        [f"F {f}" for f in frequency],
        grid,
        "RFM grid: people per recency and frequency score",
        row_title="recency score (5 = most recent)",
        column_title="frequency score (5 = most orders)",
    )
    return (
        f"<p>{_count(scored)} buyers by recency score (rows) and frequency score (columns), "
        "quintiles among buyers; each cell shows the people in it (darker = more) and their "
        f"mean spend to date. {_count(unscored)} of {_count(everyone)} people have no "
        "completed order and no score of their own (the mart gives them 1s), so they are "
        "left out.</p>"
        f'<figure data-scored="{scored}" data-unscored="{unscored}">{chart}</figure>'
    )


def _cluster_map(context: Context) -> str:
    """A deterministic sample of the clustered people, projected to two dimensions."""
    context.need("segments.customer_segments", "marts.customer_features")
    from ml.features import numeric_columns

    sample = context.con.execute(
        f"""
        with picked as (
            select person_id, segment_id
            from segments.customer_segments
            where segment_id <> 0
            order by hash(person_id), person_id
            limit {MAP_SAMPLE}
        )
        select features.*, picked.segment_id as _segment_id
        from picked
        join marts.customer_features as features
            on features.person_id = picked.person_id and features.as_of_date = ?
        order by features.person_id
        """,
        [context.as_of_date],
    ).df()
    [(clustered,)] = context.con.execute(
        "select count(*) from segments.customer_segments where segment_id <> 0"
    ).fetchall()
    if len(sample) < 3:
        return _note(
            f"Too few clustered people with features as of {context.as_of_date} to draw a map."
        )
    groups = sample.pop("_segment_id").to_numpy(int)
    for column in numeric_columns(sample):
        sample[column] = sample[column].astype("float64")
    matrix, why_not = _model_space(context, sample)
    if matrix is not None:
        how = (
            f"Each person is placed by the model {context.model_version}'s own view of them "
            "(its traits, logged and scaled: every step before the clusterer), projected to "
            "two dimensions by PCA, so people close together here look alike to the model."
        )
    else:
        matrix = _standardised(sample)
        how = (
            f"The model could not be used ({why_not}), so this map is a PCA of the "
            f"{matrix.shape[1]} numeric features, standardised, instead of the space the "
            "model clusters in: segments may overlap more here than they do for the model."
        )
    if matrix.shape[1] < 2:
        return _note("Fewer than two features vary among the sampled people: no map to draw.")
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, random_state=0)
    points = pca.fit_transform(matrix)
    explained = pca.explained_variance_ratio_
    legend = {int(g): (_name(context, int(g)), svg.segment_colour(int(g))) for g in set(groups)}
    chart = svg.scatter(
        points[:, 0],
        points[:, 1],
        groups,
        legend,
        "map of the clusters: a sample of people projected to two dimensions",
        width=900,
        height=560,
        axis_titles=(
            f"component 1 ({_share(explained[0])} of the variance)",
            f"component 2 ({_share(explained[1])})",
        ),
    )
    return (
        f"<p>A sample of {_count(len(sample))} of the {_count(clustered)} clustered people "
        f"(segment 0 is not clustered). {escape(how)} The two components keep "
        f"{_share(float(explained.sum()))} of the spread.</p>"
        f'<figure data-sample="{len(sample)}">{chart}</figure>'
    )


def _model_space(context: Context, sample: pd.DataFrame) -> tuple[np.ndarray | None, str]:
    """The sample in the space the published model clusters in (its steps before the
    clusterer), or None and why not."""
    from ml import registry

    path = registry.model_path(context.models_dir, SEGMENTATION_KIND, context.model_version)
    if not path.is_file():
        return None, f"no saved model {path.name} in the models folder"
    try:
        model = registry.load(path).model
        matrix = np.asarray(model.pipeline[:-1].transform(sample), dtype=float)
    except Exception as error:  # any unreadable model leaves the fallback map, not no page
        log.warning("report: cannot project with %s: %s", path, error)
        return None, f"{path.name}: {error}"
    return matrix, ""


def _standardised(sample: pd.DataFrame) -> np.ndarray:
    """The numeric features of the sample that vary, gaps filled with medians, standardised."""
    from ml.features import numeric_columns

    frame = sample[numeric_columns(sample)].astype("float64")
    frame = frame.fillna(frame.median())
    frame = frame.loc[:, frame.std() > 0]
    values = frame.to_numpy()
    return (values - values.mean(axis=0)) / values.std(axis=0)


def _lift(context: Context) -> str:
    """How well the propensity models rank people: lift per decile and summary scores."""
    context.need("segments.model_runs")
    run = context.con.execute(
        """
        select model_version, as_of_date, metrics
        from segments.model_runs where kind = ?
        order by as_of_date desc, trained_at desc limit 1
        """,
        [PROPENSITY_KIND],
    ).fetchone()
    parts = []
    if run is None:
        parts.append(_note("No propensity model run recorded yet."))
    else:
        version, run_date, metrics = run[0], run[1], json.loads(run[2])
        parts.append(
            f"<p>Model <code>{escape(version)}</code>, run as of {escape(str(run_date))}. "
            "Lift is the positive rate among the tenth of people the model ranks highest "
            "(decile 1), second highest and so on, over the base rate: 1 is no better than "
            "chance. Scores are cross-validated on the training snapshot.</p>"
        )
        charts = []
        for key, title in PROPENSITY_TARGETS.items():
            scores = metrics.get(key)
            if not scores:
                continue
            bars = [
                svg.Bar(str(i), value, svg.ACCENT, f"{value:.2f}", {"decile": i, "lift": value})
                for i, value in enumerate(scores.get("lift_by_decile", []), start=1)
            ]
            charts.append(
                f'<div class="model" data-model="{escape(key)}"><h3>{escape(title)} <small>'
                + escape(str(scores.get("kept", "")).replace("_", " "))
                + "</small></h3>"
                + _figures(
                    [
                        ("ROC-AUC", _number(scores.get("roc_auc"))),
                        ("PR-AUC", _number(scores.get("pr_auc"))),
                        (
                            "base rate",
                            _share(scores["base_rate"]) if "base_rate" in scores else NONE,
                        ),
                        ("Brier score", _number(scores.get("brier"))),
                    ]
                )
                + svg.columns(
                    bars,
                    f"{title}: lift by decile",
                    reference=1.0,
                    reference_label="lift 1 = chance",
                )
                + "</div>"
            )
        parts.append(f'<div class="models">{"".join(charts)}</div>')
    if "segments.propensity_scores" in context.tables:
        deciles = context.con.execute(
            """
            select decile, count(*), avg(p_purchase_30d)
            from segments.propensity_scores group by decile order by decile
            """
        ).fetchall()
        bars = [
            svg.Bar(str(d), people, "#76b7b2", _count(people), {"decile": d, "people": people})
            for d, people, _ in deciles
        ]
        rows = [[d, _count(people), _share(p or 0.0)] for d, people, p in deciles]
        parts.append(
            "<h3>Today's scores by decile</h3>"
            "<p>People per purchase-propensity decile as scored today (ties share the better "
            "decile), and their mean probability of buying within 30 days.</p>"
            '<div class="models">'
            + svg.columns(bars, "people per propensity decile")
            + _table(["decile", "people", "mean p(purchase 30d)"], rows, numeric=[0, 1, 2])
            + "</div>"
        )
    else:
        parts.append(_note("not available yet: segments.propensity_scores missing", "missing"))
    return "".join(parts)


def _transitions(context: Context) -> str:
    """Who moved from which segment to which since the last published run."""
    if "segments.segment_transitions" in context.tables:
        moves = context.con.execute(
            """
            select segment_from, segment_to, sum(people)::bigint
            from segments.segment_transitions
            where as_of_date is not distinct from
                (select max(as_of_date) from segments.segment_transitions)
            group by all
            """
        ).fetchall()
    elif "segments.membership_history" in context.tables:
        moves = context.con.execute(
            """
            with dates as (
                select distinct as_of_date from segments.membership_history
                order by as_of_date desc limit 2
            ),
            recent as (
                select * from segments.membership_history
                where as_of_date in (select as_of_date from dates)
            )
            select before.segment_name, after.segment_name, count(*)
            from recent as before
            join recent as after
                on after.person_id = before.person_id and after.as_of_date > before.as_of_date
            group by all
            """
        ).fetchall()
    else:
        raise MissingTable("segments.segment_transitions")
    if not moves:
        return _note("First run: nothing to compare.") + _ari(context)

    ids = {name: segment_id for segment_id, name in context.names.items()}
    # Segments in the order of the sizes chart; names no longer published (a retrained
    # model's) after them. Columns are headed by id, rows carry the names.
    names = sorted(
        {m[0] for m in moves} | {m[1] for m in moves},
        key=lambda n: (n not in ids, ids.get(n) == 0, ids.get(n, 0), n),
    )
    people = {(a, b): int(n) for a, b, n in moves}
    largest = max(people.values())
    header = "".join(
        f'<th class=num title="{escape(n)}">{escape(str(ids.get(n, n)))}</th>' for n in names
    )
    body = []
    for a in names:
        total = sum(people.get((a, b), 0) for b in names)
        cells = []
        for b in names:
            n = people.get((a, b), 0)
            style = f' style="background:rgba(78,121,167,{0.08 + 0.6 * n / largest:.2f})"'
            kind = "stay" if a == b else "move"
            cells.append(
                f'<td class="num {kind}"{style if n else ""} data-people="{n}">{_count(n)}</td>'
            )
        stayed = people.get((a, a), 0) / total if total else 0.0
        label = _swatch(ids[a], f"{ids[a]} {a}") if a in ids else escape(a)
        body.append(
            f'<tr data-from="{escape(a)}"><th class="name">{label}</th>{"".join(cells)}'
            f'<td class="num">{_count(total)}</td><td class="num">{_share(stayed)}</td></tr>'
        )
    total = sum(people.values())
    moved = total - sum(people.get((n, n), 0) for n in names)
    previous = _previous_date(context)
    since = f" since the run as of {previous}" if previous else ""
    return (
        f"<p>{_count(moved)} of {_count(total)} people in both runs ({_share(moved / total)}) "
        f"changed segment{escape(since)}. Rows: segment before; columns: segment now, by "
        "id.</p>"
        + _ari(context)
        + '<div class="scroll"><table class="matrix"><thead><tr><th>from \\ to</th>'
        + header
        + "<th class=num>total</th><th class=num>stayed</th></tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
    )


def _previous_date(context: Context) -> date | None:
    if "segments.membership_history" not in context.tables or context.as_of_date is None:
        return None
    return context.con.execute(
        "select max(as_of_date) from segments.membership_history where as_of_date < ?",
        [context.as_of_date],
    ).fetchone()[0]


def _ari(context: Context) -> str:
    """The adjusted Rand index the segmentation run recorded against the last run."""
    if "segments.model_runs" not in context.tables:
        return ""
    row = context.con.execute(
        """
        select metrics->>'ari_vs_last_run' from segments.model_runs
        where kind = ? order by as_of_date desc, trained_at desc limit 1
        """,
        [SEGMENTATION_KIND],
    ).fetchone()
    if row is None or row[0] is None:
        return ""
    return (
        f'<p class="ari" data-ari="{escape(row[0])}">Adjusted Rand index against the last run: '
        f"<b>{_number(float(row[0]))}</b> (1 = the same grouping, 0 = no more alike than "
        "chance).</p>"
    )


def _drift(context: Context) -> str:
    """Population stability of each model input against the model's training data."""
    context.need("segments.feature_drift")
    rows = context.con.execute(
        """
        select feature, psi, drifted, model_version, as_of_date
        from segments.feature_drift
        where psi is not null
        order by psi desc, feature
        """
    ).fetchall()
    if not rows:
        return _note("No drift data.")
    threshold = context.drift_threshold
    bars = [
        svg.Bar(
            feature,
            psi,
            svg.ALERT if psi > threshold else svg.ACCENT,
            f"{psi:.3f}",
            {"feature": feature, "psi": psi},
        )
        for feature, psi, *_ in rows
    ]
    over = [feature for feature, psi, *_ in rows if psi > threshold]
    verdict = (
        f"{len(over)} of {len(rows)} inputs are above the threshold: {', '.join(over)}; the "
        "daily run flags drift and the models are retrained."
        if over
        else f"All {len(rows)} inputs are below the threshold."
    )
    return (
        f"<p>Population stability index (PSI) of each input of the model "
        f"<code>{escape(str(rows[0][3]))}</code> as of {escape(str(rows[0][4]))} against its "
        f"training data; above {_number(threshold)} the population has shifted. "
        f"{escape(verdict)}</p>"
        + svg.horizontal_bars(
            bars,
            "PSI per model input",
            width=900,
            threshold=threshold,
            threshold_label=f"threshold {_number(threshold)}",
        )
    )


def _quality(context: Context) -> str:
    """The latest result of every quality suite: passed, failed and warned expectations."""
    context.need("quality.expectation_results")
    latest = """
        with latest as (
            select layer, suite, arg_max(run_id, validated_at) as run_id
            from quality.expectation_results group by all
        )
        select results.*
        from quality.expectation_results as results
        join latest
            on results.layer is not distinct from latest.layer
            and results.suite = latest.suite
            and results.run_id = latest.run_id
    """
    suites = context.con.execute(
        f"""
        select layer, suite, max(validated_at),
               count(*) filter (where success),
               count(*) filter (where not success and severity = 'critical'),
               count(*) filter (where not success and severity is distinct from 'critical')
        from ({latest}) group by all
        """
    ).fetchall()
    if not suites:
        return _note("No quality results recorded yet.")
    failures = context.con.execute(
        f"""
        select layer, suite, expectation, column_name, severity, observed_value
        from ({latest}) where not success
        order by severity = 'critical' desc, layer, suite, expectation
        """
    ).fetchall()

    def layer_rank(layer: str | None) -> int:
        return LAYER_ORDER.index(layer) if layer in LAYER_ORDER else len(LAYER_ORDER)

    suites.sort(key=lambda s: (layer_rank(s[0]), s[0] or "", s[1]))
    layers: dict[str, list[int]] = {}
    for layer, _, _, ok, bad, warn in suites:
        totals = layers.setdefault(layer or NONE, [0, 0, 0, 0])
        for i, value in enumerate((1, ok, bad, warn)):
            totals[i] += value

    def flagged(value: int, kind: str) -> Markup:
        return Markup(f'<span class="{kind if value else ""}">{_count(value)}</span>')

    def counts(ok: int, bad: int, warn: int) -> list[object]:
        return [_count(ok), flagged(bad, "bad"), flagged(warn, "warn")]

    per_layer = [
        [layer, _count(n), *counts(ok, bad, warn)] for layer, (n, ok, bad, warn) in layers.items()
    ]
    per_suite = [
        [
            layer or NONE,
            suite,
            f"{when.astimezone(UTC):%Y-%m-%d %H:%M}" if when else NONE,
            *counts(ok, bad, warn),
        ]
        for layer, suite, when, ok, bad, warn in suites
    ]
    parts = [
        _figures(
            [
                ("suites", _count(len(suites))),
                ("expectations passed", _count(sum(t[1] for t in layers.values()))),
                ("failed", _count(sum(t[2] for t in layers.values()))),
                ("warnings", _count(sum(t[3] for t in layers.values()))),
            ]
        ),
        "<p>The latest validation of each suite by the quality gates (one suite per table "
        "and layer). A failed critical expectation stops the pipeline at its gate; a "
        "warning is logged and the run goes on.</p>",
        _table(
            ["layer", "suites", "passed", "failed", "warnings"],
            per_layer,
            numeric=[1, 2, 3, 4],
            row_data=[{"layer": layer} for layer in layers],
        ),
        f"<details><summary>Every suite ({len(suites)})</summary>"
        + _table(
            ["layer", "suite", "validated (UTC)", "passed", "failed", "warnings"],
            per_suite,
            numeric=[3, 4, 5],
            row_data=[{"layer": s[0] or "", "suite": s[1]} for s in suites],
        )
        + "</details>",
    ]
    if failures:
        parts.append("<h3>Not passed</h3>")
        parts.append(
            _table(
                ["layer", "suite", "expectation", "column", "severity", "observed"],
                [[v if v is not None else NONE for v in row] for row in failures],
            )
        )
    else:
        parts.append(_note("Every expectation passed in the latest run of its suite."))
    return "".join(parts)


SECTIONS: list[tuple[str, str, str, Callable[[Context], str]]] = [  # id, link, heading, body
    ("sizes", "Sizes", "Segment sizes", _sizes),
    ("profiles", "Profiles", "What sets each segment apart", _profiles),
    ("rfm", "RFM", "RFM grid", _rfm),
    ("cluster-map", "Cluster map", "Map of the clusters", _cluster_map),
    ("lift", "Lift", "Propensity: lift by decile", _lift),
    ("transitions", "Transitions", "Segment transitions since the last run", _transitions),
    ("drift", "Drift", "Drift of the model's inputs", _drift),
    ("quality", "Quality", "Quality results", _quality),
]

CSS = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d8dee4; --page: #f4f6f8; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--page); color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
header { background: #1f2a37; color: #fff; padding: 20px 32px 14px; }
header h1 { margin: 0 0 4px; font-size: 26px; font-weight: 600; }
header p { margin: 0 0 10px; color: #c9d1d9; }
header code { color: #fff; }
nav a { color: #9ecbff; margin-right: 16px; text-decoration: none; font-size: 14px; }
nav a:hover { text-decoration: underline; }
main { max-width: 1240px; margin: 0 auto; padding: 8px 24px 48px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 6px 24px 20px; margin: 20px 0; }
h2 { font-size: 20px; margin: 14px 0 6px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
h3 small { color: var(--muted); font-weight: 400; margin-left: 6px; }
p { max-width: 80ch; }
figure { margin: 8px 0; }
svg { max-width: 100%; height: auto; display: block; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td small { display: block; color: var(--muted); font-size: 11px; }
.matrix td.stay { font-weight: 700; }
.matrix th.name { white-space: nowrap; font-weight: 400; color: var(--ink); }
.scroll { overflow-x: auto; }
.card table { width: 100%; }
.card th, .card td { padding: 4px 6px; }
.card td:first-child { overflow-wrap: anywhere; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr));
  gap: 4px 28px; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px;
  margin-right: 7px; vertical-align: baseline; }
.figures { display: flex; flex-wrap: wrap; gap: 10px 32px; margin: 8px 0 4px; }
.figure b { display: block; font-size: 20px; font-weight: 600; }
.figure span { color: var(--muted); font-size: 13px; }
.missing { background: #fff8e5; border: 1px solid #f0d58c; border-radius: 6px;
  padding: 8px 12px; color: #6b4e00; }
.bad { color: #d62728; font-weight: 700; }
.warn { color: #b26b00; font-weight: 700; }
details summary { cursor: pointer; color: #0969da; margin: 6px 0; }
.models { display: flex; flex-wrap: wrap; gap: 0 40px; align-items: flex-end; }
.model { flex: 1 1 480px; min-width: 0; }
footer { color: var(--muted); font-size: 13px; text-align: center; padding: 0 0 24px; }
"""


def _page(context: Context, warehouse_path: Path, sections: list[str]) -> str:
    """The whole document: header with the date and model, links to sections, sections."""
    if context.as_of_date is not None:
        subtitle = (
            f"As of <b>{escape(str(context.as_of_date))}</b> · segmentation model "
            f"<code>{escape(str(context.model_version))}</code>"
        )
    else:
        subtitle = "No segments published yet."
    links = "".join(
        f'<a href="#{escape(section_id)}">{escape(link)}</a>' for section_id, link, *_ in SECTIONS
    )
    title = "Customer segments" + (f" as of {context.as_of_date}" if context.as_of_date else "")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>\n"
        f'<header><h1>Customer segments</h1><p id="as-of" data-as-of="'
        f'{escape(str(context.as_of_date or ""))}" data-model-version="'
        f'{escape(str(context.model_version or ""))}">{subtitle}</p><nav>{links}</nav></header>\n'
        "<main>\n" + "\n".join(sections) + "\n</main>\n"
        f"<footer>Built from {escape(warehouse_path.name)} (read-only) by "
        "activation.report.</footer>\n</body></html>\n"
    )
