"""Where the demo company operates: countries, their phone numbering, cities, stores, time zones.

Several countries on purpose: phones then come in several national formats (staging must
normalise them to E.164 using the CRM country), and stores record local time in different
time zones (staging must convert with each store's zone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Country:
    code: str
    weight: float  # share of customers
    calling_code: str
    trunk: str  # national prefix dialled before the number ("" where there is none)
    mobile_prefixes: tuple[str, ...]
    subscriber_digits: int
    timezone: str
    cities: tuple[str, ...]
    email_domain: str  # a local mail provider next to the global ones

    @property
    def number_space(self) -> int:
        return len(self.mobile_prefixes) * 10**self.subscriber_digits


COUNTRIES: tuple[Country, ...] = (
    Country(
        code="DE",
        weight=0.3,
        calling_code="49",
        trunk="0",
        mobile_prefixes=("151", "152", "157", "160", "162", "170", "171", "176"),
        subscriber_digits=7,
        timezone="Europe/Berlin",
        cities=("Berlin", "Hamburg", "Munich", "Cologne", "Frankfurt", "Leipzig"),
        email_domain="web.de",
    ),
    Country(
        code="AT",
        weight=0.06,
        calling_code="43",
        trunk="0",
        mobile_prefixes=("650", "660", "664", "676", "680", "699"),
        subscriber_digits=7,
        timezone="Europe/Vienna",
        cities=("Vienna", "Graz", "Linz"),
        email_domain="gmx.at",
    ),
    Country(
        code="FR",
        weight=0.15,
        calling_code="33",
        trunk="0",
        mobile_prefixes=("6", "7"),
        subscriber_digits=8,
        timezone="Europe/Paris",
        cities=("Paris", "Lyon", "Marseille", "Toulouse"),
        email_domain="orange.fr",
    ),
    Country(
        code="NL",
        weight=0.09,
        calling_code="31",
        trunk="0",
        mobile_prefixes=("6",),
        subscriber_digits=8,
        timezone="Europe/Amsterdam",
        cities=("Amsterdam", "Rotterdam", "Utrecht"),
        email_domain="ziggo.nl",
    ),
    Country(
        code="ES",
        weight=0.12,
        calling_code="34",
        trunk="",
        mobile_prefixes=("6", "7"),
        subscriber_digits=8,
        timezone="Europe/Madrid",
        cities=("Madrid", "Barcelona", "Valencia", "Seville"),
        email_domain="telefonica.es",
    ),
    Country(
        code="IT",
        weight=0.11,
        calling_code="39",
        trunk="",
        mobile_prefixes=("320", "328", "333", "339", "347", "348", "349", "366"),
        subscriber_digits=7,
        timezone="Europe/Rome",
        cities=("Milan", "Rome", "Turin", "Naples"),
        email_domain="libero.it",
    ),
    Country(
        code="GB",
        weight=0.13,
        calling_code="44",
        trunk="0",
        mobile_prefixes=("7700", "7711", "7722", "7799", "7800", "7900", "7911", "7950"),
        subscriber_digits=6,
        timezone="Europe/London",
        cities=("London", "Manchester", "Birmingham", "Leeds"),
        email_domain="btinternet.com",
    ),
    Country(
        code="PT",
        weight=0.04,
        calling_code="351",
        trunk="",
        mobile_prefixes=("91", "92", "93", "96"),
        subscriber_digits=7,
        timezone="Europe/Lisbon",
        cities=("Lisbon", "Porto"),
        email_domain="sapo.pt",
    ),
)

CODES = [c.code for c in COUNTRIES]
WEIGHTS = np.array([c.weight for c in COUNTRIES])
GLOBAL_EMAIL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "example.com")

# Stores: a few per country, each recording local wall-clock time in its country's zone.
STORE_CITIES: tuple[tuple[str, str], ...] = (
    ("DE", "Berlin"),
    ("DE", "Hamburg"),
    ("DE", "Munich"),
    ("DE", "Cologne"),
    ("AT", "Vienna"),
    ("FR", "Paris"),
    ("FR", "Lyon"),
    ("NL", "Amsterdam"),
    ("ES", "Madrid"),
    ("ES", "Barcelona"),
    ("IT", "Milan"),
    ("IT", "Rome"),
    ("GB", "London"),
    ("GB", "Manchester"),
    ("PT", "Lisbon"),
)
STORE_COUNTRY = np.array([CODES.index(country) for country, _ in STORE_CITIES])

# First names by gender, women first: FIRST_NAMES[:N_FEMALE_NAMES] are women's names.
FEMALE_NAMES = (
    "anna carla eva greta ida lena nora paula sofia ulla wanda yara zoe amelie chloe elena "
    "giulia ines klara marta olivia rosa sara"
).split()
MALE_NAMES = (
    "ben david felix hugo jonas max oskar rafael tom victor xavier bruno diego fabio henrik "
    "jan luca nils pierre thomas"
).split()
FIRST_NAMES = FEMALE_NAMES + MALE_NAMES
N_FEMALE_NAMES = len(FEMALE_NAMES)
LAST_NAMES = (
    "muller schmidt garcia rossi dubois smith jansen novak kowalski silva berg larsen costa weber "
    "meyer fischer wagner becker hoffmann klein martin bernard lopez romano ricci bakker devries "
    "jones taylor brown wilson santos ferreira gruber huber moreau laurent"
).split()


def store_table() -> pd.DataFrame:
    """stores.csv content: id, name, city, country and the IANA zone of its tills."""
    return pd.DataFrame(
        {
            "store_id": [f"S{i + 1:03d}" for i in range(len(STORE_CITIES))],
            "name": [
                f"{city} {'Mitte' if country == 'DE' else 'Centre'}"
                for country, city in STORE_CITIES
            ],
            "city": [city for _, city in STORE_CITIES],
            "country": [country for country, _ in STORE_CITIES],
            "timezone": [COUNTRIES[CODES.index(country)].timezone for country, _ in STORE_CITIES],
        }
    )


def utc_offset_minutes(utc_seconds: np.ndarray, country: np.ndarray) -> np.ndarray:
    """Each moment's UTC offset in its country's zone (daylight saving included).

    Vectorised per country with pandas' zone database: a handful of calls, not one per row.
    """
    offsets = np.zeros(len(utc_seconds), dtype=np.int64)
    for number, spec in enumerate(COUNTRIES):
        rows = np.flatnonzero(country == number)
        if not len(rows):
            continue
        utc = pd.DatetimeIndex(pd.to_datetime(utc_seconds[rows], unit="s", utc=True))
        local = utc.tz_convert(spec.timezone).tz_localize(None)
        delta = (local - utc.tz_localize(None)).to_numpy().astype("timedelta64[s]").astype(np.int64)
        offsets[rows] = delta // 60
    return offsets
