"""The shop's PostgreSQL database as a source: incremental extracts into the same raw tables.

The embedded default reads shop orders from landing-zone files. A company that runs its shop on
PostgreSQL points `SEGMENTS_SHOP_DSN` at it (a libpq URI or key=value string, for example
``postgresql://reader:...@shop-db:5432/shop``; credentials only ever come from the environment)
and the orders and order items are extracted from there instead, incrementally.

How: COPY to a CSV file, then the shared file loader
----------------------------------------------------
Each extract is ``COPY (select <contract columns cast to text> ...) TO STDOUT WITH (FORMAT csv,
HEADER true)``, streamed block by block into a file under the staging folder, and that file is
loaded by `extract_load.load.load_file`, exactly like a delivered file. Why:

- One validation path: the contract checks, quarantine (rows in = rows loaded + rows
  quarantined), load metadata and the content-hash manifest `raw._loads` are the file loader's;
  a database row and a file row cannot be judged by two different sets of rules.
- Bounded memory: rows never sit in Python; COPY streams them to disk and DuckDB's CSV reader
  loads the file. Extract cost is one sequential scan (of the rows past the cursor) on the
  source, the fastest way out of PostgreSQL.
- Exactly what the database had: every column is cast to text in PostgreSQL, with the session
  in UTC and ISO date style, so a timestamptz arrives as ``2026-03-04 11:34:56.5+00`` (ISO 8601
  with offset, full precision) and a numeric(18,2) as ``131.20``. Typing stays staging's job.
- The staged file stays on disk as the batch's evidence (`raw.<table>._source_file` names it);
  delete old ones at will, the manifest keeps their hashes.

Why not DuckDB's postgres extension: ``INSTALL postgres`` downloads the extension at run time,
which fails offline and on locked-down servers, and the PyPI extension wheels don't load into
DuckDB 2.0. psycopg 3 (with its bundled libpq) is an ordinary locked dependency.

Incremental extraction
----------------------
Each source table has a high-water mark in the warehouse table ``raw._cursors``: the largest
cursor value (``updated_at``) extracted so far, as PostgreSQL's own text for it. A run extracts
the rows with ``cursor > mark`` and ``cursor <= max(cursor)``, both read in one
REPEATABLE READ, read-only snapshot, ordered by the cursor (then every column, so the same rows
always make the same file). No new rows: no file, no batch. Rows updated since the last run are
extracted again as a new batch; raw is append-only, and staging keeps each key's latest version.

The mark moves only after the batch is committed. The file loader commits its own transaction, so
the mark cannot share it; instead the new mark is first written as *pending* together with the
staged file's SHA-256, and promoted after the load. Should the process die in between, the next
run finds that hash in ``raw._loads`` and promotes the pending mark then, so a crash can neither
skip rows nor load them twice.

Known limits of an updated_at cursor (true of every timestamp cursor, say so to the shop team):
rows whose cursor is NULL are extracted by the first (full) run only; a row whose transaction
commits *after* a run with an ``updated_at`` older than that run's mark is missed (keep the
column set by a trigger with ``clock_timestamp()`` and transactions short); hard deletes are not
seen (the shop should cancel or soft-delete).

Order items have no ``updated_at`` in the contract. Their cursor is their order's
``orders.updated_at`` through a join on ``order_id``: when an order changes, all its lines are
extracted again with it (an order and its lines are one aggregate; staging keeps the latest
batch per ``(order_id, line_number)``). This needs the shop to touch ``orders.updated_at`` when
an order's lines change, the usual convention; lines of an order that isn't in ``orders`` are
never extracted (a foreign key prevents them). Should the shop's ``order_items`` table have its
own ``updated_at``, that column is used directly. A full refresh was the alternative: simpler,
but it reloads the whole table as a new batch after any change.

Columns come from the contract (`extract_load.sources`): an optional column the table lacks is
extracted as NULL (with a warning), a required one stops the extract with an error naming the
table and the column. Columns the contract doesn't know are not extracted: an explicit column
list keeps new columns of an OLTP table (personal data, say) out of the warehouse until the
contract says so.

Demo data: `seed_shop_database` creates ``orders`` and ``order_items`` with real types and loads
demo CSV files into them, so the path can be tried end to end::

    scripts/start_postgres.sh            # prints the DSN of a local test database
    export SEGMENTS_SHOP_DSN=postgresql://segments:segments-local@127.0.0.1:5432/shop
    python -m extract_load.postgres seed data/landing/shop/orders.csv
    python -m extract_load.postgres load
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

from extract_load.load import LoadResult, ensure_tables, file_sha256, load_file
from extract_load.sources import SOURCES_BY_TABLE, ColumnType, Source

log = logging.getLogger(__name__)

SHOP_DSN_ENV = "SEGMENTS_SHOP_DSN"
COPY_BLOCK_BYTES = 1 << 20  # staged file writes are buffered to about this size

# PostgreSQL type per contract type, for the tables `seed_shop_database` creates.
PG_TYPES: dict[ColumnType, str] = {
    "text": "text",
    "integer": "integer",
    "decimal": "numeric(18, 2)",
    "date": "date",
    "timestamp": "timestamp",
    "timestamptz": "timestamptz",
    "json": "jsonb",
}


class PostgresSourceError(ValueError):
    """A PostgreSQL table that cannot be extracted as the source it is meant to be."""


@dataclass(frozen=True)
class CursorParent:
    """Where a child table's cursor lives: on a parent row, found by joining on `keys`."""

    table: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class SeedResult:
    table: str
    rows_read: int
    rows_inserted: int

    @property
    def rows_skipped(self) -> int:
        """Rows that didn't fit: wrong field count, a value the type rejects, duplicate key."""
        return self.rows_read - self.rows_inserted


@dataclass(frozen=True)
class _Table:
    schema: str
    name: str
    columns: dict[str, str]  # column name -> PostgreSQL type, in table order

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


def shop_dsn() -> str | None:
    """The shop database's DSN from `SEGMENTS_SHOP_DSN`; None when the shop is file-based."""
    return os.environ.get(SHOP_DSN_ENV) or None


# --- PostgreSQL side ---------------------------------------------------------------------------


def _configure_session(pg: psycopg.Connection) -> None:
    """Text output that is unambiguous and the same whatever the server's defaults are."""
    pg.execute("set time zone 'UTC'")
    pg.execute("set datestyle = 'ISO, YMD'")
    pg.execute("set client_encoding = 'UTF8'")


@contextmanager
def _snapshot(dsn: str) -> Iterator[psycopg.Connection]:
    """A read-only connection whose transaction sees one snapshot for all its statements."""
    with psycopg.connect(dsn) as pg:
        pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        pg.read_only = True
        _configure_session(pg)
        yield pg


def _resolve_table(pg: psycopg.Connection, table: str) -> _Table | None:
    """Find `table` (`name` on the search path, or `schema.name`) and its columns' types."""
    ident = sql.Identifier(*table.split(".")).as_string(pg)
    row = pg.execute(
        """
        select n.nspname, c.relname
        from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
        where c.oid = to_regclass(%s)
        """,
        [ident],
    ).fetchone()
    if row is None:
        return None
    columns = pg.execute(
        """
        select attname, format_type(atttypid, atttypmod) from pg_attribute
        where attrelid = to_regclass(%s) and attnum > 0 and not attisdropped
        order by attnum
        """,
        [ident],
    ).fetchall()
    return _Table(row[0], row[1], dict(columns))


def _origin(pg: psycopg.Connection, table: _Table) -> str:
    """Where the rows come from, without credentials: host, port, database and table."""
    info = pg.info
    return f"postgresql://{info.host}:{info.port}/{info.dbname}/{table.qualified}"


def _select_list(source: Source, table: _Table) -> sql.Composed:
    """The contract's columns, each cast to text; NULL for an optional column the table lacks."""
    items = []
    for column in source.columns:
        name = sql.Identifier(column.name)
        if column.name in table.columns:
            items.append(sql.SQL("cast(t.{} as text) as {}").format(name, name))
        elif column.required:
            raise PostgresSourceError(
                f"PostgreSQL table {table.qualified} lacks column {column.name}, "
                f"required by source {source.table}"
            )
        else:
            log.warning(
                "%s: PostgreSQL table %s has no column %s (optional): extracted as null",
                source.table,
                table.qualified,
                column.name,
            )
            items.append(sql.SQL("cast(null as text) as {}").format(name))
    return sql.SQL(", ").join(items)


def _require_columns(table: _Table, columns: tuple[str, ...], why: str) -> None:
    for name in columns:
        if name not in table.columns:
            raise PostgresSourceError(
                f"PostgreSQL table {table.qualified} lacks column {name}, {why}"
            )


def _copy_to_file(
    pg: psycopg.Connection, statement: sql.Composed, params: dict[str, str | None], path: Path
) -> int:
    """Stream a COPY ... TO STDOUT into `path` block by block; return the rows copied."""
    part = path.with_name(path.name + ".part")
    try:
        with pg.cursor() as cur, part.open("wb", buffering=COPY_BLOCK_BYTES) as out:
            with cur.copy(statement, params) as copy:
                for block in copy:
                    out.write(block)
            rows = cur.rowcount
        part.replace(path)  # a file under its final name is always complete
    finally:
        part.unlink(missing_ok=True)
    return rows


# --- warehouse side: the cursors ---------------------------------------------------------------


def _ensure_cursor_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    con.execute(
        """
        create table if not exists raw._cursors (
            source_table varchar primary key, origin varchar, cursor_column varchar,
            high_water_mark varchar, updated_at timestamptz,
            pending_high_water_mark varchar, pending_sha256 varchar
        )
        """
    )


@dataclass(frozen=True)
class _Cursor:
    origin: str
    cursor_column: str
    high_water_mark: str | None


def _write_cursor(
    con: duckdb.DuckDBPyConnection,
    source_table: str,
    cursor: _Cursor,
    pending: tuple[str | None, str] | None = None,
) -> None:
    pending_mark, pending_sha = pending or (None, None)
    con.execute(
        """
        insert into raw._cursors values (?, ?, ?, ?, ?, ?, ?)
        on conflict (source_table) do update set
            origin = excluded.origin, cursor_column = excluded.cursor_column,
            high_water_mark = excluded.high_water_mark, updated_at = excluded.updated_at,
            pending_high_water_mark = excluded.pending_high_water_mark,
            pending_sha256 = excluded.pending_sha256
        """,
        [
            source_table,
            cursor.origin,
            cursor.cursor_column,
            cursor.high_water_mark,
            datetime.now(UTC),
            pending_mark,
            pending_sha,
        ],
    )


def _read_cursor(con: duckdb.DuckDBPyConnection, source_table: str) -> _Cursor | None:
    """The stored cursor, after settling a pending mark left by an interrupted run."""
    row = con.execute(
        """
        select origin, cursor_column, high_water_mark, pending_high_water_mark, pending_sha256
        from raw._cursors where source_table = ?
        """,
        [source_table],
    ).fetchone()
    if row is None:
        return None
    origin, cursor_column, mark, pending_mark, pending_sha = row
    if pending_sha is not None:
        committed = con.execute(
            "select 1 from raw._loads where source_table = ? and sha256 = ?",
            [source_table, pending_sha],
        ).fetchone()
        if committed:
            log.warning("%s: promoting the mark of a batch committed last run", source_table)
            mark = pending_mark
        _write_cursor(con, source_table, _Cursor(origin, cursor_column, mark))
    return _Cursor(origin, cursor_column, mark)


# --- extract and load --------------------------------------------------------------------------


def extract_incremental(
    dsn: str | psycopg.Connection,
    con: duckdb.DuckDBPyConnection,
    source: Source,
    table: str,
    cursor_column: str = "updated_at",
    *,
    staging_dir: Path,
    parent: CursorParent | None = None,
) -> LoadResult | None:
    """Extract the rows of PostgreSQL `table` changed since the last run and load them as a batch.

    `dsn` is a DSN, or an open connection whose transaction is used as is (so that several
    tables can be read in one snapshot). `cursor_column` is a column of `table`, or of
    `parent.table` when `parent` is given (the child's rows are those of changed parents).
    Returns the file loader's result, or None when there was nothing new.
    """
    if isinstance(dsn, str):
        with _snapshot(dsn) as pg:
            return extract_incremental(
                pg, con, source, table, cursor_column, staging_dir=staging_dir, parent=parent
            )
    pg = dsn
    ensure_tables(con, source)  # raw._loads too: a pending mark is settled against it
    _ensure_cursor_table(con)

    target = _resolve_table(pg, table)
    if target is None:
        raise PostgresSourceError(f"PostgreSQL has no table {table} (source {source.table})")
    select_list = _select_list(source, target)
    from_clause: sql.Composable = sql.SQL("{} as t").format(target.ident)
    cursor_table, cursor_alias = target, "t"
    if parent is not None:
        parent_table = _resolve_table(pg, parent.table)
        if parent_table is None:
            raise PostgresSourceError(f"PostgreSQL has no table {parent.table} (cursor of {table})")
        _require_columns(target, parent.keys, f"the join key to {parent_table.qualified}")
        _require_columns(parent_table, parent.keys, f"the join key from {target.qualified}")
        on = sql.SQL(" and ").join(
            sql.SQL("t.{k} = p.{k}").format(k=sql.Identifier(key)) for key in parent.keys
        )
        from_clause = sql.SQL("{} join {} as p on {}").format(from_clause, parent_table.ident, on)
        cursor_table, cursor_alias = parent_table, "p"
    _require_columns(cursor_table, (cursor_column,), f"the cursor of source {source.table}")
    cursor_expr = sql.SQL("{}.{}").format(
        sql.Identifier(cursor_alias), sql.Identifier(cursor_column)
    )
    cursor_name = f"{cursor_table.qualified}.{cursor_column}"

    origin = _origin(pg, target)
    stored = _read_cursor(con, source.table)
    if stored is not None and (stored.origin, stored.cursor_column) != (origin, cursor_name):
        raise PostgresSourceError(
            f"{source.table}: raw._cursors holds a mark for {stored.origin} "
            f"(cursor {stored.cursor_column}), not for {origin} (cursor {cursor_name}); "
            "delete that row of raw._cursors to extract everything from the new origin"
        )
    mark = stored.high_water_mark if stored else None

    # The upper bound first, in the same snapshot as the COPY: the mark stored is the largest
    # cursor value in the file, whatever commits meanwhile. With an index on the cursor column
    # this is an index lookup, so a run with nothing new costs next to nothing.
    lower = sql.SQL("{} > %(mark)s").format(cursor_expr) if mark is not None else sql.SQL("true")
    (new_mark,) = pg.execute(
        sql.SQL("select cast(max({}) as text) from {} where {}").format(
            cursor_expr, from_clause, lower
        ),
        {"mark": mark},
    ).fetchone()
    if new_mark is None and mark is not None:
        log.info("%s: no rows in %s past %s", source.table, target.qualified, mark)
        return None
    if new_mark is None:  # first run, and no row has a cursor value (or there are no rows)
        where = sql.SQL("true")
    elif mark is None:  # first run: every row, those with a NULL cursor too
        where = sql.SQL("{c} <= %(new)s or {c} is null").format(c=cursor_expr)
    else:
        where = sql.SQL("{c} > %(mark)s and {c} <= %(new)s").format(c=cursor_expr)
    order = sql.SQL(", ").join(
        [cursor_expr, *(sql.Literal(i + 1) for i in range(len(source.columns)))]
    )
    query = sql.SQL("select {} from {} where {} order by {}").format(
        select_list, from_clause, where, order
    )
    # COPY takes no server-side parameters: psycopg binds these client-side.
    statement = sql.SQL("copy ({}) to stdout with (format csv, header true)").format(query)
    params = {"mark": mark, "new": new_mark}

    batch_dir = staging_dir / source.table
    batch_dir.mkdir(parents=True, exist_ok=True)
    path = batch_dir / f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.csv"
    started = time.perf_counter()
    rows = _copy_to_file(pg, statement, params, path)
    seconds = time.perf_counter() - started
    if rows == 0:  # an empty table on a first run
        path.unlink()
        log.info("%s: %s has no rows", source.table, target.qualified)
        return None
    log.info(
        "%s: extracted %d rows from %s past %s in %.2f s (%.0f rows/s) to %s",
        source.table,
        rows,
        target.qualified,
        mark,
        seconds,
        rows / seconds if seconds else float("inf"),
        path,
    )

    # Pending until the batch commits; should the load fail (or the process die) before the
    # mark is promoted, the next run's `_read_cursor` settles it against `raw._loads`.
    pending = (new_mark, file_sha256(path))
    _write_cursor(con, source.table, _Cursor(origin, cursor_name, mark), pending=pending)
    result = load_file(
        con, source, path, origin=f"{origin} ({cursor_name} in ({mark}, {new_mark}])"
    )
    _write_cursor(con, source.table, _Cursor(origin, cursor_name, new_mark or mark))
    if not result.skipped and result.rows_in != rows:
        log.error(
            "%s: %d rows extracted but %d read by the loader from %s",
            source.table,
            rows,
            result.rows_in,
            path,
        )
    return result


def load_shop_from_postgres(warehouse_path: Path, dsn: str, staging_dir: Path) -> list[LoadResult]:
    """Load new and changed shop orders and order lines from PostgreSQL into raw.

    Both tables are read in one snapshot, so every extracted line's order is extracted too.
    `order_items` is optional (as its source is): a database without it loads orders only.
    Returns one result per batch loaded; an empty list when nothing changed.
    """
    orders = SOURCES_BY_TABLE["shop__orders"]
    items = SOURCES_BY_TABLE["shop__order_items"]
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    results: list[LoadResult | None] = []
    with _snapshot(dsn) as pg, duckdb.connect(str(warehouse_path)) as con:
        results.append(extract_incremental(pg, con, orders, "orders", staging_dir=staging_dir))
        items_table = _resolve_table(pg, "order_items")
        if items_table is None:
            log.info("%s: PostgreSQL has no table order_items, skipped", items.table)
        elif "updated_at" in items_table.columns:
            results.append(
                extract_incremental(pg, con, items, "order_items", staging_dir=staging_dir)
            )
        else:
            parent = CursorParent("orders", ("order_id",))
            results.append(
                extract_incremental(
                    pg, con, items, "order_items", staging_dir=staging_dir, parent=parent
                )
            )
    return [result for result in results if result is not None]


# --- demo data into PostgreSQL -----------------------------------------------------------------

# Keys of the tables `seed_shop_database` creates (the contract has columns, not keys).
_KEYS = {"shop__orders": ("order_id",), "shop__order_items": ("order_id", "line_number")}


def _create_table_sql(source: Source, table: str) -> sql.Composed:
    """A table with the contract's columns in real types; required columns are NOT NULL."""
    columns = []
    for column in source.columns:
        definition = sql.SQL("{} {}").format(
            sql.Identifier(column.name), sql.SQL(PG_TYPES[column.type])
        )
        if column.name == "updated_at":  # the extract's cursor: always set
            definition = sql.SQL("{} not null default now()").format(definition)
        elif column.required:
            definition = sql.SQL("{} not null").format(definition)
        columns.append(definition)
    keys = sql.SQL(", ").join(map(sql.Identifier, _KEYS[source.table]))
    columns.append(sql.SQL("primary key ({})").format(keys))
    if source.table == "shop__order_items":
        columns.append(sql.SQL("foreign key (order_id) references orders (order_id)"))
    return sql.SQL("create table if not exists {} ({})").format(
        sql.Identifier(table), sql.SQL(", ").join(columns)
    )


def _create_validators(pg: psycopg.Connection) -> None:
    """`pg_temp.is_<type>(text)`: does the value cast? (PostgreSQL 16 has pg_input_is_valid.)"""
    for contract_type, pg_type in PG_TYPES.items():
        if contract_type == "text":
            continue
        pg.execute(
            sql.SQL(
                """
                create or replace function pg_temp.{}(value text) returns boolean
                language plpgsql immutable as $$
                begin
                    perform cast(value as {});
                    return true;
                exception when others then
                    return false;
                end $$
                """
            ).format(sql.Identifier(f"is_{contract_type}"), sql.SQL(pg_type))
        )


def _seed_table(pg: psycopg.Connection, source: Source, table: str, path: Path) -> SeedResult:
    """Stage the file's rows as text, then insert those that fit the table's types."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        known = [name for name in header if any(c.name == name for c in source.columns)]
        staged = sql.Identifier(f"_seed_{table}")
        pg.execute(
            sql.SQL("create temporary table {} ({}) on commit drop").format(
                staged,
                sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(h)) for h in header),
            )
        )
        rows_read = 0
        with pg.cursor() as cur, cur.copy(sql.SQL("copy {} from stdin").format(staged)) as copy:
            for row in reader:  # streamed: memory stays flat whatever the file's size
                rows_read += 1
                if len(row) == len(header):  # a ragged line cannot be trusted column by column
                    copy.write_row([value if value != "" else None for value in row])

    names, values, checks = [], [], []
    for column in source.columns:
        value: sql.Composable
        if column.name in known:
            raw_value = sql.SQL("s.{}").format(sql.Identifier(column.name))
            if column.type != "text":
                validator = sql.Identifier("pg_temp", f"is_{column.type}")
                checks.append(sql.SQL("({v} is null or {f}({v}))").format(v=raw_value, f=validator))
            value = sql.SQL("cast({} as {})").format(raw_value, sql.SQL(PG_TYPES[column.type]))
            if column.required:
                checks.append(sql.SQL("{} is not null").format(raw_value))
        elif column.required:
            raise PostgresSourceError(
                f"{path}: no column {column.name}, required by {source.table}"
            )
        else:
            value = sql.NULL
        if column.name == "updated_at":  # demo files may lack it: the order's time will do
            fallback = "ordered_at" if "ordered_at" in known else None
            value = sql.SQL("coalesce({}, {}, now())").format(
                value,
                sql.SQL("cast(s.ordered_at as timestamptz)") if fallback else sql.NULL,
            )
        names.append(sql.Identifier(column.name))
        values.append(value)
    if source.table == "shop__order_items":  # lines of an order that didn't load can't either
        checks.append(sql.SQL("exists (select from orders as o where o.order_id = s.order_id)"))
    keys = sql.SQL(", ").join(map(sql.Identifier, _KEYS[source.table]))
    inserted = pg.execute(
        sql.SQL(
            "insert into {} ({}) select {} from {} as s where {} on conflict ({}) do nothing"
        ).format(
            sql.Identifier(table),
            sql.SQL(", ").join(names),
            sql.SQL(", ").join(values),
            staged,
            sql.SQL(" and ").join(checks) if checks else sql.SQL("true"),
            keys,
        )
    ).rowcount
    result = SeedResult(table, rows_read, inserted)
    log.info(
        "seed %s: %d rows read from %s, %d inserted, %d skipped (malformed or duplicate)",
        table,
        rows_read,
        path,
        inserted,
        result.rows_skipped,
    )
    return result


def seed_shop_database(
    dsn: str, orders_csv: Path, items_csv: Path | None = None, *, replace: bool = False
) -> list[SeedResult]:
    """Create the shop's `orders` and `order_items` tables and load demo CSV files into them.

    Tables get real types (timestamptz, numeric(18, 2), integer) from the contract, a primary
    key, and a foreign key from lines to orders. The demo files hold deliberately malformed
    rows; those are skipped here rather than failing the seed, as the shop's database would
    have refused them: each file is copied (COPY FROM STDIN) into a text staging table, and only
    rows whose values cast, whose required values are present and whose key is new are inserted.
    Lines with the wrong number of fields are dropped before staging. A file without
    `updated_at` gets the order's `ordered_at` as its last change.

    Existing tables are kept and rows with known keys are left alone (seeding twice adds
    nothing), unless `replace`, which drops both tables first: never point that at a real shop.
    """
    with psycopg.connect(dsn) as pg:  # one transaction: all of the seed or none of it
        _configure_session(pg)
        if replace:
            pg.execute("drop table if exists order_items, orders")
        pg.execute(_create_table_sql(SOURCES_BY_TABLE["shop__orders"], "orders"))
        pg.execute(_create_table_sql(SOURCES_BY_TABLE["shop__order_items"], "order_items"))
        pg.execute("create index if not exists orders_updated_at on orders (updated_at)")
        _create_validators(pg)
        results = [_seed_table(pg, SOURCES_BY_TABLE["shop__orders"], "orders", orders_csv)]
        if items_csv is not None:
            items = SOURCES_BY_TABLE["shop__order_items"]
            results.append(_seed_table(pg, items, "order_items", items_csv))
    return results


# --- command line ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """`python -m extract_load.postgres seed|load`: try the PostgreSQL path by hand."""
    from pipeline import settings as config

    parser = argparse.ArgumentParser(
        prog="python -m extract_load.postgres", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--dsn", default=shop_dsn(), help=f"default: ${SHOP_DSN_ENV}")
    commands = parser.add_subparsers(dest="command", required=True)
    seed = commands.add_parser("seed", help="create orders and order_items from demo CSV files")
    seed.add_argument("orders_csv", type=Path)
    seed.add_argument("items_csv", type=Path, nargs="?")
    seed.add_argument("--replace", action="store_true", help="drop both tables first")
    commands.add_parser("load", help="extract new and changed rows into the warehouse's raw")
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error(f"no DSN: set {SHOP_DSN_ENV} or pass --dsn")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    if args.command == "seed":
        for result in seed_shop_database(
            args.dsn, args.orders_csv, args.items_csv, replace=args.replace
        ):
            print(f"{result.table}: {result.rows_inserted} inserted, {result.rows_skipped} skipped")
    else:
        settings = config.load()
        staging_dir = settings.landing_dir / "postgres"
        for result in load_shop_from_postgres(settings.warehouse_path, args.dsn, staging_dir):
            print(
                f"{result.table}: {result.rows_loaded} loaded, "
                f"{result.rows_quarantined} quarantined ({result.batch_id})"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
