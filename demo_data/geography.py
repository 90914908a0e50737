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
        "DE", 0.30, "49", "0", ("151", "152", "157", "160", "162", "170", "171", "176"), 7,
        "Europe/Berlin", ("Berlin", "Hamburg", "Munich", "Cologne", "Frankfurt", "Leipzig"),
        "web.de",
    ),
    Country(
        "AT", 0.06, "43", "0", ("650", "660", "664", "676", "680", "699"), 7,
        "Europe/Vienna", ("Vienna", "Graz", "Linz"), "gmx.at",
    ),
    Country(
        "FR", 0.15, "33", "0", ("6", "7"), 8,
        "Europe/Paris", ("Paris", "Lyon", "Marseille", "Toulouse"), "orange.fr",
    ),
    Country(
        "NL", 0.09, "31", "0", ("6",), 8,
        "Europe/Amsterdam", ("Amsterdam", "Rotterdam", "Utrecht"), "ziggo.nl",
    ),
    Country(
        "ES", 0.12, "34", "", ("6", "7"), 8,
        "Europe/Madrid", ("Madrid", "Barcelona", "Valencia", "Seville"), "telefonica.es",
    ),
    Country(
        "IT", 0.11, "39", "", ("320", "328", "333", "339", "347", "348", "349", "366"), 7,
        "Europe/Rome", ("Milan", "Rome", "Turin", "Naples"), "libero.it",
    ),
    Country(
        "GB", 0.13, "44", "0", ("7700", "7711", "7722", "7799", "7800", "7900", "7911", "7950"), 6,
        "Europe/London", ("London", "Manchester", "Birmingham", "Leeds"), "btinternet.com",
    ),
    Country(
        "PT", 0.04, "351", "", ("91", "92", "93", "96"), 7,
        "Europe/Lisbon", ("Lisbon", "Porto"), "sapo.pt",
    ),
)  # fmt: skip

CODES = [c.code for c in COUNTRIES]
WEIGHTS = np.array([c.weight for c in COUNTRIES])
GLOBAL_EMAIL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "example.com")

# Stores: a few per country, each recording local wall-clock time in its country's zone.
STORE_CITIES: tuple[tuple[str, str], ...] = (
    ("DE", "Berlin"), ("DE", "Hamburg"), ("DE", "Munich"), ("DE", "Cologne"), ("AT", "Vienna"),
    ("FR", "Paris"), ("FR", "Lyon"), ("NL", "Amsterdam"), ("ES", "Madrid"), ("ES", "Barcelona"),
    ("IT", "Milan"), ("IT", "Rome"), ("GB", "London"), ("GB", "Manchester"), ("PT", "Lisbon"),
)  # fmt: skip
STORE_COUNTRY = np.array([CODES.index(country) for country, _ in STORE_CITIES])

FIRST_NAMES = (
    "anna ben carla david eva felix greta hugo ida jonas lena max nora oskar paula rafael sofia "
    "tom ulla victor wanda xavier yara zoe amelie bruno chloe diego elena fabio giulia henrik "
    "ines jan klara luca marta nils olivia pierre rosa sara thomas"
).split()
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
            "name": [f"{city} {'Mitte' if country == 'DE' else 'Centre'}" for country, city in STORE_CITIES],
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
