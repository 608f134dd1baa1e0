"""R&D's tables: experiment runs and the lab samples measured on them."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from threshold.demo.tables import at_hours, pick, recent_days, rng_for, rounded, table
from threshold.demo.world import MATERIALS, World

PROJECTS = ("Helios", "Nimbus", "Aurora Next", "Kestrel", "Orion", "Tessera")
CATALYSTS = ("Pd/C", "Pt/Al2O3", "Ni-Raney", "none", "Cu-ZnO")
RESEARCHERS = ("Wei Zhang", "Priya Patel", "Felix Neumann", "Laura Martin", "Kenji Tanaka", "Lars Eriksson")


def experiments(world: World, variant: int = 0) -> pa.Table:
    """Experiment runs: material, conditions, catalyst, yield and purity, and who ran them.

    Yield peaks at a material-specific temperature, so binning by temperature shows a curve.
    """
    rng = rng_for(world, "experiments", variant)
    n = world.n(3000, 60)
    material = np.array(pick(rng, MATERIALS, n))
    optimum = {m: 60 + 12 * i for i, m in enumerate(MATERIALS)}
    temp = rng.uniform(40, 200, n)
    best = np.array([optimum[m] for m in material])
    yield_pct = np.clip(92 - 0.004 * (temp - best) ** 2 + rng.normal(0, 3, n), 5, 99.5)
    return table(
        {
            "experiment_id": [f"EXP-{i:05d}" for i in range(1, n + 1)],
            "project": pick(rng, PROJECTS, n),
            "material": material,
            "started_on": recent_days(world, rng, n, recency=0.3),
            "temperature_c": rounded(temp, 1),
            "pressure_bar": rounded(rng.uniform(1, 12, n), 2),
            "catalyst": pick(rng, CATALYSTS, n),
            "duration_h": rounded(rng.gamma(3.0, 2.0, n), 1),
            "yield_pct": rounded(yield_pct, 2),
            "purity_pct": rounded(np.clip(rng.normal(98.2, 1.1, n), 90, 99.99), 2),
            "researcher": pick(rng, RESEARCHERS, n),
        }
    )


def lab_samples(world: World, variant: int = 0) -> pa.Table:
    """Measurements on samples taken during experiments: viscosity, pH, density."""
    rng = rng_for(world, "lab_samples", variant)
    n = world.n(10000, 100)
    n_exp = world.n(3000, 60)
    days = recent_days(world, rng, n, recency=0.3)
    return table(
        {
            "sample_id": [f"S-{i:06d}" for i in range(1, n + 1)],
            "experiment_id": [f"EXP-{int(i):05d}" for i in rng.integers(1, n_exp + 1, n)],
            "taken_at": at_hours(days, rng, 7.0, 19.0),
            "viscosity_mpa_s": rounded(rng.lognormal(3.0, 0.6, n), 2),
            "ph": rounded(rng.normal(6.8, 0.9, n), 2),
            "density_g_cm3": rounded(rng.normal(1.12, 0.08, n), 3),
        }
    )
