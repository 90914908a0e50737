"""How long Airflow takes to parse each DAG file: `make dag-parse`.

The DAG processor re-parses every file every `min_file_process_interval` (30 s by default),
each time in a fresh child process that already has Airflow imported but not what the DAG
file imports; it builds a DagBag of the file and serializes its DAGs for the scheduler. So
each repeat here is a new Python process that imports the DAG processor's module first
(untimed), then times the DagBag of the one file (its imports and top-level code: what a
slow DAG file costs) and the serialization. The median of the repeats is reported.

    python -m benchmarks.dag_parse [--repeats 5] [FILE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.settings import PROJECT_ROOT

DAGS_DIR = PROJECT_ROOT / "dags"

# Runs in the child: import what the DAG processor has imported, then time one file's parse.
_PROBE = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
from airflow.dag_processing.processor import DagSerialization
start = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1], safe_mode=False)
parsed = time.perf_counter()
for dag in bag.dags.values():
    DagSerialization.to_dict(dag)
done = time.perf_counter()
print(json.dumps({"parse": parsed - start, "serialize": done - parsed, "dags": len(bag.dags),
                  "errors": {str(k): str(v) for k, v in bag.import_errors.items()}}))
"""


@dataclass(frozen=True)
class ParseTime:
    """One DAG file's median times over the repeats, in seconds."""

    file: Path
    dags: int
    parse_s: float  # DagBag: the file's imports and top-level code
    serialize_s: float  # its DAGs to the JSON the scheduler reads
    total_s: float
    total_max_s: float


def _env() -> dict[str, str]:
    # Airflow writes its home on import: keep it out of ~/airflow and the project's data.
    home = os.environ.get("AIRFLOW_HOME") or tempfile.mkdtemp(prefix="dag-parse-airflow-")
    return {**os.environ, "AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}


def measure(dag_file: Path, repeats: int = 5) -> ParseTime:
    """Parse `dag_file` in `repeats` fresh processes; raise if it has import errors."""
    env = _env()
    runs = []
    for _ in range(repeats):
        result = subprocess.run(
            [sys.executable, "-c", _PROBE, str(dag_file)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        run = json.loads(result.stdout.strip().splitlines()[-1])
        if run["errors"]:
            raise RuntimeError(f"{dag_file} does not import: {run['errors']}")
        runs.append(run)
    totals = [run["parse"] + run["serialize"] for run in runs]
    return ParseTime(
        file=dag_file,
        dags=runs[0]["dags"],
        parse_s=statistics.median(run["parse"] for run in runs),
        serialize_s=statistics.median(run["serialize"] for run in runs),
        total_s=statistics.median(totals),
        total_max_s=max(totals),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="DAG files (default: dags/*.py)")
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per file")
    args = parser.parse_args(argv)
    files = args.files or sorted(DAGS_DIR.glob("*.py"))
    print(f"DAG parse time, median of {args.repeats} fresh processes (seconds)")
    print(f"{'file':<32} {'dags':>4} {'parse':>7} {'serialize':>9} {'total':>7} {'max':>7}")
    for dag_file in files:
        t = measure(dag_file, args.repeats)
        print(
            f"{dag_file.name:<32} {t.dags:>4} {t.parse_s:>7.3f} {t.serialize_s:>9.3f} "
            f"{t.total_s:>7.3f} {t.total_max_s:>7.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
