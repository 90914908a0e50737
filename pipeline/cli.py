"""`segments`: the command line for what people do by hand.

segments run [--date YYYY-MM-DD]   run the pipeline and activation DAGs through Airflow, summarise
segments generate [--customers N]  write demo sources into the landing zone
segments export [--audience NAME]  export the audiences per destination (with deltas)
segments report                    rebuild the segment report (one HTML page)
segments serve [--port 8000]       the segment lookup API (needs SEGMENTS_API_TOKEN)
segments summary                   what the warehouse holds now
segments docs [--serve]            build dbt's documentation site (and serve it on :8080)
segments airflow [--port 8080]     a local Airflow (standalone) with its UI on the project's DAGs
segments manifest                  parse the dbt project for the DAG's per-model tasks (if changed)
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, date, datetime

from pipeline import settings as config


def _date(value: str) -> date:
    return date.fromisoformat(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="segments", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the pipeline DAG through Airflow and summarise")
    run.add_argument(
        "--date",
        type=_date,
        default=datetime.now(UTC).date(),
        help="as-of date of the run (default: today, UTC)",
    )
    gen = commands.add_parser("generate", help="write demo sources into the landing zone")
    gen.add_argument("--customers", type=int, help="number of customers (default from settings)")
    gen.add_argument(
        "--date",
        type=_date,
        default=datetime.now(UTC).date(),
        help="the data ends the day before this date",
    )
    export = commands.add_parser("export", help="export the audiences for each destination")
    export.add_argument("--audience", help="only this audience (default: all)")
    commands.add_parser("report", help="rebuild the segment report")
    lookup = commands.add_parser("serve", help="serve the segment lookup API")
    lookup.add_argument("--host", default="127.0.0.1", help="address to bind (default local)")
    lookup.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    lookup.add_argument(
        "--reload-seconds",
        type=float,
        default=60,
        help="reload the warehouse once it changed and stayed quiet this long (default 60)",
    )
    commands.add_parser("summary", help="print what the warehouse holds")
    docs = commands.add_parser("docs", help="build dbt's documentation site for the warehouse")
    docs.add_argument("--serve", action="store_true", help="then serve it on localhost:8080")
    ui = commands.add_parser("airflow", help="start a local Airflow with its UI on our DAGs")
    ui.add_argument("--port", type=int, default=8080, help="the UI's port (default 8080)")
    commands.add_parser("manifest", help="parse the dbt project the DAG renders (if changed)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = config.load()

    if args.command == "generate":
        from demo_data.generate import generate

        counts = generate(
            settings.landing_dir,
            args.customers or settings.demo_customers,
            settings.demo_seed,
            args.date,
            settings.demo_history_days,
        )
        print(
            f"wrote {counts.customers} customers, {counts.orders} orders to {settings.landing_dir}"
        )
        return 0

    if args.command == "export":
        from activation.exports import export_audiences

        try:
            results = export_audiences(
                settings.warehouse_path, settings.exports_dir, audience=args.audience
            )
        except (ValueError, LookupError) as error:
            print(f"segments export: {error}", file=sys.stderr)
            return 2
        for result in results:
            print(
                f"{result.destination}/{result.audience}: {result.members} members, "
                f"{result.added} added, {result.removed} removed -> {result.folder}"
            )
        return 0

    if args.command == "report":
        from activation.report import build_report

        path = build_report(settings.warehouse_path, settings.report_path, settings.models_dir)
        print(f"segment report: {path}")
        return 0

    if args.command == "serve":
        from activation.lookup import WarehouseNotReady, serve

        try:
            return serve(settings, args.host, args.port, args.reload_seconds)
        except (ValueError, WarehouseNotReady) as error:
            print(f"segment lookup: {error}", file=sys.stderr)
            return 2

    if args.command == "manifest":
        from pipeline.dbt_manifest import ensure_manifest

        print(f"dbt manifest: {ensure_manifest()}")
        return 0

    if args.command == "airflow":
        from pipeline.airflow_runner import serve

        return serve(settings, port=args.port)

    if args.command == "docs":
        from pipeline.dbt_runner import build_docs, serve_docs

        index = build_docs(settings)
        print(f"dbt docs: {index}")
        if args.serve:
            serve_docs(settings, port=8080)
        return 0

    from pipeline.summary import render

    if args.command == "run":
        from pipeline.airflow_runner import DagRunFailed, run_pipeline

        try:
            log_files = run_pipeline(settings, args.date)
        except DagRunFailed as error:
            print(f"\nFAILED: {error}\n", file=sys.stderr)
            print(render(settings))
            return 1
        print("\nDAG run logs:\n" + "\n".join(f"  {path}" for path in log_files) + "\n")
    print(render(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
