"""When things happen: seasonality per persona, days drawn in proportion to it, times of day.

One calendar of day weights per persona covers the history and the 30-day future window, so the
expected number of orders in the future window (the truth's p_purchase_30d) comes from exactly
the same process that produced the history: a model that learns the history can learn it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np

from demo_data import personas
from demo_data.formats import DAY_S

FUTURE_DAYS = 30

# Online activity by hour of day (UTC, roughly European evenings) and till hours (local time).
ONLINE_HOURS = np.array(
    [1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 9, 9, 8, 8, 8, 9, 11, 13, 13, 11, 7, 3], dtype=float
)
STORE_HOURS = np.array([0] * 9 + [4, 6, 8, 10, 9, 7, 7, 8, 10, 10, 6, 0, 0, 0, 0], dtype=float)


@dataclass(frozen=True)
class Timeline:
    end_s: int  # midnight UTC of the end date: nothing real happens at or after it
    history_days: int
    cum: np.ndarray  # (personas, days + 1) cumulative day weights; mean weight 1 in the history

    @property
    def start_s(self) -> int:
        return self.end_s - self.history_days * DAY_S

    @property
    def days(self) -> int:
        return self.history_days + FUTURE_DAYS

    @classmethod
    def build(cls, end_date: date, history_days: int) -> Timeline:
        end_s = int(datetime.combine(end_date, datetime.min.time(), tzinfo=UTC).timestamp())
        first = np.datetime64(end_date) - np.timedelta64(history_days, "D")
        days = first + np.arange(history_days + FUTURE_DAYS)
        month = (days.astype("datetime64[M]").astype(int) % 12) + 1
        day_of_month = (days - days.astype("datetime64[M]")).astype(int) + 1
        weekday = (days.astype(int) + 3) % 7  # 0 = Monday
        holidays = (month >= 11).astype(float)
        black_week = ((month == 11) & (day_of_month >= 22)).astype(float)
        weights = np.empty((len(personas.PERSONAS), len(days)))
        for number, persona in enumerate(personas.PERSONAS):
            if persona.seasonal:
                row = 0.05 + 9.0 * holidays + 3.0 * black_week
            else:
                row = 1.0 + 0.35 * holidays + 1.2 * black_week + 0.15 * (weekday >= 5)
            weights[number] = row / row[:history_days].mean()
        cum = np.zeros((len(personas.PERSONAS), len(days) + 1))
        np.cumsum(weights, axis=1, out=cum[:, 1:])
        return cls(end_s=end_s, history_days=history_days, cum=cum)

    def mass(self, persona: np.ndarray, lo_day: np.ndarray, hi_day: np.ndarray) -> np.ndarray:
        """Activity-weighted days in [lo_day, hi_day): expected count = yearly rate * mass / 365."""
        return np.maximum(self.cum[persona, hi_day] - self.cum[persona, lo_day], 0.0)

    def future_mass(self, persona: np.ndarray) -> np.ndarray:
        return self.mass(persona, np.full(len(persona), self.history_days), self.days)

    def sample_days(
        self, rng: np.random.Generator, persona: np.ndarray, lo_day: np.ndarray, hi_day: np.ndarray
    ) -> np.ndarray:
        """Days in [lo_day, hi_day), each drawn in proportion to its persona's day weight."""
        width = self.cum.shape[1]
        lift = float(self.cum[:, -1].max()) + 1.0  # stacks the rows into one increasing array
        flat = (self.cum + np.arange(len(self.cum))[:, None] * lift).ravel()
        low = self.cum[persona, lo_day]
        target = low + rng.random(len(persona)) * (self.cum[persona, hi_day] - low)
        position = np.searchsorted(flat, target + persona * lift, side="right") - 1
        return np.clip(position - persona * width, lo_day, np.maximum(hi_day - 1, lo_day))

    def day_start_s(self, day: np.ndarray) -> np.ndarray:
        return self.start_s + np.asarray(day, dtype=np.int64) * DAY_S

    def day_of(self, seconds: np.ndarray) -> np.ndarray:
        """Day index of an epoch second, clipped to the calendar."""
        return np.clip((np.asarray(seconds) - self.start_s) // DAY_S, 0, self.days)


def seconds_of_day(rng: np.random.Generator, n: int, hours: np.ndarray) -> np.ndarray:
    """Seconds after midnight with hours drawn from a 24-hour profile."""
    cumulative = np.cumsum(hours) / hours.sum()
    hour = np.searchsorted(cumulative, rng.random(n), side="right")
    return np.minimum(hour, 23) * 3600 + rng.integers(0, 3600, n)
