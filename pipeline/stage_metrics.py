"""Time and peak memory of each pipeline stage, kept in `ops.stage_runs` for operators and bench.

Peak memory is per stage: on Linux the process's high-water mark is reset before the stage
(`/proc/self/clear_refs`). dbt runs in a child process; `pipeline.dbt_tasks` records its peak
through `record`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)


def _reset_peak_rss() -> None:
    # Not Linux, or not allowed: the peak then covers the whole process so far.
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def current_peak_rss_mb() -> float:
    """This process's peak resident memory since the last reset, in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Stage:
    """What a stage reports about itself while it runs."""

    name: str
    rows: int = 0
    extra: dict[str, object] = field(default_factory=dict)


@contextmanager
def measure(warehouse_path: Path, run_id: str, name: str) -> Iterator[Stage]:
    """Measure the block; on success, add a row to `ops.stage_runs` (a failed stage adds none)."""
    stage = Stage(name)
    _reset_peak_rss()
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    yield stage
    seconds = time.perf_counter() - started
    record(warehouse_path, run_id, name, started_at, seconds, stage.rows, current_peak_rss_mb())


def record(
    warehouse_path: Path,
    run_id: str,
    name: str,
    started_at: datetime,
    seconds: float,
    rows: int,
    peak_rss_mb: float,
) -> None:
    """Add (or replace) the run's row for the stage in `ops.stage_runs`."""
    log.info("stage %s: %.2f s, %d rows, peak %.0f MiB", name, seconds, rows, peak_rss_mb)
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute("create schema if not exists ops")
        con.execute(
            """
            create table if not exists ops.stage_runs (
                run_id varchar, stage varchar, started_at timestamptz, seconds double,
                rows bigint, peak_rss_mb double
            )
            """
        )
        con.execute("delete from ops.stage_runs where run_id = ? and stage = ?", [run_id, name])
        con.execute(
            "insert into ops.stage_runs values (?, ?, ?, ?, ?, ?)",
            [run_id, name, started_at, seconds, rows, peak_rss_mb],
        )
