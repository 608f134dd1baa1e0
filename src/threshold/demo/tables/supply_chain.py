"""Supply Chain's tables: suppliers (with their contacts), shipments in and out, weekly inventory."""

from __future__ import annotations

import random
from datetime import timedelta

import numpy as np
import pyarrow as pa

from threshold.demo.company import fold, random_name
from threshold.demo.tables import pick, recent_days, rng_for, rounded, table
from threshold.demo.world import PRODUCTS, World

LOCALE = {"DE": "de", "CH": "de", "FR": "fr", "PT": "pt", "US": "us", "GB": "us"}
_CALLING = {
    "DE": "49",
    "FR": "33",
    "PT": "351",
    "US": "1",
    "NL": "31",
    "IT": "39",
    "ES": "34",
    "PL": "48",
    "CN": "86",
    "JP": "81",
    "KR": "82",
    "TW": "886",
    "IN": "91",
    "GB": "44",
    "CH": "41",
    "SE": "46",
}
CITIES = {
    "DE": ("Frankfurt", "Mannheim", "Ludwigshafen", "Hamburg"),
    "FR": ("Lyon", "Grenoble", "Lille"),
    "PT": ("Porto", "Aveiro"),
    "US": ("Phoenix", "Austin", "Houston", "Boston"),
    "NL": ("Rotterdam", "Eindhoven"),
    "IT": ("Milan", "Turin"),
    "ES": ("Barcelona", "Valencia"),
    "PL": ("Wroclaw", "Poznan"),
    "CN": ("Shanghai", "Suzhou"),
    "JP": ("Osaka", "Yokohama"),
    "KR": ("Suwon", "Incheon"),
    "TW": ("Hsinchu", "Taichung"),
    "IN": ("Pune", "Chennai"),
    "GB": ("Manchester", "Leeds"),
    "CH": ("Basel", "Zug"),
    "SE": ("Gothenburg", "Malmo"),
}
_SUFFIX = {
    "DE": "GmbH",
    "CH": "AG",
    "FR": "SAS",
    "PT": "Lda",
    "US": "Inc",
    "GB": "Ltd",
    "NL": "B.V.",
    "IT": "S.p.A.",
    "ES": "S.L.",
    "PL": "Sp. z o.o.",
    "SE": "AB",
    "CN": "Co., Ltd.",
    "JP": "K.K.",
    "KR": "Co., Ltd.",
    "TW": "Corp.",
    "IN": "Pvt Ltd",
}
_SUPPLIER_COLUMNS = (
    "Supplier ID",
    "Supplier Name",
    "Country",
    "City",
    "Category",
    "Contact Name",
    "Contact Email",
    "Contact Phone",
    "Rating",
    "Supplier Since",
)
_TRADE = {
    "chemicals": "Chemicals",
    "packaging": "Packaging",
    "electronics": "Electronics",
    "logistics": "Logistics",
    "machinery": "Machinery",
    "gases": "Industrial Gases",
}
CATEGORIES = tuple(_TRADE)


def phone_number(rng: random.Random, country: str) -> str:
    if country == "US":
        return f"+1 ({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
    return f"+{_CALLING.get(country, '49')} {rng.randint(20, 899)} {rng.randint(100000, 9999999)}"


def company_name(rng: random.Random, country: str, trade: str) -> str:
    family = random_name(rng, LOCALE.get(country, "intl")).split(" ", 1)[1]
    return f"{family} {_TRADE[trade]} {_SUFFIX[country]}"


def suppliers(world: World, variant: int = 0) -> pa.Table:
    """Supplier master data: company, country, category, rating and the contact person's details."""
    rng = random.Random(f"{world.seed}-suppliers-{variant}")
    rows: dict[str, list[object]] = {k: [] for k in _SUPPLIER_COLUMNS}
    first_day = world.timeline.now.date() - timedelta(days=365 * 15)
    for sid, country in zip(world.suppliers, world.supplier_countries, strict=True):
        trade = rng.choice(CATEGORIES)
        company = company_name(rng, country, trade)
        contact = random_name(rng, LOCALE.get(country, "intl"))
        host = fold(company.split(" ")[0]).replace("'", "") + "-" + trade[:4]
        rows["Supplier ID"].append(sid)
        rows["Supplier Name"].append(company)
        rows["Country"].append(country)
        rows["City"].append(rng.choice(CITIES[country]))
        rows["Category"].append(trade)
        rows["Contact Name"].append(contact)
        rows["Contact Email"].append(f"{fold(contact).replace(' ', '.')}@{host}.example")
        rows["Contact Phone"].append(phone_number(rng, country))
        rows["Rating"].append(rng.choices("ABC", weights=(5, 4, 1))[0])
        rows["Supplier Since"].append(first_day + timedelta(days=rng.randrange(365 * 14)))
    return table(rows)


def shipments(world: World, variant: int = 0) -> pa.Table:
    """Inbound shipments from suppliers and outbound ones to customers, with promised and actual dates.

    A handful of suppliers are chronically late: the supplier risk review finds them.
    """
    rng = rng_for(world, "shipments", variant)
    n = world.n(20000, 200)
    inbound = rng.random(n) < 0.7
    sup_idx = rng.integers(0, len(world.suppliers), n)
    cus_idx = rng.integers(0, len(world.customers), n)
    lateness = rng.beta(1.2, 8.0, len(world.suppliers)) * 12  # per supplier: mean days late
    ship = recent_days(world, rng, n, recency=0.5)
    mode = np.array(pick(rng, ("road", "sea", "air", "rail"), n, p=[55, 20, 15, 10]))
    transit = np.where(mode == "sea", 28, np.where(mode == "air", 3, np.where(mode == "rail", 9, 4)))
    delay = np.where(inbound, rng.poisson(lateness[sup_idx]), rng.poisson(0.8, n)) - rng.integers(0, 2, n)
    today = world.timeline.now.date()
    promised = [d + timedelta(days=int(t)) for d, t in zip(ship, transit, strict=True)]
    delivered = [p + timedelta(days=int(x)) for p, x in zip(promised, delay, strict=True)]
    arrived = [d < today for d in delivered]
    return table(
        {
            "shipment_id": [f"SH-{i:06d}" for i in range(1, n + 1)],
            "direction": np.where(inbound, "inbound", "outbound"),
            "supplier_id": [world.suppliers[i] if b else None for i, b in zip(sup_idx, inbound, strict=True)],
            "customer_id": [None if b else world.customers[i] for i, b in zip(cus_idx, inbound, strict=True)],
            "plant": pick(rng, world.plants, n, p=[35, 15, 20, 12, 18]),
            "partner_country": [
                world.supplier_countries[s] if b else world.customer_countries[c]
                for s, c, b in zip(sup_idx, cus_idx, inbound, strict=True)
            ],
            "ship_date": ship,
            "promised_date": promised,
            "delivered_date": [d if a else None for d, a in zip(delivered, arrived, strict=True)],
            "delay_days": [int(x) if a else None for x, a in zip(delay, arrived, strict=True)],
            "weight_kg": rounded(rng.lognormal(6.0, 1.1, n), 1),
            "freight_cost_eur": rounded(rng.lognormal(6.5, 0.9, n) * np.where(mode == "air", 4.0, 1.0), 2),
            "mode": mode,
            "status": ["delivered" if a else "in transit" for a in arrived],
        }
    )


def inventory_levels(world: World, variant: int = 0) -> pa.Table:
    """Monday stock counts per plant and product, with reorder point and safety stock."""
    rng = rng_for(world, "inventory_levels", variant)
    mondays = [d for d in world.days() if d.weekday() == 0]
    rows: dict[str, list[object]] = {
        k: [] for k in ("week", "plant", "product_code", "on_hand_units", "reorder_point", "safety_stock")
    }
    for plant in world.plants:
        for code, _name, _cat in PRODUCTS:
            reorder = int(rng.integers(200, 2000))
            level = reorder * 2.0
            for monday in mondays:
                level = max(0.0, level - rng.uniform(0.2, 0.6) * reorder)
                if level < reorder:
                    level += reorder * rng.uniform(1.5, 2.5)
                rows["week"].append(monday)
                rows["plant"].append(plant)
                rows["product_code"].append(code)
                rows["on_hand_units"].append(int(level))
                rows["reorder_point"].append(reorder)
                rows["safety_stock"].append(reorder // 3)
    return table(rows)
