"""The CRM export: one record per person, a second record for some, and the usual mess.

About 3% of people were entered twice (a second customer id, the email in another spelling,
the phone in another format, fields missing); some records are exported twice verbatim;
optional fields are missing or typed in other formats. The primary record's id is the one
the shop and the web login use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from demo_data import dirt, formats, geography, identity
from demo_data.catalog import CATEGORIES
from demo_data.formats import DAY_S
from demo_data.identity import People
from demo_data.timeline import Timeline
from demo_data.writers import Part
from extract_load.sources import SOURCES_BY_TABLE

CUSTOMERS = SOURCES_BY_TABLE["crm__customers"]
GENDERS = ("f", "m", "x")
CHANNELS = ("email", "sms", "app", "post")
MISSING_CHANNEL = 0.20
MISSING_INTERESTS = 0.30
MISSING_LOYALTY_ID = 0.05  # card holders whose card number was never typed into the CRM


@dataclass
class CrmRows:
    """Who each written row belongs to and which identifiers it shows (for the truth)."""

    part: Part
    n_second: int  # second records written (their ids are used up)
    person: np.ndarray  # per row: the person (chunk index)
    second: np.ndarray  # per row: a second record rather than the primary one
    second_number: np.ndarray  # per row: the second record's id number (0 for primaries)
    has_id: np.ndarray
    has_email: np.ndarray
    has_phone: np.ndarray
    has_loyalty: np.ndarray


def crm_part(
    rng: np.random.Generator,
    people: People,
    timeline: Timeline,
    first_second_number: int,
    id_width: int,
    ledger: dirt.DirtLedger,
    first_chunk: bool,
) -> CrmRows:
    """customers.csv rows for the chunk's people, with the CRM dirt planted and counted."""
    n = len(people)
    name = CUSTOMERS.table
    twice = np.flatnonzero(rng.random(n) < dirt.RATES["second_crm_record"])
    person = np.concatenate([np.arange(n), twice])
    rows = len(person)
    is_second = np.arange(rows) >= n
    second_number = np.where(is_second, first_second_number + np.arange(rows) - n, 0)

    customer_id = formats.replace_where(
        people.customer_id.take(pa.array(person)),
        is_second,
        formats.ids("C", second_number[is_second], id_width),
    )
    clean_email = people.email.take(pa.array(person))
    email, messy = identity.messy_emails(
        rng, clean_email, dirt.RATES["email_mixed_case_or_spaces_crm"]
    )
    # A second record always spells the email differently from how it was typed the first time.
    forced, _ = identity.messy_emails(rng, clean_email, 1.0)
    first_spelling = pa.concat_arrays([email.slice(0, n), email.take(pa.array(twice))])
    clash = is_second & np.asarray(pc.equal(forced, first_spelling))
    forced = formats.replace_where(
        forced, clash, formats.join(" ", pc.utf8_upper(clean_email), " ")
    )
    email = formats.replace_where(email, is_second, forced)
    messy = np.where(is_second, True, messy)

    style = identity.pick_phone_style(rng, rows)
    primary_style = style[:n]
    n_formats = len(identity.PHONE_FORMATS)
    style[n:] = (primary_style[twice] + rng.integers(1, n_formats, len(twice))) % n_formats
    phone = identity.phone_numbers(people.number[person], people.country[person], style)

    missing = {
        "phone": rng.random(rows) < np.where(is_second, 0.30, dirt.RATES["missing_phone"]),
        "email": rng.random(rows) < np.where(is_second, 0.20, dirt.RATES["missing_email"]),
        "birth_date": rng.random(rows)
        < np.where(is_second, 0.50, dirt.RATES["missing_birth_date"]),
        "gender": rng.random(rows) < np.where(is_second, 0.50, dirt.RATES["missing_gender"]),
    }
    birth_day = people.birth_day[person]
    dmy = ~missing["birth_date"] & (rng.random(rows) < dirt.RATES["birth_date_dd_mm_yyyy"])
    birth_date = formats.replace_where(
        formats.date_iso(birth_day), dmy, formats.date_dmy(birth_day)
    )
    gender = formats.pick(GENDERS, people.gender[person])
    upper_gender = ~missing["gender"] & (rng.random(rows) < 0.03)
    gender = formats.replace_where(gender, upper_gender, pc.utf8_upper(gender))

    country = people.country[person]
    city_names = [c for spec in geography.COUNTRIES for c in spec.cities]
    city_base = np.cumsum([0, *(len(spec.cities) for spec in geography.COUNTRIES)])[:-1]
    signup_s = np.where(
        is_second,
        np.minimum(
            people.signup_s[person] + rng.integers(30 * DAY_S, 400 * DAY_S, rows),
            timeline.end_s - DAY_S,
        ),
        people.signup_s[person],
    )
    updated_s = signup_s + (rng.random(rows) * (timeline.end_s - signup_s)).astype(np.int64)
    has_loyalty = ~is_second & people.has_card[person] & (rng.random(rows) >= MISSING_LOYALTY_ID)
    favourites = people.favourites[person]
    interests = formats.join(
        formats.pick(CATEGORIES, favourites[:, 0]), ";", formats.pick(CATEGORIES, favourites[:, 1])
    )
    no_interests = is_second | (rng.random(rows) < MISSING_INTERESTS)
    no_channel = is_second | (rng.random(rows) < MISSING_CHANNEL)
    base = pa.table(
        {
            "customer_id": customer_id,
            "first_name": pc.utf8_capitalize(
                formats.pick(geography.FIRST_NAMES, people.first_name[person])
            ),
            "last_name": pc.utf8_capitalize(
                formats.pick(geography.LAST_NAMES, people.last_name[person])
            ),
            "email": formats.null_where(email, missing["email"]),
            "phone": formats.null_where(phone, missing["phone"]),
            "birth_date": formats.null_where(birth_date, missing["birth_date"]),
            "gender": formats.null_where(gender, missing["gender"]),
            "city": formats.pick(city_names, city_base[country] + people.city[person]),
            "country": formats.pick(geography.CODES, country),
            "signup_date": formats.date_iso(signup_s // DAY_S),
            "loyalty_id": formats.null_where(
                people.loyalty_id.take(pa.array(person)), ~has_loyalty
            ),
            "preferred_channel": formats.null_where(
                formats.pick(CHANNELS, rng.choice(4, size=rows, p=[0.55, 0.15, 0.2, 0.1])),
                no_channel,
            ),
            "interests": formats.null_where(interests, no_interests),
            "updated_at": formats.ts_utc(updated_s),
        }
    )
    take, in_pair = dirt.duplicate(rng, rows, dirt.RATES["duplicate_crm_rows"])
    table = base.take(pa.array(take))
    ledger.add(name, "second_crm_record", len(twice))  # records, not lines
    ledger.add(name, "duplicate_rows", int(in_pair.sum()) // 2)
    for kind, mask in (
        ("missing_phone", missing["phone"]),
        ("missing_email", missing["email"]),
        ("missing_birth_date", missing["birth_date"]),
        ("birth_date_dd_mm_yyyy", dmy),
    ):
        ledger.add(name, kind, int(mask[take].sum()))
    ledger.add(name, "email_mixed_case_or_spaces", int((messy & ~missing["email"])[take].sum()))
    phone_formatted = ~missing["phone"] & (style != identity.PHONE_FORMATS.index("+{cc}{P}{S}"))
    ledger.add(name, "phone_not_e164", int(phone_formatted[take].sum()))
    at_least = int(first_chunk)
    eligible = ~in_pair
    plants = (
        ("empty_customer_id", "customer_id", None),
        ("bad_updated_at", "updated_at", "not a date"),
    )
    table = dirt.plant_bad_values(rng, table, plants, eligible, at_least, ledger, name)
    part = Part(table)
    dirt.plant_malformed(rng, part, eligible, at_least, ledger, name, ())
    person_rows = person[take]
    return CrmRows(
        part=part,
        n_second=len(twice),
        person=person_rows,
        second=is_second[take],
        second_number=second_number[take],
        has_id=np.asarray(table.column("customer_id").is_valid()),
        has_email=~missing["email"][take],
        has_phone=~missing["phone"][take],
        has_loyalty=has_loyalty[take],
    )
