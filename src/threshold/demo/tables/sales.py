"""Sales' tables: customers (contacts, bank accounts) and orders, which repeat the contact on every order."""

from __future__ import annotations

import random
from datetime import timedelta

import numpy as np
import pyarrow as pa

from threshold.demo.company import fold, random_name
from threshold.demo.tables import recent_days, rng_for, rounded, table
from threshold.demo.tables.supply_chain import CATEGORIES, CITIES, LOCALE, company_name, phone_number
from threshold.demo.world import PRODUCTS, World

_CUSTOMER_COLUMNS = (
    "customer_id",
    "company",
    "contact_name",
    "email",
    "phone",
    "country",
    "city",
    "segment",
    "iban",
    "customer_since",
)
SEGMENTS = ("key account", "mid market", "distributor", "research institute")
REGION = {"US": "Americas", "CN": "APAC", "JP": "APAC", "KR": "APAC", "TW": "APAC", "IN": "APAC"}
# Country -> (IBAN length, letters at the start of the account part) for SEPA countries.
_IBAN = {
    "DE": (22, ""),
    "FR": (27, ""),
    "PT": (25, ""),
    "NL": (18, "INGB"),
    "IT": (27, "X"),
    "ES": (24, ""),
    "PL": (28, ""),
    "GB": (22, "NWBK"),
    "CH": (21, ""),
    "SE": (24, ""),
}
_PRICE = {code: 40.0 + (35.0 * i) % 900 for i, (code, _n, _c) in enumerate(PRODUCTS)}


def iban(rng: random.Random, country: str) -> str | None:
    """A valid IBAN (ISO 13616 mod-97 check digits) for SEPA countries; None elsewhere."""
    if country not in _IBAN:
        return None
    length, letters = _IBAN[country]
    bban = letters + "".join(str(rng.randrange(10)) for _ in range(length - 4 - len(letters)))
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    check = 98 - int(numeric) % 97
    return f"{country}{check:02d}{bban}"


def customers(world: World, variant: int = 0) -> pa.Table:
    """Customer master data: company, contact person, e-mail, phone, country, segment, IBAN."""
    rng = random.Random(f"{world.seed}-customers-{variant}")
    rows: dict[str, list[object]] = {k: [] for k in _CUSTOMER_COLUMNS}
    first = world.timeline.now.date() - timedelta(days=365 * 12)
    for cid, country in zip(world.customers, world.customer_countries, strict=True):
        company = company_name(rng, country, rng.choice(CATEGORIES))
        contact = random_name(rng, LOCALE.get(country, "intl"))
        rows["customer_id"].append(cid)
        rows["company"].append(company)
        rows["contact_name"].append(contact)
        rows["email"].append(f"{fold(contact).replace(' ', '.')}@{fold(company.split(' ')[0])}.example")
        rows["phone"].append(phone_number(rng, country))
        rows["country"].append(country)
        rows["city"].append(rng.choice(CITIES[country]))
        rows["segment"].append(rng.choices(SEGMENTS, weights=(2, 5, 3, 1))[0])
        rows["iban"].append(iban(rng, country))
        rows["customer_since"].append((first + timedelta(days=rng.randrange(365 * 11))).isoformat())
    return table(rows)


def orders(world: World, variant: int = 0) -> pa.Table:
    """Order lines, newest last: product, quantity, price, the customer's contact, the rep and the plant."""
    rng = rng_for(world, "orders", variant)
    n = world.n(30000, 300)
    contacts = customers(world, variant).select(["customer_id", "email", "phone", "country"]).to_pylist()
    weights = rng.pareto(1.3, len(contacts)) + 0.05  # a few customers order most
    who = rng.choice(len(contacts), size=n, p=weights / weights.sum())
    prod = rng.integers(0, len(PRODUCTS), n)
    qty = rng.integers(1, 40, n) * np.where(rng.random(n) < 0.1, 10, 1)
    price = np.array([_PRICE[PRODUCTS[i][0]] for i in prod]) * rng.normal(1.0, 0.05, n)
    days = recent_days(world, rng, n, recency=0.4)
    today = world.timeline.now.date()
    reps = ("Carla Moreau", "Julia Hoffmann", "James Wilson", "Mehmet Demir", "Paolo Bianchi", "Sven Larsen")
    return table(
        {
            "order_id": np.arange(500001, 500001 + n),
            "order_date": days,
            "customer_id": [contacts[i]["customer_id"] for i in who],
            "customer_email": [contacts[i]["email"] for i in who],
            "customer_phone": [contacts[i]["phone"] for i in who],
            "product_code": [PRODUCTS[i][0] for i in prod],
            "product": [PRODUCTS[i][1] for i in prod],
            "category": [PRODUCTS[i][2] for i in prod],
            "quantity": qty,
            "unit_price_eur": rounded(price, 2),
            "total_eur": rounded(price * qty, 2),
            "region": [REGION.get(contacts[i]["country"], "EMEA") for i in who],
            "plant": [("Tempe" if contacts[i]["country"] == "US" else world.plants[i % 4]) for i in who],
            "sales_rep": [reps[int(i)] for i in rng.integers(0, len(reps), n)],
            "status": ["open" if (today - d).days < 10 else "invoiced" for d in days],
        }
    )
