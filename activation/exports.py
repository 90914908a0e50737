"""Audience exports: one folder per destination and audience, with the change since last time.

For each destination (`activation.destinations`) and each audience it takes, the export
writes, as CSV and as Parquet, into `<exports>/<destination>/<audience>/`:
- `members`: everyone in the audience whose consent for the destination's purpose is granted
  now (the latest change the warehouse holds), with the destination's columns;
- `added` and `removed`: the change since the previous export of that folder, so a sync
  sends only the delta. Removals carry hashes only (`destinations.REMOVAL_KEYS`);
- `export.json`: the date, counts and columns.

`members` is always the whole audience: a sync that missed an export reconciles with it.
Re-running an export with nothing changed writes empty deltas. The files are written before
the snapshot they were compared with is replaced (`exports.audience_members`), so a crash in
between re-sends the same delta next time rather than losing it.

Nobody with an erasure request is exported: `activation.customer_360` leaves them out. Their
removal goes out once, then the snapshot no longer holds them, and a folder holds the latest
export only, so no file keeps them.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from activation.destinations import COLUMNS, DESTINATIONS, REMOVAL_KEYS, Destination

log = logging.getLogger(__name__)

FORMATS = {"csv": "(format csv, header)", "parquet": "(format parquet, compression zstd)"}
FILES = ("members", "added", "removed")


@dataclass(frozen=True)
class ExportResult:
    destination: str
    audience: str
    export_date: date  # the segments' as-of date
    exported_at: datetime
    previous_exported_at: datetime | None  # what added and removed are relative to
    members: int
    added: int
    removed: int
    folder: Path


def export_audiences(
    warehouse_path: Path,
    exports_dir: Path,
    destinations: tuple[Destination, ...] = DESTINATIONS,
    audience: str | None = None,
) -> list[ExportResult]:
    """Export every audience of every destination (or only `audience`) from
    `activation.customer_360` and the audience tables."""
    names = {a for d in destinations for a in d.audiences}
    if audience is not None and audience not in names:
        raise ValueError(f"no destination takes audience {audience!r}; known: {sorted(names)}")
    with duckdb.connect(str(warehouse_path)) as con:
        _ensure_tables(con)
        [(export_date,)] = con.execute(
            "select max(as_of_date) from activation.customer_360"
        ).fetchall()
        if export_date is None:
            raise LookupError("activation.customer_360 is empty: run the pipeline first")
        return [
            _export(con, destination, name, export_date, exports_dir)
            for destination in destinations
            for name in destination.audiences
            if audience in (None, name)
        ]


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists exports")
    # The members of each folder's latest export, hashed: what the next delta compares with.
    con.execute(
        """
        create table if not exists exports.audience_members (
            destination varchar, audience varchar, person_id varchar,
            email_sha256 varchar, phone_sha256 varchar
        )
        """
    )
    # One row per export: counts only, never a person.
    con.execute(
        """
        create table if not exists exports.export_runs (
            destination varchar, audience varchar, export_date date, exported_at timestamptz,
            members bigint, added bigint, removed bigint
        )
        """
    )


def _export(
    con: duckdb.DuckDBPyConnection,
    destination: Destination,
    audience: str,
    export_date: date,
    exports_dir: Path,
) -> ExportResult:
    key = [destination.name, audience]
    columns = ", ".join(f"{COLUMNS[c]} as {c}" for c in destination.columns)
    matchable = " or ".join(f"c.{c} is not null" for c in destination.requires_any)
    con.execute(
        f"""
        create or replace temp table members as
        select a.person_id, {columns},
            sha256(c.email) as _email_sha256, sha256(c.phone) as _phone_sha256
        from activation.audience_{audience} as a
        inner join activation.customer_360 as c on a.person_id = c.person_id
        where c.has_{destination.purpose}_consent and ({matchable})
        order by a.person_id
        """
    )
    con.execute(
        """
        create or replace temp table previous as
        select person_id, email_sha256, phone_sha256 from exports.audience_members
        where destination = ? and audience = ?
        """,
        key,
    )
    con.execute(
        """
        create or replace temp table added as
        select * exclude (_email_sha256, _phone_sha256) from members
        where person_id not in (select person_id from previous)
        order by person_id
        """
    )
    con.execute(
        f"""
        create or replace temp table removed as
        select person_id, {", ".join(REMOVAL_KEYS)} from previous
        where person_id not in (select person_id from members)
        order by person_id
        """
    )
    [(previous_exported_at,)] = con.execute(
        "select max(exported_at) from exports.export_runs where destination = ? and audience = ?",
        key,
    ).fetchall()
    folder = exports_dir / destination.name / audience
    members, added, removed = _write_files(con, folder)
    exported_at = datetime.now(UTC)

    con.execute("begin")
    con.execute("delete from exports.audience_members where destination = ? and audience = ?", key)
    con.execute(
        "insert into exports.audience_members "
        "select ?, ?, person_id, _email_sha256, _phone_sha256 from members",
        key,
    )
    con.execute(
        "insert into exports.export_runs values (?, ?, ?, ?, ?, ?, ?)",
        [*key, export_date, exported_at, members, added, removed],
    )
    con.execute("commit")
    result = ExportResult(
        *key, export_date, exported_at, previous_exported_at, members, added, removed, folder
    )
    _write_manifest(result, destination)
    log.info(
        "export %s/%s as of %s: %d members, %d added, %d removed",
        *key, export_date, members, added, removed,
    )  # fmt: skip
    return result


def _write_files(con: duckdb.DuckDBPyConnection, folder: Path) -> tuple[int, int, int]:
    """Write the files into a scratch folder, then swap it in by renames, so a sync never
    reads a half-written export or an older one's leftovers."""
    scratch = folder.with_name(f".{folder.name}.new")
    old = folder.with_name(f".{folder.name}.old")
    for leftover in (scratch, old):
        shutil.rmtree(leftover, ignore_errors=True)
    scratch.mkdir(parents=True)
    counts = []
    for table in FILES:
        columns = "* exclude (_email_sha256, _phone_sha256)" if table == "members" else "*"
        for extension, options in FORMATS.items():
            path = str(scratch / f"{table}.{extension}").replace("'", "''")
            con.execute(f"copy (select {columns} from {table}) to '{path}' {options}")
        [(rows,)] = con.execute(f"select count(*) from {table}").fetchall()
        counts.append(rows)
    if folder.exists():
        folder.rename(old)
    scratch.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return counts[0], counts[1], counts[2]


def _write_manifest(result: ExportResult, destination: Destination) -> None:
    """`export.json` beside the files: what a sync checks before it reads them."""
    manifest = asdict(result) | {
        "purpose": destination.purpose,
        "columns": ["person_id", *destination.columns],
        "removal_columns": ["person_id", *REMOVAL_KEYS],
    }
    (result.folder / "export.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
