"""Load landing-zone files into `raw.<system>__<entity>`, once each, with nothing lost.

- Raw keeps every value as the text the source delivered: typing is staging's job, so a value
  that doesn't cast is visible in raw rather than lost on the way in.
- Lines the CSV reader cannot split into the file's columns go to `quarantine.<table>`, one row
  per line, with the file, line number, columns and reason; rows in = loaded + quarantined.
- A file is identified by its content hash: loading the same file again is a no-op, a changed
  file is a new batch. Each file's rows, rejects and its entry in `raw._loads` commit together.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from extract_load.sources import SOURCES, Source

log = logging.getLogger(__name__)

METADATA_COLUMNS = "_batch_id varchar, _loaded_at timestamptz, _source_file varchar"


class SourceFileError(ValueError):
    """A landing-zone file the loader cannot read as the source it claims to be."""


@dataclass(frozen=True)
class LoadResult:
    table: str
    source_file: str
    batch_id: str
    rows_loaded: int
    rows_quarantined: int
    skipped: bool  # already loaded in an earlier batch


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _ensure_schemas(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    con.execute("create schema if not exists quarantine")
    con.execute(
        """
        create table if not exists raw._loads (
            batch_id varchar primary key, source_table varchar, source_file varchar,
            sha256 varchar, rows_loaded bigint, rows_quarantined bigint, loaded_at timestamptz
        )
        """
    )


def _header(path: Path) -> list[str]:
    """The file's own column names, read directly: the CSV sniffer can be misled by bad lines."""
    with path.open(newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle), [])


def _read_csv_sql(header: list[str]) -> str:
    """A read_csv call with the dialect and columns fixed, so nothing is guessed from the data."""
    columns = ", ".join(f"'{name}': 'VARCHAR'" for name in header)
    return (
        "read_csv(?, header = true, delim = ',', quote = '\"', escape = '\"', "
        f"columns = {{{columns}}}, store_rejects = true, "
        "rejects_scan = 'load_rejects_scan', rejects_table = 'load_rejects')"
    )


def load_file(con: duckdb.DuckDBPyConnection, source: Source, path: Path) -> LoadResult:
    """Load one file of `source`; skip it if this exact content was loaded before."""
    sha = file_sha256(path)
    batch_id = f"{source.table}:{sha[:16]}"
    if con.execute("select 1 from raw._loads where batch_id = ?", [batch_id]).fetchone():
        log.info("%s: %s already loaded as %s, skipped", source.table, path, batch_id)
        return LoadResult(source.table, str(path), batch_id, 0, 0, skipped=True)

    header = _header(path)
    missing = [col for col in source.columns if col not in header]
    if missing:
        raise SourceFileError(
            f"{path}: header line lacks required column(s) {', '.join(missing)} "
            f"for source {source.table}"
        )

    cols = ", ".join(f'"{col}" varchar' for col in source.columns)
    select_cols = ", ".join(f'"{col}"' for col in source.columns)
    loaded_at = datetime.now(UTC)
    con.execute("begin transaction")
    try:
        con.execute(f"create table if not exists raw.{source.table} ({cols}, {METADATA_COLUMNS})")
        con.execute(
            f"""
            create table if not exists quarantine.{source.table} (
                _batch_id varchar, _source_file varchar, line bigint, column_name varchar,
                error_type varchar, reason varchar, raw_line varchar, _loaded_at timestamptz
            )
            """
        )
        con.execute(
            f"""
            insert into raw.{source.table}
            select {select_cols}, ? as _batch_id, ? as _loaded_at, ? as _source_file
            from {_read_csv_sql(header)}
            """,
            [batch_id, loaded_at, str(path), str(path)],
        )
        loaded = con.execute(
            f"select count(*) from raw.{source.table} where _batch_id = ?", [batch_id]
        ).fetchone()[0]
        con.execute(
            f"""
            insert into quarantine.{source.table}
            select
                ?, ?, line, string_agg(distinct column_name, ', ' order by column_name),
                string_agg(distinct error_type::varchar, ', '),
                string_agg(distinct error_message, '; '), any_value(csv_line), ?
            from load_rejects
            group by line
            """,
            [batch_id, str(path), loaded_at],
        )
        rejected = con.execute("select count(distinct line) from load_rejects").fetchone()[0]
        con.execute(
            "insert into raw._loads values (?, ?, ?, ?, ?, ?, ?)",
            [batch_id, source.table, str(path), sha, loaded, rejected, loaded_at],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    log.info("%s: loaded %d rows, quarantined %d, from %s", source.table, loaded, rejected, path)
    return LoadResult(source.table, str(path), batch_id, loaded, rejected, skipped=False)


def load_all(warehouse_path: Path, landing_dir: Path) -> list[LoadResult]:
    """Load every source's landing file into raw; a missing file is an error naming it."""
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    results = []
    with duckdb.connect(str(warehouse_path)) as con:
        _ensure_schemas(con)
        for source in SOURCES:
            path = landing_dir / source.relpath
            if not path.exists():
                raise SourceFileError(
                    f"{path}: no file for source {source.table} in the landing zone"
                )
            results.append(load_file(con, source, path))
    return results
