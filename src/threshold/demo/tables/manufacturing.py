"""Manufacturing's tables: daily plant KPIs (the story's dataset), machine sensors, maintenance, quality."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from threshold.demo.tables import at_hours, energy_price, pick, recent_days, rng_for, rounded, table
from threshold.demo.world import LINES_PER_PLANT, World

CAUSES = (
    "bearing wear",
    "calibration drift",
    "coolant leak",
    "sensor fault",
    "belt replacement",
    "software update",
    "filter clogged",
    "planned inspection",
)


def plant_kpis(world: World, variant: int = 0) -> pa.Table:
    """One row per plant, line and day: output, scrap, energy and the shift lead on duty.

    Lyon's energy per unit creeps up over the last months and Gernsheim line 2 has scrap spikes,
    so the questions people ask of it have answers worth finding.
    """
    rng = rng_for(world, "plant_kpis", variant)
    days = world.days()
    n_days = len(days)
    weekday = np.array([d.weekday() for d in days])
    day_factor = np.where(weekday == 5, 0.7, np.where(weekday == 6, 0.45, 1.0))
    age = np.arange(n_days)[::-1]  # days before yesterday
    prices: dict[tuple[str, date], float] = {}
    cols: dict[str, list[object]] = {k: [] for k in ("Plant", "Line", "Day", "Operator Name")}
    nums: dict[str, list[np.ndarray]] = {k: [] for k in ("Output Units", "Scrap Rate", "Energy kWh", "Energy Cost EUR")}
    for plant in world.plants:
        month_price = np.array(
            [prices.setdefault((plant, d.replace(day=1)), energy_price(world, plant, d.replace(day=1))) for d in days]
        )
        operators = world.operators[plant]
        for line in range(1, LINES_PER_PLANT[plant] + 1):
            capacity = rng.uniform(2400, 4600)
            down = rng.random(n_days) < 0.03
            output = capacity * day_factor * rng.normal(1.0, 0.06, n_days) * np.where(down, 0.35, 1.0)
            scrap = rng.uniform(0.015, 0.045) + rng.normal(0, 0.004, n_days) + np.where(down, 0.04, 0.0)
            if plant == "Gernsheim" and line == 2:
                scrap += np.where(rng.random(n_days) < 0.08, rng.uniform(0.03, 0.09, n_days), 0.0)
            per_unit = rng.uniform(3.2, 5.4) * (1 + (0.18 * np.clip(1 - age / 120, 0, 1) if plant == "Lyon" else 0))
            kwh = output * per_unit + 1800 + rng.normal(0, 120, n_days)
            cols["Plant"] += [plant] * n_days
            cols["Line"] += [f"L{line}"] * n_days
            cols["Day"] += days
            shift = rng.integers(0, len(operators), n_days)
            cols["Operator Name"] += [operators[(i + line) % len(operators)] for i in shift]
            nums["Output Units"].append(np.maximum(output, 0).round().astype(np.int64))
            nums["Scrap Rate"].append(rounded(np.clip(scrap, 0.002, 0.25), 4))
            nums["Energy kWh"].append(rounded(kwh, 1))
            nums["Energy Cost EUR"].append(rounded(kwh * month_price, 2))
    columns: dict[str, object] = dict(cols)
    columns.update({k: np.concatenate(v) for k, v in nums.items()})
    out = table(columns)
    return out.take(pc.sort_indices(out, [("Day", "ascending"), ("Plant", "ascending"), ("Line", "ascending")]))


def machine_sensors(world: World, variant: int = 0) -> pa.Table:
    """Readings every four hours from every machine: temperature, vibration, pressure, speed, status."""
    rng = rng_for(world, "machine_sensors", variant)
    n_days = max(14, int(380 * world.rows)) + 7 * world.timeline.weeks
    end = datetime.combine(world.timeline.now.date(), datetime.min.time())
    stamps = np.array([end - timedelta(hours=4 * i) for i in range(n_days * 6, 0, -1)], dtype="datetime64[s]")
    ids, plants, ts, temp, vib, pres, rpm, status = [], [], [], [], [], [], [], []
    for plant in world.plants:
        for machine in world.machines[plant]:
            n = len(stamps)
            wear = np.cumsum(rng.normal(0.002, 0.01, n)) % 3.0  # saw-tooth: wear until maintenance
            v = 2.0 + wear + rng.normal(0, 0.25, n)
            t = 58 + 4 * wear + rng.normal(0, 1.5, n)
            ids += [machine] * n
            plants += [plant] * n
            ts.append(stamps)
            temp.append(rounded(t, 1))
            vib.append(rounded(v, 2))
            pres.append(rounded(rng.normal(6.0, 0.3, n), 2))
            rpm.append(rng.normal(1450, 40, n).round().astype(np.int64))
            status += np.where(v > 4.6, "alarm", np.where(rng.random(n) < 0.07, "idle", "running")).tolist()
    return table(
        {
            "machine_id": ids,
            "plant": plants,
            "ts": np.concatenate(ts),
            "temperature_c": np.concatenate(temp),
            "vibration_mm_s": np.concatenate(vib),
            "pressure_bar": np.concatenate(pres),
            "spindle_rpm": np.concatenate(rpm),
            "status": status,
        }
    )


def maintenance_log(world: World, variant: int = 0) -> pa.Table:
    """Work orders: which machine, who fixed it, when it was reported, downtime, cause and cost."""
    rng = rng_for(world, "maintenance_log", variant)
    n = world.n(1500, 60)
    plants = pick(rng, world.plants, n, p=[35, 15, 20, 12, 18])
    machines = [world.machines[p][int(i)] for p, i in zip(plants, rng.integers(0, 6, n), strict=True)]
    days = recent_days(world, rng, n, recency=0.2)
    planned = rng.random(n) < 0.35
    downtime = np.where(planned, rng.uniform(1, 4, n), rng.gamma(2.0, 3.0, n))
    causes = ["planned inspection" if pl else c for pl, c in zip(planned, pick(rng, CAUSES[:-1], n), strict=True)]
    year = [d.year for d in days]
    return table(
        {
            "Work Order": [f"WO-{y}-{i:05d}" for i, y in enumerate(year, start=1)],
            "Machine ID": machines,
            "Plant": plants,
            "Technician": [world.technicians[p][int(i)] for p, i in zip(plants, rng.integers(0, 4, n), strict=True)],
            "Reported At": at_hours(days, rng, 5.0, 22.0),
            "Downtime Hours": rounded(downtime, 1),
            "Cause": causes,
            "Cost EUR": rounded(downtime * rng.uniform(180, 420, n) + rng.uniform(0, 2500, n), 2),
            "Planned": ["yes" if p else "no" for p in planned],
        }
    )


def quality_inspections(world: World, variant: int = 0) -> pa.Table:
    """Batch inspections: samples drawn, defects found, pass or fail, and the inspector."""
    rng = rng_for(world, "quality_inspections", variant)
    n = world.n(5000, 60)
    plants = pick(rng, world.plants, n)
    days: list[date] = recent_days(world, rng, n, recency=0.0)
    samples = rng.integers(20, 200, n)
    defects = rng.binomial(samples, rng.uniform(0.002, 0.04, n))
    return table(
        {
            "inspection_id": np.arange(1, n + 1),
            "plant": plants,
            "line": [f"L{int(i)}" for i in rng.integers(1, 4, n)],
            "day": days,
            "batch_no": [f"B{d:%y%m%d}-{int(i):03d}" for d, i in zip(days, rng.integers(1, 999, n), strict=True)],
            "inspector": [world.operators[p][int(i)] for p, i in zip(plants, rng.integers(0, 10, n), strict=True)],
            "samples": samples,
            "defects": defects,
            "result": np.where(defects / samples > 0.03, "fail", "pass"),
        }
    )
