"""People and the identifiers that point at them: the identity the pipeline has to rebuild.

One hidden person shows up in the files as anonymous web ids (one per device), a user id after
login (their primary CRM id), one or two CRM ids, an email in several spellings, a phone in
several national formats and a loyalty card id. Identifiers are unique by construction (phone
numbers and loyalty ids are bijections of the person number), so the truth can say exactly
which person every identifier belongs to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from demo_data import formats, geography, personas
from demo_data.formats import DAY_S
from demo_data.timeline import Timeline

CUSTOMER_ID_WIDTH = 7
SKEWED_DEVICE_RATE = 0.015  # devices whose clock is off by hours

# Device kinds and what their clickstream context says about them.
DEVICE_TYPES = ("desktop", "mobile", "tablet", "ios", "android", "bot")
USER_AGENTS: tuple[tuple[str, ...], ...] = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0 Mobile Safari/537.36",
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Mobile/15E148 Safari/604.1",
    ),
    ("ShopApp/4.12.0 (iPhone15,2; iOS 17.4.1)", "ShopApp/4.11.2 (iPhone14,5; iOS 16.7)"),
    ("ShopApp/4.12.0 (Android 14; SM-S911B)", "ShopApp/4.10.0 (Android 13; Pixel 7)"),
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "python-requests/2.31.0 price-crawler",
        "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    ),
)
BOT = DEVICE_TYPES.index("bot")
APP_KINDS = (DEVICE_TYPES.index("ios"), DEVICE_TYPES.index("android"))

# Phone spellings seen in CRM exports; {T} is the trunk prefix, {P} the mobile prefix,
# {S} the subscriber number and {S1}/{S2} its two halves. Format 4 is E.164 itself.
PHONE_FORMATS = (
    "+{cc} {P} {S}",
    "{T}{P}-{S}",
    "({T}{P}) {S1} {S2}",
    "00{cc} {P} {S}",
    "+{cc}{P}{S}",
    "{T}{P}{S}",
    "+{cc}-{P}-{S}",
    "+{cc} ({T}){P} {S}",
)
PHONE_FORMAT_WEIGHTS = np.array([0.28, 0.16, 0.10, 0.10, 0.10, 0.12, 0.06, 0.08])
_SCRAMBLE = 982_451_653  # a prime: n -> n * p + c mod m is a bijection, so numbers are unique


@dataclass
class People:
    """One chunk of persons: hidden traits as arrays, and the identifiers that point at them."""

    number: np.ndarray  # global person number, 1-based: the primary CRM id's number
    persona: np.ndarray
    country: np.ndarray
    first_name: np.ndarray
    last_name: np.ndarray
    city: np.ndarray  # index into the country's cities
    gender: np.ndarray  # 0 f, 1 m, 2 x
    birth_day: np.ndarray  # days since 1970
    signup_s: np.ndarray
    active_from: np.ndarray  # first active day (timeline day index)
    active_to: np.ndarray  # day after the last active day (lapsing people stop early)
    intensity: np.ndarray  # personal multiplier on every rate, mean 1
    favourites: np.ndarray  # (n, 2) favourite category numbers
    home_store: np.ndarray
    has_card: np.ndarray
    email_consent: np.ndarray
    ad_consent: np.ndarray
    customer_id: pa.StringArray
    email: pa.StringArray  # normalised: lower case, no spaces
    phone_e164: pa.StringArray
    loyalty_id: pa.StringArray
    device_first: np.ndarray  # first device of each person (index into the device arrays)
    device_count: np.ndarray
    device_owner: np.ndarray
    device_kind: np.ndarray
    device_agent: np.ndarray  # index into USER_AGENTS[kind]
    device_skew_ms: np.ndarray  # device clock error (0 for most)
    anonymous_id: np.ndarray  # byte matrix 'a-' + 16 hex per device

    def __len__(self) -> int:
        return len(self.number)

    def p(self, field_name: str) -> np.ndarray:
        """A persona parameter for every person in the chunk."""
        return personas.column(field_name)[self.persona]


def customer_id_width(customers: int) -> int:
    """Digits in customer ids: 7, or more when primary and second records need them."""
    return max(CUSTOMER_ID_WIDTH, len(str(2 * customers)))


def make_people(
    rng: np.random.Generator, first_number: int, n: int, timeline: Timeline, id_width: int
) -> People:
    """n persons numbered from first_number, with traits, identifiers and devices."""
    number = np.arange(first_number, first_number + n, dtype=np.int64)
    persona = rng.choice(len(personas.PERSONAS), size=n, p=personas.SHARES)
    column = personas.column
    country = rng.choice(len(geography.COUNTRIES), size=n, p=geography.WEIGHTS)
    n_cities = np.array([len(c.cities) for c in geography.COUNTRIES])
    history = timeline.history_days

    # Sign-up, and for lapsing people the day they stopped: new customers joined in the last
    # 60 days, lapsing ones stopped 6 to 18 months ago, the rest joined any time up to 3 years
    # before the history starts.
    is_new = persona == personas.index("new_customer")
    is_lapsing = persona == personas.index("lapsing")
    stop_age = np.where(is_lapsing, rng.uniform(365, 540, n), 0.0)
    signup_age = np.where(
        is_new,
        rng.uniform(1, 60, n),
        stop_age + rng.uniform(history, history + 3 * 365, n),
    )
    signup_s = timeline.end_s - (signup_age * DAY_S).astype(np.int64)
    active_from = np.clip((signup_s - timeline.start_s + DAY_S - 1) // DAY_S, 0, history - 1)
    active_to = np.maximum(history - np.ceil(stop_age).astype(np.int64), active_from + 1)

    favourite = rng.integers(0, 10, n)
    favourites = np.stack([favourite, (favourite + 1 + rng.integers(0, 9, n)) % 10], axis=1)
    stores_of = [np.flatnonzero(c == geography.STORE_COUNTRY) for c in range(len(n_cities))]
    home_store = np.empty(n, dtype=np.int64)
    for c, stores in enumerate(stores_of):
        rows = country == c
        home_store[rows] = stores[rng.integers(0, len(stores), int(rows.sum()))]
    has_card = rng.random(n) < column("loyalty_card")[persona]

    gender = rng.choice(3, size=n, p=[0.49, 0.49, 0.02])  # f, m, x
    n_female, n_male = geography.N_FEMALE_NAMES, len(geography.MALE_NAMES)
    first_name = np.where(
        gender == 0,
        rng.integers(0, n_female, n),
        np.where(
            gender == 1,
            n_female + rng.integers(0, n_male, n),
            rng.integers(0, len(geography.FIRST_NAMES), n),
        ),
    )
    last_name = rng.integers(0, len(geography.LAST_NAMES), n)
    local_domain = rng.random(n) < 0.4
    domains = [*geography.GLOBAL_EMAIL_DOMAINS, *(c.email_domain for c in geography.COUNTRIES)]
    domain = np.where(
        local_domain,
        len(geography.GLOBAL_EMAIL_DOMAINS) + country,
        rng.integers(0, len(geography.GLOBAL_EMAIL_DOMAINS), n),
    )
    email = formats.join(
        formats.pick(geography.FIRST_NAMES, first_name),
        ".",
        formats.pick(geography.LAST_NAMES, last_name),
        ".",
        formats.integers(number),
        "@",
        formats.pick(domains, domain),
    )
    loyalty_number = (number * 7_919 + 1_234) % 10**8
    devices = _devices(rng, persona)
    first_device = np.concatenate([[0], np.cumsum(devices[0])[:-1]])
    return People(
        number=number,
        persona=persona,
        country=country,
        first_name=first_name,
        last_name=last_name,
        city=(rng.random(n) * n_cities[country]).astype(np.int64),
        gender=gender,
        birth_day=(timeline.end_s // DAY_S - rng.uniform(18, 80, n) * 365.25).astype(np.int64),
        signup_s=signup_s,
        active_from=active_from,
        active_to=active_to,
        intensity=rng.lognormal(-0.01, 0.15, n),
        favourites=favourites,
        home_store=home_store,
        has_card=has_card,
        email_consent=rng.random(n) < column("email_consent")[persona],
        ad_consent=rng.random(n) < column("ad_consent")[persona],
        customer_id=formats.ids("C", number, id_width),
        email=email,
        phone_e164=phone_numbers(number, country, np.full(n, PHONE_FORMATS.index("+{cc}{P}{S}"))),
        loyalty_id=formats.ids("L", loyalty_number, 8),
        device_first=first_device,
        device_count=devices[0],
        device_owner=np.repeat(np.arange(n), devices[0]),
        device_kind=devices[1],
        device_agent=devices[2],
        device_skew_ms=devices[3],
        anonymous_id=formats.hex_ids(rng, "a-", len(devices[1]), 8),
    )


def _devices(
    rng: np.random.Generator, persona: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per person 1-3 devices; beyond the first, phones with the app as often as the persona."""
    extra = np.clip(personas.column("devices")[persona] - 1.0, 0.0, 2.0) / 2.0
    count = 1 + rng.binomial(2, extra)
    owner_persona = np.repeat(persona, count)
    total = int(count.sum())
    first = np.zeros(total, dtype=bool)
    first[np.concatenate([[0], np.cumsum(count)[:-1]])] = True
    app = ~first & (rng.random(total) < personas.column("app_share")[owner_persona])
    browser = rng.choice(3, size=total, p=[0.5, 0.4, 0.1])  # desktop, mobile, tablet
    kind = np.where(app, np.array(APP_KINDS)[rng.integers(0, 2, total)], browser)
    agents = np.array([len(a) for a in USER_AGENTS])
    agent = (rng.random(total) * agents[kind]).astype(np.int64)
    skewed = rng.random(total) < SKEWED_DEVICE_RATE
    hours = rng.integers(1, 11, total) * np.where(rng.random(total) < 0.5, -1, 1)
    skew_ms = np.where(skewed, hours * 3_600_000 + rng.integers(-90_000, 90_000, total), 0)
    return count, kind, agent, skew_ms


def phone_numbers(number: np.ndarray, country: np.ndarray, style: np.ndarray) -> pa.StringArray:
    """Each person's mobile number, spelled in the given PHONE_FORMATS style.

    The number itself is a bijection of the person number inside the country's numbering
    space, so no two people share a phone and every spelling normalises to one E.164 value.
    """
    out: list[pa.Array] = []
    rows_out: list[np.ndarray] = []
    for c, spec in enumerate(geography.COUNTRIES):
        in_country = country == c
        if not in_country.any():
            continue
        space = spec.number_space
        nsn = (number[in_country] * _SCRAMBLE + 12_345) % space
        subscriber_space = 10**spec.subscriber_digits
        prefix = formats.pick(spec.mobile_prefixes, nsn // subscriber_space)
        subscriber = formats.from_matrix(
            formats.digits(nsn % subscriber_space, spec.subscriber_digits)
        )
        pieces = {
            "{cc}": spec.calling_code,
            "{T}": spec.trunk,
            "{P}": prefix,
            "{S}": subscriber,
            "{S1}": pc.utf8_slice_codeunits(subscriber, 0, 3),
            "{S2}": pc.utf8_slice_codeunits(subscriber, 3),
        }
        rows = np.flatnonzero(in_country)
        styles = style[in_country]
        for f, template in enumerate(PHONE_FORMATS):
            chosen = styles == f
            if not chosen.any():
                continue
            mask = pa.array(chosen)
            parts = [
                (pieces[t] if isinstance(pieces[t], str) else pieces[t].filter(mask))
                if t in pieces
                else t
                for t in re.split(r"(\{\w+\})", template)
                if t
            ]
            out.append(formats.join(*parts))
            rows_out.append(rows[chosen])
    order = np.argsort(np.concatenate(rows_out), kind="stable")
    return pa.concat_arrays(out).take(pa.array(order))


def messy_emails(
    rng: np.random.Generator, clean: pa.StringArray, rate: float
) -> tuple[pa.Array, np.ndarray]:
    """The same addresses as people type them: a share in other case or with stray spaces."""
    n = len(clean)
    messy = rng.random(n) < rate
    kind = rng.integers(0, 5, n)
    result: pa.Array = clean
    for k, spell in enumerate(
        (
            pc.utf8_upper,
            pc.utf8_title,
            pc.utf8_capitalize,
            lambda s: formats.join(" ", s),
            lambda s: formats.join(pc.utf8_title(s), "  "),
        )
    ):
        chosen = messy & (kind == k)
        if chosen.any():
            result = formats.replace_where(result, chosen, spell(clean.filter(pa.array(chosen))))
    return result, messy


def pick_phone_style(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice(len(PHONE_FORMATS), size=n, p=PHONE_FORMAT_WEIGHTS)
