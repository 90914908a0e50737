"""Email platform events: weekly campaigns to people who consented, engagement per persona.

Campaigns go out in order and each one only reaches people whose consent stands at that
moment, so an unsubscribe (or a hard bounce, which the platform suppresses) ends the mail a
person gets. Lapsed people still receive mail but rarely open it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from demo_data import dirt, formats
from demo_data.consent import Consent
from demo_data.formats import DAY_S
from demo_data.identity import People, messy_emails
from demo_data.timeline import Timeline
from demo_data.writers import Part
from extract_load.sources import SOURCES_BY_TABLE

EMAIL_EVENTS = SOURCES_BY_TABLE["email__events"]
EVENT_TYPES = ("sent", "delivered", "bounce", "open", "click", "unsubscribe")
SENT, DELIVERED, BOUNCE, OPEN, CLICK, UNSUBSCRIBE = range(6)
CAMPAIGN_EVERY_DAYS = 7
REACH = 0.04  # share of the consenting list each campaign goes to
HARD_BOUNCE = 0.015  # people whose mailbox does not exist
SOFT_BOUNCE = 0.005
LAPSED_OPEN_FACTOR = 0.3


@dataclass
class Mail:
    person: np.ndarray
    campaign: np.ndarray
    event_type: np.ndarray
    time_s: np.ndarray
    unsubscribed_s: np.ndarray  # per person: when they unsubscribed, -1 if not

    def __len__(self) -> int:
        return len(self.person)


def campaign_times(timeline: Timeline) -> np.ndarray:
    """Send times: every week at 08:00 UTC from the third day of the history."""
    first = timeline.start_s + 2 * DAY_S + 8 * 3600
    return np.arange(first, timeline.end_s - 2 * DAY_S, CAMPAIGN_EVERY_DAYS * DAY_S)


def campaign_ids(timeline: Timeline) -> pa.StringArray:
    n = len(campaign_times(timeline))
    return formats.ids("CMP", np.arange(1, n + 1), max(4, len(str(n))))


def make_mail(
    rng: np.random.Generator, people: People, consent: Consent, timeline: Timeline
) -> Mail:
    """Every campaign's sends and what each recipient did with them (one loop per campaign)."""
    n = len(people)
    granted = consent.granted_s[:, 0]
    stop = consent.withdrawn_s[:, 0].copy()
    unsubscribed = np.full(n, -1, dtype=np.int64)
    hard_bounce = rng.random(n) < HARD_BOUNCE
    engagement = np.clip(rng.lognormal(-0.08, 0.4, n), 0.0, 3.0)
    open_rate = people.p("open_rate") * engagement
    click_rate = people.p("click_rate")
    unsubscribe_rate = people.p("unsubscribe_rate")
    lapsed_since = timeline.start_s + people.active_to * DAY_S
    end = timeline.end_s
    parts: list[tuple[np.ndarray, int, np.ndarray, np.ndarray]] = []
    for campaign, send_s in enumerate(campaign_times(timeline)):
        eligible = (granted >= 0) & (granted <= send_s) & (send_s < stop)
        to = np.flatnonzero(eligible & (rng.random(n) < REACH))
        k = len(to)
        sent = send_s + rng.integers(0, 7200, k)
        bounced = hard_bounce[to] | (rng.random(k) < SOFT_BOUNCE)
        delivered = sent + rng.integers(1, 120, k)
        p_open = open_rate[to] * np.where(send_s > lapsed_since[to], LAPSED_OPEN_FACTOR, 1.0)
        opened_at = delivered + (rng.exponential(8 * 3600, k)).astype(np.int64)
        opened = ~bounced & (rng.random(k) < np.minimum(p_open, 0.95)) & (opened_at < end)
        clicked_at = opened_at + rng.integers(5, 600, k)
        clicked = opened & (rng.random(k) < click_rate[to]) & (clicked_at < end)
        left_at = np.where(opened, opened_at, delivered) + rng.integers(10, 3600, k)
        left = ~bounced & (rng.random(k) < unsubscribe_rate[to]) & (left_at < end)
        for event_type, mask, times in (
            (SENT, np.ones(k, dtype=bool), sent),
            (DELIVERED, ~bounced, delivered),
            (BOUNCE, bounced, delivered),
            (OPEN, opened, opened_at),
            (CLICK, clicked, clicked_at),
            (UNSUBSCRIBE, left, left_at),
        ):
            parts.append((to[mask], campaign, np.full(int(mask.sum()), event_type), times[mask]))
        stop[to[hard_bounce[to]]] = send_s  # the platform suppresses dead mailboxes
        stop[to[left]] = left_at[left]
        unsubscribed[to[left]] = left_at[left]
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return Mail(empty, empty, empty, empty, unsubscribed)
    time_s = np.concatenate([p[3] for p in parts])
    order = np.argsort(time_s, kind="stable")
    return Mail(
        person=np.concatenate([p[0] for p in parts])[order],
        campaign=np.concatenate([np.full(len(p[0]), p[1]) for p in parts])[order],
        event_type=np.concatenate([p[2] for p in parts])[order],
        time_s=time_s[order],
        unsubscribed_s=unsubscribed,
    )


def mail_part(
    rng: np.random.Generator,
    mail: Mail,
    people: People,
    campaigns: pa.StringArray,
    first_number: int,
    ledger: dirt.DirtLedger,
    first_chunk: bool,
) -> Part:
    """events.csv rows for the chunk, with webhook duplicates and broken rows planted."""
    email, messy = messy_emails(
        rng, people.email.take(pa.array(mail.person)), dirt.RATES["email_mixed_case_platform"]
    )
    base = pa.table(
        {
            "event_id": formats.ids("E", first_number + np.arange(len(mail)), 10),
            "campaign_id": campaigns.take(pa.array(mail.campaign)),
            "email": email,
            "event_type": formats.pick(EVENT_TYPES, mail.event_type),
            "occurred_at": formats.ts_utc(mail.time_s),
        }
    )
    name = EMAIL_EVENTS.table
    take, in_pair = dirt.duplicate(rng, len(mail), dirt.RATES["duplicate_email_events"])
    ledger.add(name, "duplicate_rows", int(in_pair.sum()) // 2)
    ledger.add(name, "email_mixed_case", int(messy[take].sum()))
    at_least = int(first_chunk)
    eligible = ~in_pair
    table = dirt.plant_bad_values(
        rng,
        base.take(pa.array(take)),
        (("empty_email", "email", None),),
        eligible,
        at_least,
        ledger,
        name,
    )
    part = Part(table)
    dirt.plant_malformed(rng, part, eligible, at_least, ledger, name, ())
    return part
