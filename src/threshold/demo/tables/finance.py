"""Finance's tables: supplier invoices, cost centres, energy contracts per plant, exchange rates."""

from __future__ import annotations

import random
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from threshold.demo.tables import energy_price, pick, recent_days, rng_for, rounded, table
from threshold.demo.world import DEPARTMENTS, World

_DOMAIN_OF = dict(zip(DEPARTMENTS, ("manufacturing", "supply_chain", "sales", "finance", "hr", "r_and_d"), strict=True))
_CC_NAMES = (
    "Production",
    "Maintenance",
    "Quality",
    "Energy",
    "Logistics",
    "Procurement",
    "Sales",
    "Marketing",
    "Controlling",
    "Accounting",
    "HR services",
    "Lab",
)
_ENERGY_COLUMNS = (
    "month",
    "plant",
    "carrier",
    "energy_supplier",
    "price_eur_per_kwh",
    "consumption_kwh",
    "cost_eur",
)


def cost_centers(world: World, variant: int = 0) -> pa.Table:
    """Cost centres with the domain and plant they belong to, their manager and annual budget."""
    rng = random.Random(f"{world.seed}-cost_centers-{variant}")
    managers = [name for _id, name, _d, _s in world.employees[-40:]] or ["Claudia Braun"]
    rows: dict[str, list[object]] = {
        k: [] for k in ("cost_center", "name", "domain", "plant", "manager", "annual_budget_eur")
    }
    for i, cc in enumerate(world.cost_centers):
        plant = world.plants[i % len(world.plants)]
        label = _CC_NAMES[i % len(_CC_NAMES)]
        dept = DEPARTMENTS[min(i % len(_CC_NAMES) // 2, len(DEPARTMENTS) - 1)]
        rows["cost_center"].append(cc)
        rows["name"].append(f"{label} {plant}")
        rows["domain"].append(_DOMAIN_OF[dept])
        rows["plant"].append(plant)
        rows["manager"].append(rng.choice(managers))
        rows["annual_budget_eur"].append(round(rng.uniform(0.2, 9.0), 2) * 1_000_000)
    return table(rows)


def invoices(world: World, variant: int = 0) -> pa.Table:
    """Supplier invoices: amounts, VAT, cost centre, due date and whether (and when) they were paid."""
    from threshold.demo.tables.supply_chain import suppliers

    rng = rng_for(world, "invoices", variant)
    n = world.n(12000, 150)
    sup = suppliers(world, variant).select(["Supplier ID", "Supplier Name"]).to_pylist()
    who = rng.integers(0, len(sup), n)
    days = recent_days(world, rng, n, recency=0.3)
    net = rounded(rng.lognormal(8.0, 1.2, n), 2)
    vat = rounded(net * 0.19, 2)
    terms = np.array(pick(rng, (14, 30, 45, 60), n, p=[2, 5, 2, 1]))
    due = [d + timedelta(days=int(t)) for d, t in zip(days, terms, strict=True)]
    today = world.timeline.now.date()
    paid_after = rng.normal(0, 6, n) + terms
    paid_on = [d + timedelta(days=max(1, int(p))) for d, p in zip(days, paid_after, strict=True)]
    paid = [p < today for p in paid_on]
    return table(
        {
            "Invoice No": [f"INV-{d.year}-{i:06d}" for i, d in enumerate(days, start=1)],
            "Supplier ID": [sup[i]["Supplier ID"] for i in who],
            "Supplier": [sup[i]["Supplier Name"] for i in who],
            "Invoice Date": days,
            "Due Date": due,
            "Net Amount": net,
            "VAT": vat,
            "Gross Amount": rounded(net + vat, 2),
            "Currency": ["EUR"] * n,
            "Cost Center": pick(rng, world.cost_centers, n),
            "Status": ["paid" if p else "open" for p in paid],
            "Paid On": [p if ok else None for p, ok in zip(paid_on, paid, strict=True)],
        }
    )


def energy_costs(world: World, variant: int = 0) -> pa.Table:
    """Monthly energy bills per plant: electricity at the contract price plant_kpis books, and gas."""
    from threshold.demo.tables.manufacturing import plant_kpis

    rng = rng_for(world, "energy_costs", variant)
    kpis = plant_kpis(world, variant)
    months = pc.strftime(kpis["Day"], format="%Y-%m-01")
    monthly = (
        pa.table({"plant": kpis["Plant"], "month": months, "kwh": kpis["Energy kWh"]})
        .group_by(["plant", "month"])
        .aggregate([("kwh", "sum")])
        .sort_by([("month", "ascending"), ("plant", "ascending")])
        .to_pylist()
    )
    suppliers = {"Darmstadt": "Entega", "Gernsheim": "Entega", "Lyon": "EDF", "Porto": "EDP", "Tempe": "SRP"}
    rows: dict[str, list[object]] = {k: [] for k in _ENERGY_COLUMNS}
    for m in monthly:
        month = date.fromisoformat(m["month"])
        power = energy_price(world, m["plant"], month)
        gas_kwh = m["kwh_sum"] * rng.uniform(0.25, 0.4) * (1.4 if month.month in (12, 1, 2) else 1.0)
        gas_price = round(0.065 * rng.normal(1.0, 0.05), 4)
        for carrier, kwh, price in (
            ("electricity", m["kwh_sum"], power),
            ("natural gas", gas_kwh, gas_price),
        ):
            rows["month"].append(month)
            rows["plant"].append(m["plant"])
            rows["carrier"].append(carrier)
            rows["energy_supplier"].append(suppliers[m["plant"]])
            rows["price_eur_per_kwh"].append(price)
            rows["consumption_kwh"].append(round(kwh, 1))
            rows["cost_eur"].append(round(kwh * price, 2))
    return table(rows)


def fx_rates(world: World, variant: int = 0) -> pa.Table:
    """Daily reference rates: how many units of each currency one euro buys."""
    rng = rng_for(world, "fx_rates", variant)
    days = [d for d in world.days() if d.weekday() < 5]
    start = {"USD": 1.08, "GBP": 0.86, "CHF": 0.95, "JPY": 162.0, "CNY": 7.8, "KRW": 1450.0, "TWD": 34.5}
    rows: dict[str, list[object]] = {"date": [], "currency": [], "eur_rate": []}
    for cur, rate in start.items():
        walk = rate * np.exp(np.cumsum(rng.normal(0, 0.004, len(days))))
        rows["date"] += days
        rows["currency"] += [cur] * len(days)
        rows["eur_rate"] += [round(float(x), 4) for x in walk]
    return table(rows)
