"""Consent changes and erasure requests: who may be emailed or targeted, who must be forgotten.

Consent is granted at sign-up (per persona), a few people withdraw later, and every email
unsubscribe also lands here as a withdrawal: activation must only use people whose latest
status is granted. Erasure requests name a customer id, an email or both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from demo_data import dirt, formats
from demo_data.formats import DAY_S
from demo_data.identity import People, messy_emails
from demo_data.timeline import Timeline
from demo_data.writers import Part
from extract_load.sources import SOURCES_BY_TABLE

CONSENTS = SOURCES_BY_TABLE["consent__consents"]
ERASURES = SOURCES_BY_TABLE["consent__erasure_requests"]
PURPOSES = ("email_marketing", "ad_targeting")
STATUSES = ("granted", "withdrawn")
WITHDRAW_RATE = (0.03, 0.04)  # per grant and purpose, at a random later time
NEVER = np.iinfo(np.int64).max
# Which identifiers a consent or erasure record names: both, the email only, the id only.
NAMED_BY = (0.80, 0.15, 0.05)


@dataclass
class Consent:
    granted_s: np.ndarray  # (people, purposes): when granted, -1 if never
    withdrawn_s: np.ndarray  # (people, purposes): random withdrawal, NEVER if none
    erasure_s: np.ndarray  # erasure request time, -1 if none


def make_consent(
    rng: np.random.Generator, people: People, timeline: Timeline, first_chunk: bool
) -> Consent:
    n = len(people)
    grants = np.stack([people.email_consent, people.ad_consent], axis=1)
    granted_s = np.where(grants, people.signup_s[:, None] + rng.integers(0, 600, (n, 2)), -1)
    withdraws = grants & (rng.random((n, 2)) < np.array(WITHDRAW_RATE))
    span = np.maximum(timeline.end_s - granted_s, 2)
    withdrawn_s = np.where(
        withdraws, granted_s + (rng.random((n, 2)) * (span - 1)).astype(np.int64) + 1, NEVER
    )
    erased = rng.random(n) < dirt.RATES["erasure_requests"]
    if first_chunk and not erased.any():
        erased[0] = True
    requested = timeline.end_s - rng.integers(DAY_S, 60 * DAY_S, n)
    requested = np.clip(requested, people.signup_s + 3600, timeline.end_s - 1)
    return Consent(granted_s, withdrawn_s, np.where(erased, requested, -1))


def _named(
    rng: np.random.Generator, person: np.ndarray, people: People
) -> tuple[pa.Array, pa.Array, np.ndarray, np.ndarray]:
    """customer_id and email columns for records about these people (one may be missing)."""
    named_by = rng.choice(3, size=len(person), p=NAMED_BY)
    has_id = named_by != 1
    has_email = named_by != 2
    email, _ = messy_emails(
        rng, people.email.take(pa.array(person)), dirt.RATES["email_mixed_case_or_spaces"]
    )
    customer_id = formats.null_where(people.customer_id.take(pa.array(person)), ~has_id)
    return customer_id, formats.null_where(email, ~has_email), has_id, has_email


def consent_part(
    rng: np.random.Generator,
    consent: Consent,
    unsubscribed_s: np.ndarray,
    people: People,
    ledger: dirt.DirtLedger,
    first_chunk: bool,
) -> tuple[Part, np.ndarray, np.ndarray]:
    """consents.csv rows; returns the part and who is named by id / by email."""
    person_parts, purpose_parts, status_parts, time_parts = [], [], [], []
    for purpose in range(2):
        for status, times in (
            (0, consent.granted_s[:, purpose]),
            (1, consent.withdrawn_s[:, purpose]),
        ):
            rows = np.flatnonzero((times >= 0) & (times != NEVER))
            person_parts.append(rows)
            purpose_parts.append(np.full(len(rows), purpose))
            status_parts.append(np.full(len(rows), status))
            time_parts.append(times[rows])
    unsubscribed = np.flatnonzero(unsubscribed_s >= 0)
    person_parts.append(unsubscribed)
    purpose_parts.append(np.zeros(len(unsubscribed), np.int64))
    status_parts.append(np.ones(len(unsubscribed), np.int64))
    time_parts.append(unsubscribed_s[unsubscribed])
    time_s = np.concatenate(time_parts)
    order = np.argsort(time_s, kind="stable")
    person = np.concatenate(person_parts)[order]
    customer_id, email, has_id, has_email = _named(rng, person, people)
    table = pa.table(
        {
            "customer_id": customer_id,
            "email": email,
            "purpose": formats.pick(PURPOSES, np.concatenate(purpose_parts)[order]),
            "status": formats.pick(STATUSES, np.concatenate(status_parts)[order]),
            "recorded_at": formats.ts_utc(time_s[order]),
        }
    )
    name = CONSENTS.table
    ledger.add(name, "unsubscribe_withdrawals", len(unsubscribed))
    ledger.add(name, "email_only", int((~has_id).sum()))
    eligible = np.ones(len(person), dtype=bool)
    part = Part(table)
    dirt.plant_malformed(rng, part, eligible, int(first_chunk), ledger, name, ())
    return part, person[has_id], person[has_email]


def erasure_part(
    rng: np.random.Generator, consent: Consent, people: People, first_number: int
) -> tuple[Part, np.ndarray, np.ndarray]:
    """erasure_requests.csv rows; returns the part and who is named by id / by email."""
    person = np.flatnonzero(consent.erasure_s >= 0)
    person = person[np.argsort(consent.erasure_s[person], kind="stable")]
    customer_id, email, has_id, has_email = _named(rng, person, people)
    table = pa.table(
        {
            "request_id": formats.ids("R", first_number + np.arange(len(person)), 6),
            "customer_id": customer_id,
            "email": email,
            "requested_at": formats.ts_utc(consent.erasure_s[person]),
        }
    )
    return Part(table), person[has_id], person[has_email]
