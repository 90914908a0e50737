"""The segment lookup, served for real: uvicorn in a child process on a free localhost port,
over a copy of a fully built warehouse (one test writes to it), queried with httpx.

Answers are checked against the warehouse itself, read here read-only: the same person by
every identifier, the scores and audiences the activation tables hold, nobody for unknown or
erased identifiers. The last tests show the service holds no lock on the file and reloads it
after a write, keeping its old snapshot while the writer still holds the file.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import httpx
import pytest

from activation.lookup import (
    IdentifierType,
    InvalidIdentifier,
    SegmentStore,
    WarehouseNotReady,
    create_app,
    normalise,
    serve,
)
from tests.conftest import REPO

TOKEN = "test-token-not-a-secret"
RELOAD_SECONDS = 0.3
PATH = "/v1/customers/{identifier_type}/{identifier_value}"
AUDIENCES = "activation.audience_win_back", "activation.audience_vip_early_access"
AUDIENCES += ("activation.audience_onboarding",)


def _query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _spaced(phone: str) -> str:
    """+34612345678 as a person types it: +34 (612) 345-67.8"""
    return f"{phone[:3]} ({phone[3:6]}) {phone[6:9]}-{phone[9:11]}.{phone[11:]}"


@pytest.fixture(scope="module")
def warehouse(activated_settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the built warehouse, so that writing to it disturbs no other test."""
    copy = tmp_path_factory.mktemp("lookup") / "warehouse.duckdb"
    shutil.copyfile(activated_settings.warehouse_path, copy)
    return copy


@pytest.fixture(scope="module")
def people(warehouse: Path) -> dict[str, dict]:
    """A sample of people known by email, phone and crm_id, with what customer_360 and the
    audience tables say of them: a few from each audience, a few in none."""
    members = " union all ".join(f"select person_id, audience from {table}" for table in AUDIENCES)
    rows = _query(
        warehouse,
        f"""
        with ids as (
            select person_id,
                max(identifier_value) filter (identifier_type = 'email') as email,
                max(identifier_value) filter (identifier_type = 'phone') as phone,
                max(identifier_value) filter (identifier_type = 'crm_id') as crm_id,
            from marts.person_identifiers
            group by person_id
        ),
        memberships as (
            select person_id, list(audience order by audience) as audiences,
            from ({members})
            group by person_id
        ),
        candidates as (
            select customers.person_id, ids.email, ids.phone, ids.crm_id,
                customers.segment_name, customers.p_purchase_30d,
                coalesce(memberships.audiences, []) as audiences,
            from activation.customer_360 as customers
            inner join ids using (person_id)
            left join memberships using (person_id)
            where ids.email is not null and ids.phone is not null and ids.crm_id is not null
        )
        select * from candidates
        qualify row_number() over (partition by audiences[1] order by person_id) <= 4
        """,
    )
    names = ["person_id", "email", "phone", "crm_id", "segment_name", "p_purchase_30d"]
    sample = {row[0]: dict(zip([*names, "audiences"], row, strict=True)) for row in rows}
    assert len(sample) >= 8, "too few people known by email, phone and crm_id"
    assert {audience for person in sample.values() for audience in person["audiences"]} == {
        "win_back",
        "vip_early_access",
        "onboarding",
    }
    return sample


@pytest.fixture(scope="module")
def service(activated_settings, warehouse: Path, tmp_path_factory) -> Iterator[str]:
    """The service's base URL, run as an operator would: `segments serve`."""
    port = _free_port()
    env = os.environ | activated_settings.as_env()
    env |= {"SEGMENTS_WAREHOUSE": str(warehouse), "SEGMENTS_API_TOKEN": TOKEN}
    log_path = tmp_path_factory.mktemp("lookup-log") / "service.log"
    command = [sys.executable, "-m", "pipeline.cli", "serve", "--port", str(port)]
    command += ["--reload-seconds", str(RELOAD_SECONDS)]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"the service exited ({process.returncode}):\n{log_path.read_text()}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the service did not answer in 60 s:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def client(service: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=service, headers=headers, timeout=10) as http:
        yield http


def _lookup(client: httpx.Client, identifier_type: str, value: str) -> httpx.Response:
    return client.get(PATH.format(identifier_type=identifier_type, identifier_value=value))


def test_every_identifier_finds_the_person_with_the_warehouse_scores(client, people):
    for person_id, person in people.items():
        answers = {
            "person_id": _lookup(client, "person_id", person_id),
            "email": _lookup(client, "email", f"  {person['email'].upper()} "),
            "phone": _lookup(client, "phone", _spaced(person["phone"])),
            "crm_id": _lookup(client, "crm_id", person["crm_id"]),
        }
        for by, response in answers.items():
            assert response.status_code == 200, (by, response.text)
            assert response.json() == answers["person_id"].json(), by
        body = answers["person_id"].json()
        assert body["person_id"] == person_id
        assert body["segment_name"] == person["segment_name"]
        assert body["p_purchase_30d"] == pytest.approx(person["p_purchase_30d"])
        assert body["audiences"] == person["audiences"]
        assert {"consents", "model_versions", "as_of_date", "p_churn"} <= body.keys()
        # No raw PII comes back, only the scores.
        text = answers["email"].text
        assert person["email"] not in text and person["phone"] not in text
        assert not {"email", "phone", "first_name", "last_name", "city"} & body.keys()


def test_the_other_identifier_types_find_their_person(client, warehouse):
    rows = _query(
        warehouse,
        """
        select identifier_type, identifier_value, person_id
        from marts.person_identifiers
        where identifier_type in ('user_id', 'anonymous_id', 'loyalty_id')
            and person_id in (select person_id from activation.customer_360)
        qualify row_number() over (partition by identifier_type order by identifier_value) <= 3
        """,
    )
    assert {row[0] for row in rows} == {"user_id", "anonymous_id", "loyalty_id"}
    for identifier_type, value, person_id in rows:
        response = _lookup(client, identifier_type, value)
        assert response.status_code == 200, response.text
        assert response.json()["person_id"] == person_id


def test_an_unknown_identifier_is_404(client):
    response = _lookup(client, "email", "Nobody@Example.invalid")
    assert response.status_code == 404
    assert response.json() == {"detail": "no customer with email nobody@example.invalid"}
    assert _lookup(client, "person_id", "P-no-such-person").status_code == 404
    assert _lookup(client, "phone", "+999 1234567").status_code == 404


def test_an_erased_person_is_not_found_by_any_identifier(client, warehouse):
    # Erased people leave customer_360 but their identifiers stay in the identity graph.
    rows = _query(
        warehouse,
        """
        select identifier_type, identifier_value, person_id,
        from marts.person_identifiers
        where person_id in (select person_id from marts.dim_customers where is_erased)
            or person_id not in (select person_id from activation.customer_360)
        """,
    )
    if not rows:
        pytest.skip("no erased person at this demo scale")
    assert "email" in {row[0] for row in rows}
    for identifier_type, value, person_id in rows:
        assert _lookup(client, identifier_type, value).status_code == 404, identifier_type
        assert _lookup(client, "person_id", person_id).status_code == 404


def test_bad_input_is_422(client, people):
    response = _lookup(client, "shoe_size", "42")
    assert response.status_code == 422
    for phone in ["0612345678", "+0612345678", "+34 612 abc 678", "+12345"]:
        response = _lookup(client, "phone", phone)
        assert response.status_code == 422, phone
        assert "E.164" in response.json()["detail"]


def test_v1_needs_the_token(service, people):
    path = PATH.format(identifier_type="person_id", identifier_value=next(iter(people)))
    for headers in [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}]:
        response = httpx.get(f"{service}{path}", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert httpx.get(f"{service}/health").status_code == 200  # for probes: no token


def test_openapi_documents_the_lookup(service):
    spec = httpx.get(f"{service}/openapi.json").json()
    assert spec["info"]["title"] and spec["info"]["version"]
    assert PATH in spec["paths"]
    parameters = {p["name"]: p for p in spec["paths"][PATH]["get"]["parameters"]}
    reference = parameters["identifier_type"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert spec["components"]["schemas"][reference]["enum"] == [
        *("person_id", "email", "phone", "crm_id", "user_id", "anonymous_id", "loyalty_id")
    ]
    assert {"CustomerSegments", "Health"} <= spec["components"]["schemas"].keys()
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert httpx.get(f"{service}/docs").status_code == 200


def test_the_service_holds_no_lock_and_reloads_after_a_write(client, warehouse):
    before = client.get("/health").json()
    assert before["status"] == "ok" and before["customers"] > 0
    # The pipeline can write while the service runs: it holds no lock on the file.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists scratch")
        con.execute("create or replace table scratch.lookup_touch as select 1 as touched")
        con.execute("checkpoint")  # into the file itself: its mtime moves now
        # While the writer holds the file the reload fails: the old snapshot keeps answering.
        health = _wait_for(client, lambda body: body["status"] == "stale")
        assert health["loaded_at"] == before["loaded_at"]
        assert client.get("/v1/customers/email/nobody@example.invalid").status_code == 404
        person_id = con.execute("select min(person_id) from activation.customer_360").fetchone()
        assert _lookup(client, "person_id", person_id[0]).status_code == 200
    after = _wait_for(client, lambda body: body["loaded_at"] != before["loaded_at"])
    assert after["status"] == "ok"
    assert after["loaded_at"] > before["loaded_at"]
    assert after["customers"] == before["customers"]


def _wait_for(client: httpx.Client, condition, seconds: float = 20) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        body = client.get("/health").json()
        if condition(body):
            return body
        assert time.monotonic() < deadline, f"/health never changed as expected: {body}"
        time.sleep(RELOAD_SECONDS / 2)


# In process: start-up refusals, normalisation, the snapshot's rules.


def test_refuses_to_start_without_a_token_or_a_built_warehouse(activated_settings, tmp_path):
    with pytest.raises(ValueError, match="token"):
        create_app(activated_settings.warehouse_path, "")
    with pytest.raises(ValueError, match="SEGMENTS_API_TOKEN"):
        serve(replace(activated_settings, api_token=None))
    with pytest.raises(WarehouseNotReady, match="segments run"):
        create_app(tmp_path / "missing.duckdb", TOKEN)
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(WarehouseNotReady, match=r"activation\.customer_360.*segments run"):
        create_app(empty, TOKEN)


@pytest.mark.parametrize(
    ("identifier_type", "value", "expected"),
    [
        (IdentifierType.email, "  Ana.Lopez@Mail.COM ", "ana.lopez@mail.com"),
        (IdentifierType.phone, "+34 612-345-678", "+34612345678"),
        (IdentifierType.phone, "+1 (415) 555.0100", "+14155550100"),
        (IdentifierType.crm_id, " C0000172 ", "C0000172"),
    ],
)
def test_normalise(identifier_type, value, expected):
    assert normalise(identifier_type, value) == expected


@pytest.mark.parametrize("phone", ["612345678", "+0612345678", "+34", "+34612345678901234"])
def test_normalise_refuses_a_phone_not_in_e164(phone):
    with pytest.raises(InvalidIdentifier, match=r"E\.164"):
        normalise(IdentifierType.phone, phone)


def test_an_identifier_of_two_people_finds_neither_and_new_audiences_appear(warehouse, tmp_path):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        first, second = (
            row[0]
            for row in con.execute(
                "select person_id from activation.customer_360 order by person_id limit 2"
            ).fetchall()
        )
        con.execute(
            "insert into marts.person_identifiers (identifier_type, identifier_value, person_id)"
            " values ('email', 'shared@example.com', ?), ('email', 'shared@example.com', ?)",
            [first, second],
        )
        con.execute(
            "create table activation.audience_test as select ? as person_id, 'test' as audience",
            [first],
        )
    store = SegmentStore(copy)
    assert store.lookup(IdentifierType.email, "shared@example.com") is None
    assert "test" in store.lookup(IdentifierType.person_id, first).audiences
