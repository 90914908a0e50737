"""Audience exports: consent honoured per destination, hashes as ad platforms compute them,
erasure and withdrawal reaching the next export, deltas that add up."""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from activation.destinations import DESTINATIONS, REMOVAL_KEYS
from tests.activation.conftest import copy_warehouse
from tests.conftest import AS_OF

FOLDERS = [(d, a) for d in DESTINATIONS for a in d.audiences]
# After the as-of date's midnight: only an export that reads consent "now" sees these.
LATER = "2026-11-25 08:00:00Z"


def _files(exports_dir: Path, destination: str, audience: str) -> dict[str, pd.DataFrame]:
    folder = exports_dir / destination / audience
    frames = {}
    for name in ("members", "added", "removed"):
        frame = pd.read_parquet(folder / f"{name}.parquet")
        from_csv = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
        # CSV and Parquet hold the same rows.
        assert sorted(from_csv["person_id"]) == sorted(frame["person_id"]), (folder, name)
        frames[name] = frame
    return frames


def _text(value: object) -> str | None:
    """A frame's value as text, None for a missing one (pandas reads nulls as NaN)."""
    return value if isinstance(value, str) else None


def _sha256(value: object) -> str | None:
    text = _text(value)
    return None if text is None else hashlib.sha256(text.encode()).hexdigest()


def _granted_from_landing(settings, con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """Reference: who has each purpose granted, from the landing zone's consent files and the
    identity map, in pandas (latest change per person and purpose; a withdrawal wins a tie)."""
    changes = pd.concat(
        pd.read_csv(path, dtype=str)
        for path in sorted(settings.landing_dir.glob("consent/consents*.csv"))
    )
    changes["email"] = changes["email"].str.strip().str.lower()
    changes["status"] = changes["status"].str.strip().str.lower()
    changes["purpose"] = changes["purpose"].str.strip().str.lower()
    changes["recorded_at"] = pd.to_datetime(changes["recorded_at"], utc=True, errors="coerce")
    ids = con.execute(
        "select identifier_type, identifier_value, person_id from marts.person_identifiers "
        "where identifier_type in ('crm_id', 'email')"
    ).df()
    by_crm = ids[ids.identifier_type == "crm_id"].set_index("identifier_value")["person_id"]
    by_email = ids[ids.identifier_type == "email"].set_index("identifier_value")["person_id"]
    changes["person_id"] = changes["customer_id"].str.strip().map(by_crm)
    changes["person_id"] = changes["person_id"].fillna(changes["email"].map(by_email))
    changes = changes.dropna(subset=["person_id", "recorded_at"])
    changes["withdrawn_first"] = (changes["status"] != "withdrawn").astype(int)
    latest = changes.sort_values(["recorded_at", "withdrawn_first"], ascending=[False, True])
    latest = latest.drop_duplicates(["person_id", "purpose"])
    granted = latest[latest.status == "granted"]
    return {p: set(granted[granted.purpose == p].person_id) for p in granted.purpose.unique()}


def test_every_export_holds_exactly_the_consented_audience(activated_settings):
    settings = activated_settings
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        granted = _granted_from_landing(settings, con)
        erased = {
            r[0]
            for r in con.execute(
                "select person_id from marts.dim_customers where is_erased"
            ).fetchall()
        }
        assert erased, "the demo data plants erasure requests"
        for destination, audience in FOLDERS:
            members = set(
                _files(settings.exports_dir, destination.name, audience)["members"].person_id
            )
            required = " or ".join(f"c.{c} is not null" for c in destination.requires_any)
            in_audience = {
                r[0]
                for r in con.execute(
                    f"select a.person_id from activation.audience_{audience} as a "
                    f"join activation.customer_360 as c using (person_id) where {required}"
                ).fetchall()
            }
            assert members, (destination.name, audience)
            assert members <= granted[destination.purpose], "someone without consent exported"
            assert members == in_audience & granted[destination.purpose]
            assert not members & erased


def test_ad_platform_hashes_match_a_reference_computation(activated_settings):
    settings = activated_settings
    truth = pd.read_parquet(settings.truth_dir / "identifiers.parquet")
    true_hashes = {
        kind: {_sha256(v) for v in truth[truth.identifier_type == kind].identifier_value}
        for kind in ("email", "phone")
    }
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        people = con.execute("select person_id, email, phone from activation.customer_360").df()
    people = people.set_index("person_id")
    checked = 0
    for audience in ("win_back", "vip_early_access"):
        frames = _files(settings.exports_dir, "ad_platform", audience)
        members = frames["members"]
        assert set(members.columns) == {"person_id", "email_sha256", "phone_sha256", "country_code"}
        for row in members.itertuples():
            email, phone = people.loc[row.person_id, ["email", "phone"]]
            email_hash, phone_hash = _text(row.email_sha256), _text(row.phone_sha256)
            assert email_hash == _sha256(email)
            assert phone_hash == _sha256(phone)
            if _text(phone):
                assert re.fullmatch(r"\+[1-9]\d{6,14}", phone), "hashed phones are E.164"
            # Normalised the way the generator's truth is (lower-cased, trimmed; E.164).
            assert email_hash is None or email_hash in true_hashes["email"]
            assert phone_hash is None or phone_hash in true_hashes["phone"]
            checked += 1
        # No raw identifier anywhere in an ad platform's files.
        for path in (settings.exports_dir / "ad_platform" / audience).glob("*.csv"):
            text = path.read_text()
            assert "@" not in text and not re.search(r"\+\d{7,15}", text), path
    assert checked > 50


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_withdrawal_grant_and_erasure_reach_the_next_export(
    activated_settings, tmp_path, monkeypatch: pytest.MonkeyPatch
):
    from pipeline import stages
    from pipeline.dbt_runner import run_dbt

    settings = copy_warehouse(activated_settings, monkeypatch, tmp_path / "data")
    before = {(d.name, a): _files(settings.exports_dir, d.name, a)["members"] for d, a in FOLDERS}
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        c360 = con.execute("select * from activation.customer_360").df().set_index("person_id")
    vip_ads = before[("ad_platform", "vip_early_access")].person_id
    with_crm = c360[c360.customer_id.notna() & c360.email.notna()]
    withdrawn = next(p for p in vip_ads if p in with_crm.index)
    erased = next(
        p
        for p in before[("email_tool", "win_back")].person_id
        if p in with_crm.index and p != withdrawn
    )
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        vip = {
            r[0]
            for r in con.execute(
                "select person_id from activation.audience_vip_early_access"
            ).fetchall()
        }
    granted = next(
        p
        for p in sorted(vip - set(vip_ads))
        if p in with_crm.index and p not in (withdrawn, erased)
    )
    consent_dir = settings.landing_dir / "consent"
    (consent_dir / "consents_late.csv").write_text(
        '"customer_id","email","purpose","status","recorded_at"\n'
        f'"{c360.customer_id[withdrawn]}","","ad_targeting","withdrawn","{LATER}"\n'
        f'"{c360.customer_id[granted]}","","ad_targeting","granted","{LATER}"\n'
    )
    (consent_dir / "erasure_requests_late.csv").write_text(
        '"request_id","customer_id","email","requested_at"\n'
        f'"R-LATE-1","{c360.customer_id[erased]}","","{LATER}"\n'
    )
    erased_email = c360.email[erased]
    stages.load_source("late", "consent__consents")
    stages.load_source("late", "consent__erasure_requests")
    staging = ["stg_consent__consents", "stg_consent__erasure_requests"]
    run_dbt(
        settings, ["build", "--select", *staging, "dim_customers", "path:models/activation"], AS_OF
    )
    stages.quality_gate("late", "activation", AS_OF)
    stages.export_audiences("late")

    after = {(d.name, a): _files(settings.exports_dir, d.name, a) for d, a in FOLDERS}
    ads_vip = after[("ad_platform", "vip_early_access")]
    assert withdrawn not in set(ads_vip["members"].person_id)
    assert withdrawn in set(ads_vip["removed"].person_id)
    assert granted in set(ads_vip["added"].person_id)
    assert list(ads_vip["removed"].columns) == ["person_id", *REMOVAL_KEYS]

    for key, files in after.items():
        previous, members = set(before[key].person_id), set(files["members"].person_id)
        added, removed = set(files["added"].person_id), set(files["removed"].person_id)
        # The deltas add up: previous + added - removed = members, with no overlap.
        assert (previous | added) - removed == members, key
        assert not added & previous and removed <= previous, key
        assert len(previous) + len(added) - len(removed) == len(members), key
        assert erased not in members
        assert (erased in previous) == (erased in removed), key
    assert any(erased in set(f["removed"].person_id) for f in after.values())

    # Erased: no file keeps their email, the snapshot no longer holds them.
    for path in settings.exports_dir.rglob("*.csv"):
        assert erased_email not in path.read_text(), path
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        [(kept,)] = con.execute(
            "select count(*) from exports.audience_members where person_id = ?", [erased]
        ).fetchall()
    assert kept == 0

    # Re-running with nothing changed sends nothing and keeps the same members.
    stages.export_audiences("again")
    for key in after:
        again = _files(settings.exports_dir, *key)
        assert again["added"].empty and again["removed"].empty, key
        assert sorted(again["members"].person_id) == sorted(after[key]["members"].person_id)


def test_exporting_an_unknown_audience_names_the_known_ones(settings, capsys):
    from pipeline.cli import main

    assert main(["export", "--audience", "winback"]) == 2
    error = capsys.readouterr().err
    assert "'winback'" in error and "win_back" in error
