"""What a run produced, in words a person reads: tables, row counts, segments, quality, timings."""

from __future__ import annotations

import duckdb

from pipeline.settings import Settings

SCHEMAS = (
    "raw",
    "quarantine",
    "staging",
    "reference",
    "marts",
    "segments",
    "activation",
    "exports",
    "quality",
    "ops",
)


def format_table(rows: list[tuple], headers: tuple[str, ...]) -> str:
    cells = [tuple(str(v) for v in row) for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    body = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join([line, "  ".join("-" * w for w in widths), *body])


def render(settings: Settings) -> str:
    """A plain-text summary of the warehouse and its latest run, and where the exports, the
    report and the quality docs are."""
    warehouse_path = settings.warehouse_path
    if not warehouse_path.exists():
        return f"No warehouse at {warehouse_path}: run `make run` first."
    out = [f"Warehouse: {warehouse_path} ({warehouse_path.stat().st_size / 1e6:.1f} MB)"]
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (select unnest(?)) order by table_schema, table_name",
            [list(SCHEMAS)],
        ).fetchall()
        counts = [
            (
                f"{schema}.{name}",
                con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0],
            )
            for schema, name in tables
        ]
        out += ["", "Tables", format_table(counts, ("table", "rows"))]

        if ("segments", "customer_segments") in tables:
            segments = con.execute(
                """
                select segment_id, segment_name, count(*) as people,
                       format('{:.1f}%', 100.0 * count(*) / sum(count(*)) over ()) as share
                from segments.customer_segments group by all order by people desc
                """
            ).fetchall()
            out += ["", "Segments", format_table(segments, ("id", "segment", "people", "share"))]
        if ("segments", "segment_profiles") in tables:
            traits = con.execute(
                """
                select segment_name, string_agg(
                    feature || ' ' || case
                        when kind = 'numeric'
                            then format('{:.3g} vs {:.3g}', median, overall_median)
                        else format(
                            '{} {:.0f}% vs {:.0f}%', top_value, 100 * top_share,
                            100 * overall_top_share
                        )
                    end, '; ' order by rank)
                from segments.segment_profiles
                where distinguishing and rank <= 3
                group by segment_name order by segment_name
                """
            ).fetchall()
            out += [
                "",
                "What sets each segment apart (median in segment vs everyone; top 3)",
                format_table(traits, ("segment", "traits")),
            ]
        if ("segments", "model_runs") in tables:
            out += ["", "Models", format_table(_model_lines(con), ("model", "version", "measured"))]

        if ("marts", "identity_graph_health") in tables:
            health = con.execute(
                """
                select persons, identifiers, singletons, format('{:.3f}', merge_rate),
                       largest_component, format('{:.2f}', mean_identifiers_per_person),
                       flagged_identifiers, passes_used
                from marts.identity_graph_health order by built_at desc limit 1
                """
            ).fetchall()
            headers = (
                "persons",
                "identifiers",
                "singletons",
                "merge rate",
                "largest",
                "ids/person",
                "flagged",
                "passes",
            )
            out += ["", "Identity graph", format_table(health, headers)]

        if ("exports", "export_runs") in tables:
            exports = con.execute(
                """
                select destination || '/' || audience, export_date, members, added, removed
                from exports.export_runs
                qualify row_number() over (
                    partition by destination, audience order by exported_at desc
                ) = 1
                order by 1
                """
            ).fetchall()
            headers = ("destination/audience", "as of", "members", "added", "removed")
            out += [
                "",
                f"Audience exports ({settings.exports_dir})",
                format_table(exports, headers),
            ]

        # The daily run and the activation run it triggered: the two latest runs.
        runs: list[str] = []
        if ("ops", "stage_runs") in tables:
            runs = [
                row[0]
                for row in con.execute(
                    """
                    select run_id from ops.stage_runs group by run_id
                    order by max(started_at) desc limit 2
                    """
                ).fetchall()
            ]
        if runs and ("quality", "expectation_results") in tables:
            quality = con.execute(
                """
                select layer, suite, count(*) filter (success) as passed,
                       count(*) filter (not success and severity = 'critical') as failed,
                       count(*) filter (not success and severity != 'critical') as warnings
                from quality.expectation_results where list_contains(?, run_id)
                group by layer, suite
                order by list_position(
                    ['raw', 'staging', 'marts', 'outputs', 'activation'], layer
                ), suite
                """,
                [runs],
            ).fetchall()
            failures = con.execute(
                """
                select
                    suite, expectation, coalesce(column_name, '(table)'), severity, observed_value
                from quality.expectation_results where list_contains(?, run_id) and not success
                """,
                [runs],
            ).fetchall()
            out += [
                "",
                f"Quality (runs {', '.join(reversed(runs))})",
                format_table(quality, ("layer", "table", "passed", "failed", "warnings")),
            ]
            if failures:
                out += [
                    "",
                    format_table(
                        failures, ("suite", "expectation", "column", "severity", "observed")
                    ),
                ]
        if settings.data_docs_index.exists():
            out += [f"GX Data Docs: file://{settings.data_docs_index}"]
        if settings.report_path.exists():
            out += [f"Segment report: file://{settings.report_path}"]
        if runs:
            stages = con.execute(
                """
                select stage, round(seconds, 2), rows, round(peak_rss_mb) from ops.stage_runs
                where list_contains(?, run_id) order by started_at
                """,
                [runs],
            ).fetchall()
            out += ["", "Stages", format_table(stages, ("stage", "seconds", "rows", "peak MiB"))]
    return "\n".join(out)


def _model_lines(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """The latest run of each model kind and the figures it measured on itself."""
    import json

    rows = con.execute(
        """
        select kind, model_version, metrics from segments.model_runs
        qualify row_number() over (partition by kind order by as_of_date desc, trained_at desc) = 1
        order by kind
        """
    ).fetchall()
    lines = []
    for kind, version, raw in rows:
        metrics = json.loads(raw)
        if kind == "segmentation":
            figure = (
                f"k={metrics['k']} ({'retrained: ' if metrics['retrained'] else 'reused: '}"
                f"{metrics['reason']}); max PSI {metrics['max_psi'] or 0:.3f}; "
                f"ARI vs last run {metrics['ari_vs_last_run']}"
            )
        elif kind == "propensity":
            purchase, churn = metrics["purchase_30d"], metrics["churn_365d"]
            figure = (
                f"purchase 30d: {purchase['kept']} ROC-AUC {purchase['roc_auc']:.3f}, "
                f"top-decile lift {purchase['lift_by_decile'][0]:.1f}; churn: {churn['kept']} "
                f"ROC-AUC {churn['roc_auc']:.3f} (cross-validated)"
            )
        else:
            cv, naive = metrics["metrics"]["cross_validated"], metrics["metrics"]["naive_last_year"]
            figure = (
                f"12-month value: MAE {cv['mae']:.0f} (naive {naive['mae']:.0f}, cross-validated)"
            )
        lines.append((kind, version, figure))
    return lines
