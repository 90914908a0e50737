"""Where audiences go, and what each destination may receive.

A destination is a marketing tool that syncs audience files: it names the consent purpose a
person must have granted, the audiences it takes and the columns of its files. Ad platforms
match people on SHA-256 of the normalised email and E.164 phone, so they never receive a
raw identifier; email tools need the address itself to send. Add a destination here; the
export, its deltas and the tests follow.
"""

from __future__ import annotations

from dataclasses import dataclass

# The audience models (`dbt_project/models/activation/audience_<name>.sql`).
AUDIENCES = ("win_back", "vip_early_access", "onboarding")

# Columns a destination may ask for: SQL over `activation.customer_360` (alias `c`) and the
# audience table (alias `a`). Emails are stored lower-cased and trimmed and phones in E.164
# (`+` and digits), the normalisation ad platforms hash, so hashing the stored value is hashing
# the normalised one.
COLUMNS = {
    "email_sha256": "sha256(c.email)",
    "phone_sha256": "sha256(c.phone)",
    "email": "c.email",
    "first_name": "c.first_name",
    "country_code": "c.country_code",
    "segment_name": "a.segment_name",
    "lifecycle_stage": "a.lifecycle_stage",
}
# A removed member is named by these only: the person may have asked for erasure, so a
# removal never carries a raw identifier again (a tool matches on the hash it can compute).
REMOVAL_KEYS = ("email_sha256", "phone_sha256")


@dataclass(frozen=True)
class Destination:
    name: str  # the folder under the exports directory
    purpose: str  # consent purpose that must be granted (a dim_customers consent purpose)
    audiences: tuple[str, ...]  # audience models, without the `audience_` prefix
    columns: tuple[str, ...]  # keys of COLUMNS, after person_id
    # A member the tool cannot match is left out: at least one of these must be present.
    requires_any: tuple[str, ...]


DESTINATIONS = (
    Destination(
        name="ad_platform",
        purpose="ad_targeting",
        audiences=("win_back", "vip_early_access"),
        columns=("email_sha256", "phone_sha256", "country_code"),
        requires_any=("email", "phone"),
    ),
    Destination(
        name="email_tool",
        purpose="email_marketing",
        audiences=("win_back", "vip_early_access", "onboarding"),
        columns=("email", "first_name", "segment_name", "lifecycle_stage", "email_sha256"),
        requires_any=("email",),
    ),
)


def by_name(name: str) -> Destination:
    """The destination called `name`; a ValueError lists the known ones otherwise."""
    for destination in DESTINATIONS:
        if destination.name == name:
            return destination
    known = ", ".join(d.name for d in DESTINATIONS)
    raise ValueError(f"unknown destination {name!r}; known: {known}")
