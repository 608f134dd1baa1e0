"""Generated tables of the demo company, one module per domain, all drawn from a seeded numpy generator.

Every generator takes the `World` (shared facts and calendar) and a variant number (0 = the
dataset itself; 1, 2 ... = the same kind of table for another site, used by larger builds) and
returns an Arrow table whose column labels are what a person would export from their tool.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from threshold.demo.world import World


def rng_for(world: World, table: str, variant: int = 0) -> np.random.Generator:
    """One generator per (table, variant): tables do not shift when another one changes."""
    return np.random.default_rng([world.seed, zlib.crc32(table.encode()), variant])


def pick(rng: np.random.Generator, values: Sequence[Any], n: int, p: Sequence[float] | None = None) -> list[Any]:
    """`n` values drawn from `values` (with replacement), optionally weighted."""
    weights = None if p is None else np.asarray(p, dtype=float) / float(np.sum(p))
    idx = rng.choice(len(values), size=n, p=weights)
    return [values[i] for i in idx]


def recent_days(world: World, rng: np.random.Generator, n: int, *, recency: float = 0.6) -> list[date]:
    """`n` days of the history, sorted, with more of them lately (`recency` 0 = uniform)."""
    days = world.days()
    u = rng.random(n) ** (1.0 - recency * 0.5)
    idx = np.minimum((u * len(days)).astype(int), len(days) - 1)
    return sorted(days[i] for i in idx)


def at_hours(days: Sequence[date], rng: np.random.Generator, lo: float = 6.0, hi: float = 20.0) -> list[datetime]:
    hours = rng.uniform(lo, hi, len(days))
    return [
        datetime(d.year, d.month, d.day) + timedelta(seconds=int(h * 3600)) for d, h in zip(days, hours, strict=True)
    ]


def table(columns: dict[str, Any]) -> pa.Table:
    """An Arrow table from label -> values (lists or numpy arrays)."""
    return pa.table({k: pa.array(v) for k, v in columns.items()})


def rounded(values: np.ndarray, digits: int) -> np.ndarray:
    return np.round(values.astype(float), digits)


_BASE_PRICE = {"Darmstadt": 0.205, "Gernsheim": 0.198, "Lyon": 0.152, "Porto": 0.171, "Tempe": 0.112}
"""Electricity price per kWh in EUR by plant; the contract prices in finance.energy_costs follow it."""


def energy_price(world: World, plant: str, month: date) -> float:
    """The contracted electricity price of `plant` in `month` (plant_kpis books energy at this price)."""
    rng = np.random.default_rng([world.seed, zlib.crc32(plant.encode()), month.year, month.month])
    months_ago = (world.timeline.now.date().year - month.year) * 12 + world.timeline.now.date().month - month.month
    drift = 0.012 * max(0, 12 - months_ago) / 12 if plant == "Lyon" else 0.0  # Lyon's new contract is dearer
    return round(_BASE_PRICE[plant] * (1 + rng.normal(0, 0.04)) + drift, 4)
