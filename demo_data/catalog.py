"""The product catalog: a few hundred products in categories, with brands and prices.

Products are kept sorted by price inside each category so that a persona's price tilt (bargain
hunters pick cheap, loyal high-value customers dear) is one power of a uniform number.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa

CATEGORIES = (
    "shoes",
    "outdoor",
    "apparel",
    "accessories",
    "electronics",
    "home",
    "beauty",
    "sports",
    "toys",
    "books",
)
MEDIAN_PRICE = (79.0, 89.0, 39.0, 25.0, 149.0, 45.0, 19.0, 55.0, 29.0, 15.0)
NOUNS = (
    ("trail runner", "sneaker", "boot", "sandal", "loafer"),
    ("tent", "backpack", "sleeping bag", "headlamp", "rain jacket"),
    ("t-shirt", "hoodie", "jeans", "dress", "sweater"),
    ("belt", "scarf", "cap", "wallet", "sunglasses"),
    ("headphones", "speaker", "smartwatch", "e-reader", "charger"),
    ("mug", "lamp", "cushion", "blanket", "vase"),
    ("face cream", "shampoo", "perfume", "lip balm", "serum"),
    ("yoga mat", "dumbbell", "football", "racket", "bike bottle"),
    ("puzzle", "board game", "building set", "plush bear", "kite"),
    ("novel", "cookbook", "travel guide", "comic", "atlas"),
)
ADJECTIVES = ("classic", "light", "pro", "eco", "urban", "compact", "premium", "daily")
BRANDS = (
    "Northwind Alpina Brightline Cobalt Dune Evergreen Fjord Granite Harbor Indigo Juniper "
    "Kestrel Lumen Meridian Nimbus Orchard Pioneer Quartz Riverstone Summit Tidal Vireo Willow"
).split()
PRODUCTS_PER_CATEGORY = 36
MISSING_BRAND_RATE = 0.02


@dataclass(frozen=True)
class Catalog:
    product_id: pa.StringArray
    category: np.ndarray  # category number per product
    price_cents: np.ndarray
    by_category: np.ndarray  # (categories, products per category): product numbers by price
    table: pa.Table  # what catalog/products.parquet holds
    missing_brands: int

    def draw(self, rng: np.random.Generator, category: np.ndarray, tilt: np.ndarray) -> np.ndarray:
        """One product per row from its category; tilt > 1 leans to cheap, < 1 to dear."""
        position = (rng.random(len(category)) ** tilt * PRODUCTS_PER_CATEGORY).astype(np.int64)
        return self.by_category[category, np.minimum(position, PRODUCTS_PER_CATEGORY - 1)]


def make_catalog(seed: int) -> Catalog:
    """The same catalog for a seed whatever the number of customers."""
    rng = np.random.default_rng([seed, 0xCA7])
    n = len(CATEGORIES) * PRODUCTS_PER_CATEGORY
    category = np.arange(n) % len(CATEGORIES)
    euros = np.array(MEDIAN_PRICE)[category] * rng.lognormal(0.0, 0.5, n)
    price_cents = np.maximum(np.round(euros), 2).astype(np.int64) * 100 - rng.choice([1, 10], n)
    brand = rng.integers(0, len(BRANDS), n)
    noun = rng.integers(0, len(NOUNS[0]), n)
    adjective = rng.integers(0, len(ADJECTIVES), n)
    no_brand = rng.random(n) < MISSING_BRAND_RATE
    names = [
        f"{BRANDS[brand[i]]} {ADJECTIVES[adjective[i]]} {NOUNS[category[i]][noun[i]]}"
        for i in range(n)  # a few hundred products, built once per run
    ]
    product_ids = [f"P{i + 1:05d}" for i in range(n)]
    table = pa.table(
        {
            "product_id": pa.array(product_ids, pa.string()),
            "name": pa.array(names, pa.string()),
            "category": pa.array([CATEGORIES[c] for c in category], pa.string()),
            "brand": pa.array(
                [None if no_brand[i] else BRANDS[brand[i]] for i in range(n)], pa.string()
            ),
            "price": pa.array(
                [Decimal(int(c)).scaleb(-2) for c in price_cents], pa.decimal128(10, 2)
            ),
        }
    )
    order = np.lexsort((price_cents, category))  # by category, then price
    return Catalog(
        product_id=table["product_id"].combine_chunks(),
        category=category,
        price_cents=price_cents,
        by_category=order.reshape(len(CATEGORIES), PRODUCTS_PER_CATEGORY),
        table=table,
        missing_brands=int(no_brand.sum()),
    )
