"""The segment lookup: a small HTTP service answering "segments and scores of this customer" by
any of their identifiers, for real-time personalisation (a web shop, an app, a call centre).

DuckDB lets one process write a file, or any number read it, never both: a service that kept
the warehouse open would block the pipeline's writes. So the service opens the file read-only
only long enough to copy what a lookup needs into an in-memory DuckDB database, closes it, and
serves from memory. A background thread looks at the file's modification time every
`reload_seconds` and reloads once the file has changed and then stayed quiet that long: a
pipeline run writes the file task after task, and a copy taken between two of its tasks would
lock the next one out and mix two runs. While the pipeline holds the file (the copy cannot open
it) the service keeps answering from its snapshot, says `stale` on `/health` and tries again on
the next check.

What it serves is `activation.customer_360` less its raw PII (names, email, phone, city): the
scores a personalisation acts on, the consents it must respect and the audiences the person is
in. People with an erasure request are not in `customer_360`, so their identifiers answer 404
like unknown ones. Identifiers are kept only as SHA-256 hashes of their normalised values: a
memory dump of the service holds no email address or phone number.

Run it with `segments serve [--host H] [--port P] [--reload-seconds S]`; callers
send `Authorization: Bearer $SEGMENTS_API_TOKEN`. OpenAPI at `/openapi.json`, docs at `/docs`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import duckdb
from fastapi import APIRouter, Depends, FastAPI, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from pipeline.settings import Settings

log = logging.getLogger(__name__)

API_VERSION = "1.0.0"
RELOAD_SECONDS = 60.0
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
PHONE_PUNCTUATION = re.compile(r"[\s\-.()]")


class IdentifierType(StrEnum):
    """What a caller may look a customer up by: the warehouse's person key, or any identifier
    the identity graph (`marts.person_identifiers`) stitched to the person."""

    person_id = "person_id"
    email = "email"
    phone = "phone"
    crm_id = "crm_id"
    user_id = "user_id"
    anonymous_id = "anonymous_id"
    loyalty_id = "loyalty_id"


class InvalidIdentifier(ValueError):
    """An identifier that cannot be anyone's, whatever the warehouse holds (answered 422)."""


class WarehouseNotReady(RuntimeError):
    """The warehouse is missing, unbuilt or locked: nothing to serve yet."""


def normalise(identifier_type: IdentifierType, value: str) -> str:
    """The identifier as the warehouse stores it, so that `Ana@Mail.com ` or `+34 612-345-678`
    find the person the pipeline normalised to `ana@mail.com` and `+34612345678`."""
    value = value.strip()
    if identifier_type is IdentifierType.email:
        return value.lower()
    if identifier_type is IdentifierType.phone:
        phone = PHONE_PUNCTUATION.sub("", value)
        if not E164.match(phone):
            raise InvalidIdentifier(
                f"phone {value!r} is not an E.164 number: expected + then the country code and "
                "number, 7 to 15 digits, e.g. +34612345678 (spaces, dashes, dots and "
                "parentheses are ignored)"
            )
        return phone
    return value


def identifier_key(identifier_type: IdentifierType, value: str) -> bytes:
    """The key the snapshot indexes an identifier by: the first 16 bytes of the SHA-256 of
    type and value: half the index of the whole hash, and still no collision in reach."""
    return hashlib.sha256(f"{identifier_type.value}:{value}".encode()).digest()[:16]


# The same in DuckDB.
_KEY_SQL = "unhex(left(sha256(identifier_type || ':' || identifier_value), 32))"


# The responses: pydantic models, so that OpenAPI documents every field.


class Consents(BaseModel):
    """The latest consent the warehouse holds: personalise a channel only where it is granted."""

    email_marketing: bool | None = Field(description="email marketing may be sent")
    ad_targeting: bool | None = Field(description="may be targeted in paid advertising")


class ModelVersions(BaseModel):
    """Which trained models produced the scores, to tie a decision to the model behind it."""

    segment: str | None
    propensity: str | None
    value: str | None


class CustomerSegments(BaseModel):
    """A person's segments and scores as of the warehouse's latest run (no raw PII)."""

    person_id: str = Field(description="the warehouse's key for the person")
    as_of_date: date = Field(description="the pipeline run the scores come from")
    segment_id: int | None = Field(description="behavioural cluster of the segment model")
    segment_name: str | None
    lifecycle_stage: str | None = Field(description="e.g. prospect, new, active, dormant")
    rfm_segment: str | None
    r_score: int | None = Field(description="recency score, 1 (worst) to 5")
    f_score: int | None = Field(description="frequency score, 1 (worst) to 5")
    m_score: int | None = Field(description="monetary score, 1 (worst) to 5")
    p_purchase_30d: float | None = Field(description="probability of a purchase in 30 days")
    p_churn: float | None = Field(description="probability of churn; null if never bought")
    purchase_decile: int | None = Field(description="decile of p_purchase_30d, 1 = highest")
    predicted_value_12m: float | None = Field(description="predicted spend in 12 months")
    value_decile: int | None = Field(description="decile of predicted_value_12m, 1 = highest")
    top_category: str | None
    preferred_channel: str | None
    preferred_device: str | None
    consents: Consents
    audiences: list[str] = Field(description="the activation audiences the person is in")
    model_versions: ModelVersions


class Health(BaseModel):
    """What the service serves: `stale` when the warehouse changed but could not be reloaded
    (the pipeline held it); answers keep coming from the snapshot of `loaded_at`."""

    status: Literal["ok", "stale"]
    as_of_date: date | None
    customers: int
    loaded_at: datetime
    warehouse_modified_at: datetime


class Problem(BaseModel):
    detail: str


# The snapshot: the lookup data copied into memory.

_CUSTOMER_COLUMNS = """
    person_id, as_of_date, segment_id, segment_name, lifecycle_stage, rfm_segment,
    r_score, f_score, m_score, p_purchase_30d, p_churn, purchase_decile,
    predicted_value_12m, value_decile, top_category, preferred_channel, preferred_device,
    has_email_marketing_consent, has_ad_targeting_consent,
    segment_model_version, propensity_model_version, value_model_version
"""


@dataclass(frozen=True)
class Snapshot:
    """One load of the warehouse. Never changed after the load: a reload builds a new one and
    swaps it in, and the old one is freed once the last request using it has finished."""

    db: duckdb.DuckDBPyConnection
    as_of_date: date | None
    customers: int
    loaded_at: datetime
    version: int  # the warehouse files' latest mtime (ns) when loaded


def _version(warehouse_path: Path) -> int:
    """The latest modification time (ns) of the warehouse and of its write-ahead log: a
    checkpoint changes the first, a commit not yet checkpointed only the second."""
    wal = warehouse_path.with_name(warehouse_path.name + ".wal")
    return max(path.stat().st_mtime_ns for path in (warehouse_path, wal) if path.exists())


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def load_snapshot(warehouse_path: Path) -> Snapshot:
    """Copy the lookup data from the warehouse, opened read-only for the copy only.

    The warehouse is attached to a new in-memory database rather than connected to, so the
    copy is a few `create table ... as select` inside DuckDB (nothing goes through Python).
    Only the plain copy happens while the file is attached: hashing, de-duplicating and
    indexing come after the detach, so the pipeline is locked out for as short as can be
    (a quarter of a second for 100,000 customers, of a load of about three).
    """
    if not warehouse_path.exists():
        raise WarehouseNotReady(
            f"no warehouse at {warehouse_path}: run the pipeline (`segments run`) first"
        )
    version = _version(warehouse_path)
    db = duckdb.connect(":memory:")
    try:
        db.execute("set enable_progress_bar = false")  # a large copy would draw one on stdout
        # Compressed: an in-memory database is not by default, and the snapshot's categories
        # (segment names, model versions) shrink several times over.
        db.execute("attach ':memory:' as snapshot (compress)")
        try:
            db.execute(f"attach {_sql_string(str(warehouse_path))} as warehouse (read_only)")
        except duckdb.Error as error:
            raise WarehouseNotReady(
                f"cannot open {warehouse_path} read-only (is the pipeline writing it?): {error}"
            ) from error
        try:
            _copy(db, warehouse_path)
        finally:
            db.execute("detach warehouse")
        _index(db)
        as_of_date, customers = db.execute(
            "select max(as_of_date), count(*) from snapshot.customers"
        ).fetchone()
    except BaseException:
        db.close()
        raise
    return Snapshot(db, as_of_date, customers, datetime.now(UTC), version)


def _copy(db: duckdb.DuckDBPyConnection, warehouse_path: Path) -> None:
    """Copy customer_360 (less its PII) with each person's audiences, and the identity graph's
    identifiers (to a temporary table, dropped once hashed)."""
    tables = {
        name
        for (name,) in db.execute(
            "select table_name from duckdb_tables() "
            "where database_name = 'warehouse' and schema_name = 'activation'"
        ).fetchall()
    }
    if "customer_360" not in tables:
        raise WarehouseNotReady(
            f"{warehouse_path} has no activation.customer_360: run the pipeline "
            "(`segments run`) to build it"
        )
    # Every audience table there is, so that an audience added to the pipeline shows up
    # without a change here.
    members = " union all ".join(
        f"select person_id, audience from warehouse.activation.{table}"
        for table in sorted(name for name in tables if name.startswith("audience_"))
    )
    db.execute(
        f"""
        create table snapshot.customers as
        with memberships as (
            select person_id, list(distinct audience order by audience) as audiences,
            from ({members or "select null::varchar as person_id, null as audience limit 0"})
            group by person_id
        )
        select {_CUSTOMER_COLUMNS},
            coalesce(memberships.audiences, []::varchar[]) as audiences,
        from warehouse.activation.customer_360
        left join memberships using (person_id)
        """
    )
    types = ", ".join(_sql_string(kind.value) for kind in IdentifierType)
    db.execute(
        f"""
        create temporary table raw_identifiers as
        select identifier_type, identifier_value, person_id,
        from warehouse.marts.person_identifiers
        where identifier_type in ({types})
        """
    )


def _index(db: duckdb.DuckDBPyConnection) -> None:
    """Key both tables for point queries (an ART index each): `customers` by person_id,
    `identifiers` by the hash of type and normalised value.

    Only identifiers of people in customer_360 are kept: an erased person's identifiers stay
    in the identity graph but must find no one. An identifier the graph gives to two people
    is left out rather than answered with either of them.
    """
    db.execute("alter table snapshot.customers add primary key (person_id)")
    db.execute(
        f"""
        create table snapshot.identifiers as
        select {_KEY_SQL} as identifier_key, any_value(person_id) as person_id,
        from raw_identifiers
        where person_id in (select person_id from snapshot.customers)
        group by identifier_key
        having min(person_id) = max(person_id)
        """
    )
    db.execute("drop table raw_identifiers")
    db.execute("alter table snapshot.identifiers add primary key (identifier_key)")


def _customer(row: dict[str, Any]) -> CustomerSegments:
    return CustomerSegments(
        **{name: row[name] for name in CustomerSegments.model_fields if name in row},
        consents=Consents(
            email_marketing=row["has_email_marketing_consent"],
            ad_targeting=row["has_ad_targeting_consent"],
        ),
        model_versions=ModelVersions(
            segment=row["segment_model_version"],
            propensity=row["propensity_model_version"],
            value=row["value_model_version"],
        ),
    )


class SegmentStore:
    """The current snapshot and its reloads.

    Each lookup takes the snapshot in hand once and queries it through its own cursor (a
    DuckDB connection is not safe across threads; cursors of one database are), so a reload
    swapping in a new snapshot never changes an answer half-way.
    """

    def __init__(self, warehouse_path: Path, reload_seconds: float = RELOAD_SECONDS) -> None:
        self.warehouse_path = warehouse_path
        self.reload_seconds = reload_seconds
        self.snapshot = load_snapshot(warehouse_path)  # fail at start, not on the first call
        self.stale = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        log.info(
            "segment lookup: %s customers as of %s from %s",
            self.snapshot.customers,
            self.snapshot.as_of_date,
            warehouse_path,
        )

    def lookup(self, identifier_type: IdentifierType, value: str) -> CustomerSegments | None:
        """The person the (normalised) identifier belongs to, or None if nobody (now)."""
        snapshot = self.snapshot
        cursor = snapshot.db.cursor()
        try:
            if identifier_type is IdentifierType.person_id:
                person_id = value
            else:
                found = cursor.execute(
                    "select person_id from snapshot.identifiers where identifier_key = ?",
                    [identifier_key(identifier_type, value)],
                ).fetchone()
                if found is None:
                    return None
                person_id = found[0]
            result = cursor.execute(
                "select * from snapshot.customers where person_id = ?", [person_id]
            )
            row = result.fetchone()
            if row is None:
                return None
            names = [column[0] for column in result.description]
            return _customer(dict(zip(names, row, strict=True)))
        finally:
            cursor.close()

    def reload_if_changed(self) -> bool:
        """Reload if the warehouse changed since the snapshot and has been quiet for
        `reload_seconds`; on failure keep the snapshot. True if a new snapshot is in."""
        try:
            version = _version(self.warehouse_path)
        except (OSError, ValueError):  # moved away mid-deploy: keep serving
            log.warning("segment lookup: cannot stat %s", self.warehouse_path)
            return False
        quiet_ns = time.time_ns() - version
        if version == self.snapshot.version or quiet_ns < self.reload_seconds * 1e9:
            return False
        try:
            snapshot = load_snapshot(self.warehouse_path)
        except (WarehouseNotReady, duckdb.Error) as error:
            self.stale = True
            log.warning("segment lookup: keeping the snapshot of %s: %s", self.loaded_at, error)
            return False
        self.snapshot, self.stale = snapshot, False
        log.info(
            "segment lookup: reloaded %s customers as of %s",
            snapshot.customers,
            snapshot.as_of_date,
        )
        return True

    @property
    def loaded_at(self) -> datetime:
        return self.snapshot.loaded_at

    def health(self) -> Health:
        snapshot = self.snapshot
        return Health(
            status="stale" if self.stale else "ok",
            as_of_date=snapshot.as_of_date,
            customers=snapshot.customers,
            loaded_at=snapshot.loaded_at,
            warehouse_modified_at=datetime.fromtimestamp(snapshot.version / 1e9, UTC),
        )

    def start(self) -> None:
        """Check for a changed warehouse in the background: no request waits for a reload."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="lookup-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _watch(self) -> None:
        while not self._stop.wait(self.reload_seconds):
            try:
                self.reload_if_changed()
            except Exception:  # a bug here must not end reloads for the process's lifetime
                log.exception("segment lookup: reload check failed")


# The HTTP API.

# Module-level, not inside create_app: with postponed annotations FastAPI resolves a
# dependency's annotations in the module's namespace, where a local would not be found.
Bearer = Annotated[
    HTTPAuthorizationCredentials | None,
    Depends(HTTPBearer(auto_error=False, description="the service's SEGMENTS_API_TOKEN")),
]


class BearerToken:
    """The `/v1` dependency: 401 unless `Authorization: Bearer` carries the service's token,
    compared in constant time so the answer's timing does not leak how much of it matched."""

    def __init__(self, api_token: str) -> None:
        self._expected = api_token.encode()

    def __call__(self, credentials: Bearer) -> None:
        if credentials is None or not secrets.compare_digest(
            credentials.credentials.encode(), self._expected
        ):
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="missing or wrong bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )


DESCRIPTION = """
Segments and scores of one customer, looked up by any of their identifiers, for real-time
personalisation. Answers come from an in-memory copy of the warehouse's
`activation.customer_360`, reloaded after each pipeline run; no names, emails or phone
numbers are returned. People with an erasure request are never found.

Every `/v1` call needs `Authorization: Bearer <token>` (the service's `SEGMENTS_API_TOKEN`).
"""


def create_app(
    warehouse_path: Path, api_token: str, reload_seconds: float = RELOAD_SECONDS
) -> FastAPI:
    """The lookup service for the warehouse at `warehouse_path`. It loads the snapshot now, so
    a missing or unbuilt warehouse fails here rather than on the first call."""
    if not api_token:
        raise ValueError("the segment lookup needs an API token (SEGMENTS_API_TOKEN)")
    store = SegmentStore(Path(warehouse_path), reload_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store.start()
        yield
        store.stop()

    app = FastAPI(
        title="Customer segment lookup",
        description=DESCRIPTION,
        version=API_VERSION,
        lifespan=lifespan,
    )
    app.state.store = store
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(BearerToken(api_token))])

    @v1.get(
        "/customers/{identifier_type}/{identifier_value}",
        response_model=CustomerSegments,
        summary="Segments and scores of a customer",
        responses={
            401: {"model": Problem, "description": "missing or wrong bearer token"},
            404: {"model": Problem, "description": "no customer has this identifier"},
            422: {"description": "unknown identifier type, or a phone number not in E.164"},
        },
    )
    def get_customer(identifier_type: IdentifierType, identifier_value: str) -> CustomerSegments:
        """Look a customer up by any identifier. Emails are matched case-insensitively;
        phones in E.164 (`+34612345678`; spaces, dashes, dots and parentheses are ignored)."""
        try:
            value = normalise(identifier_type, identifier_value)
        except InvalidIdentifier as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
        customer = store.lookup(identifier_type, value)
        if customer is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"no customer with {identifier_type.value} {value}"
            )
        return customer

    app.include_router(v1)

    @app.get("/health", response_model=Health, summary="What the service serves (no token)")
    def health() -> Health:
        return store.health()

    return app


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8000,
    reload_seconds: float = RELOAD_SECONDS,
) -> int:
    """Serve the lookup with uvicorn until stopped; the exit status (1: it could not start,
    e.g. the port was taken).

    The access log is off: request paths carry the emails and phone numbers looked up, and
    a log is no place for them.
    """
    import uvicorn

    if not settings.api_token:
        raise ValueError(
            "SEGMENTS_API_TOKEN is not set: the segment lookup refuses to start without an API "
            "token (set it in the environment, e.g. from a secrets manager)"
        )
    app = create_app(settings.warehouse_path, settings.api_token, reload_seconds)
    log.info("segment lookup on http://%s:%s (docs at /docs)", host, port)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, access_log=False))
    server.run()
    return 0 if server.started else 1
