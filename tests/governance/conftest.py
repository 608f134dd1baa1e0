"""Governance fixtures: the `org` of tests/conftest.py with manufacturing's domain policy in force.

`governed` (one per test module, SQLite) and `any_governed` (per test, SQLite and PostgreSQL) add to
the org:
- a second snapshot of manufacturing.plant_kpis: one more Berlin row (Zoe Weber) appended by anna,
  so a time-travel read of the first snapshot reads different rows than the current one;
- anna's policy file `MANUFACTURING_POLICY`: finance reads only the Berlin rows, `energy_kwh` is
  replaced by a keyed hash for everyone outside manufacturing, and `e_mail` carries a domain `hash`
  mask, weaker than the personal-data guardrail's redact (which must still win).

`Protected` lists every raw value ben (finance) must never see, and finds them in any text.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from prepared import on_org
from threshold.access.masks import scope_key
from threshold.access.reading import mask_secret
from threshold.governance.policies import apply
from threshold.sharing.service import share
from threshold.store.models import Dataset, Share

MANUFACTURING_POLICY = """\
domain: manufacturing
policies:
  - id: finance-sees-berlin
    kind: row_filter
    description: Finance budgets the Berlin plant only
    datasets: [plant_kpis]
    where: "plant = 'Berlin'"
    readers: {domains: [finance]}
  - id: energy-hashed
    kind: mask
    description: Energy figures are commercially sensitive; joinable, not readable
    datasets: [plant_kpis]
    columns: [energy_kwh]
    mask: hash
  - id: email-hashed
    kind: mask
    description: A weaker mask than the guardrail's; the strictest must win
    datasets: [plant_kpis]
    columns: [e_mail]
    mask: hash
"""

APPENDED_CSV = """Plant,Operator Name,E-Mail,Scrap Rate,Energy kWh,Day
Berlin,Zoe Weber,zoe.weber@example.de,0.2,1800.0,2026-01-07
"""

# Every row of the dataset across both snapshots: (plant, operator_name, e_mail, scrap_rate, energy_kwh, day).
ALL_ROWS = [
    ("Berlin", "Anna Schmidt", "anna.schmidt@example.com", 0.12, 1520.5, "2026-01-03"),
    ("Lyon", "Jean Dupont", "jean.dupont@example.fr", 0.08, 980.25, "2026-01-04"),
    ("Berlin", "Max Müller", "max.mueller@example.de", 0.15, 1610.0, "2026-01-05"),
    ("Porto", "Ana Silva", "ana.silva@example.pt", 0.05, 700.75, "2026-01-05"),
    ("Lyon", "Claire Martin", "claire.martin@example.fr", 0.11, 1010.0, "2026-01-06"),
    ("Berlin", "Zoe Weber", "zoe.weber@example.de", 0.2, 1800.0, "2026-01-07"),
]
COLUMNS = ["plant", "operator_name", "e_mail", "scrap_rate", "energy_kwh", "day"]
MASKED_COLUMNS = {"operator_name": "redact", "e_mail": "redact", "energy_kwh": "hash"}
"""What ben (finance) sees in place of each protected column."""


@dataclass
class Protected:
    """Raw values an outsider must never see, in any form that is easy to recognise in text."""

    values: dict[str, str]
    """Description -> raw value as text."""
    variants: dict[str, str] = field(default_factory=dict)
    """Description -> a recognisable encoding of a raw value (reversed, upper case, md5, hex, base64)."""

    @classmethod
    def of(cls, key: str) -> Protected:
        values: dict[str, str] = {"hash-mask key": key}
        for plant, name, mail, _scrap, energy, _day in ALL_ROWS:
            values[f"e-mail of {name}"] = mail
            values[f"name of {name}"] = name
            values[f"energy of {name} ({plant})"] = repr(energy)
            if plant != "Berlin":
                values[f"plant {plant} (filtered out for finance)"] = plant
        variants: dict[str, str] = {}
        for what, value in values.items():
            if what.startswith(("e-mail", "name")):
                raw = value.encode()
                variants[f"{what}, reversed"] = value[::-1]
                variants[f"{what}, md5"] = hashlib.md5(raw).hexdigest()
                variants[f"{what}, sha256"] = hashlib.sha256(raw).hexdigest()
                variants[f"{what}, hex"] = raw.hex()
                variants[f"{what}, base64"] = base64.b64encode(raw).decode()
        return cls(values, variants)

    def found_in(self, text: str, *, allowed: Iterable[str] = ()) -> list[str]:
        """Descriptions of the protected values `text` contains (case-insensitive), except the `allowed` texts."""
        low = text.lower()
        skip = {a.lower() for a in allowed}
        hits = []
        for what, value in (self.values | self.variants).items():
            v = value.lower()
            if v not in skip and v in low:
                hits.append(what)
        return hits


def energy_key(platform: Any) -> str:
    """The key of the `hash` mask outsiders read `energy_kwh` with: manufacturing's, for an untagged column."""
    return scope_key(mask_secret(platform), "domain|manufacturing|")


def _govern(org: Any, tmp: Path) -> Any:
    platform = org.platform
    with platform.store.session() as s:
        org.first_snapshot = s.scalars(
            select(Dataset.snapshot_id).where(Dataset.full_name == "manufacturing.plant_kpis")
        ).one()
    extra = tmp / "plant_kpis_more.csv"
    extra.write_text(APPENDED_CSV, encoding="utf-8")
    share(platform, extra, domain="manufacturing", name="plant_kpis", mode="append", user=org.anna)
    with platform.store.session() as s:
        ds = s.scalars(select(Dataset).where(Dataset.full_name == "manufacturing.plant_kpis")).one()
        org.current_snapshot = ds.snapshot_id
        assert len(list(s.scalars(select(Share).where(Share.dataset_id == ds.id)))) == 2
    apply(platform, org.anna, MANUFACTURING_POLICY, reason="finance budgets Berlin; energy is sensitive")
    org.energy_key = energy_key(platform)
    org.protected = Protected.of(org.energy_key)
    org.all_rows = ALL_ROWS
    return org


@pytest.fixture(scope="module")
def governed(module_org: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """module_org with a second snapshot and MANUFACTURING_POLICY applied (shared by a module's tests)."""
    return _govern(module_org, tmp_path_factory.mktemp("governed"))


@on_org("any_governed")
def _prepare_governed(org: Any, tmp: Path) -> Any:
    return _govern(org, tmp)


@pytest.fixture
def any_governed(any_org: Any, tmp_path: Path, prepared_homes: Any) -> Any:
    """`governed` on SQLite and on PostgreSQL, for each test (a copy of its home, built once per session)."""
    return any_org if prepared_homes.adopt(any_org, _prepare_governed) else _govern(any_org, tmp_path)


@pytest.fixture
def protected_text() -> Any:
    """`protected_text(obj)`: any result, record or message as one text to search for protected values."""

    def render(obj: Any) -> str:
        return json.dumps(obj, default=str, ensure_ascii=False, sort_keys=True)

    return render
