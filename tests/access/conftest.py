"""An organisation with an open, an on-request and a restricted dataset, in use, for the decision point's tests.

Built on the `org` of tests/conftest.py (admin; anna owns manufacturing, ben owns finance, carla in sales;
manufacturing.plant_kpis, open, with personal columns):
- people: mario (manufacturing member), claudia (finance member), hanna (owns hr), ingeborg (hr member),
  gina (the governance group);
- finance.budget: on request (cost centre, amount); carla's request for it waits, claudia reads it;
- hr.employees: restricted (hr's default), with `Restricted.columns`, names, e-mails and IBANs tagged;
  ingeborg reads it for `Restricted.purpose`; hanna derives hr.staff_by_plant from it and plant_kpis (so
  something hidden is built on an open dataset); a failing check on it, and an incident seen in it;
  hr's policy file names it; anna planned a change whose audience includes hr's owners.

`Restricted` lists what an outsider of hr must never find in any answer: the names of hr's datasets, their
column names, their consumer and the purpose she declared.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from prepared import kind, on_org
from threshold.governance import controls, policies
from threshold.governance import requests as access_requests
from threshold.identity.service import add_domain, add_user, get_person, join_domain, set_password
from threshold.lineage.derive import derive
from threshold.quality import dataset_checks as checks
from threshold.quality import incidents
from threshold.quality.kinds import CheckSpec
from threshold.sharing.service import share

OPEN, ON_REQUEST, RESTRICTED = "manufacturing.plant_kpis", "finance.budget", "hr.employees"
DERIVED = "hr.staff_by_plant"


@dataclass(frozen=True)
class Restricted:
    """What an outsider of hr must never see."""

    names = (RESTRICTED, DERIVED, "staff_by_plant")
    columns = ("staff_code", "staff_email", "pay_grade", "staff_iban")
    consumer = "ingeborg"
    purpose = "salary review 2027"

    @classmethod
    def tokens(cls) -> tuple[str, ...]:
        return (*cls.names, *cls.columns, cls.consumer, cls.purpose)

    @classmethod
    def found_in(cls, text: str) -> list[str]:
        low = text.lower()
        return [t for t in cls.tokens() if t.lower() in low]


EMPLOYEES = pa.table(
    {
        "staff_code": ["S-001", "S-002", "S-003"],
        "staff_name": ["Hilde Brandt", "Jonas Weber", "Ana Silva"],
        "staff_email": ["hilde.brandt@example.com", "jonas.weber@example.com", "ana.silva@example.pt"],
        "plant": ["Berlin", "Lyon", "Porto"],
        "pay_grade": ["E9", "E11", "E7"],
        "staff_iban": ["DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606"],
    }
)
BUDGET = pa.table({"cost_centre": ["CC-10", "CC-20"], "amount": [120000.0, 98000.5]})
SHIFT_CSV = """Plant,Operator Name,E-Mail,Scrap Rate,Energy kWh,Day,Shift
Porto,Rui Costa,rui.costa@example.pt,0.07,690.0,2026-01-08,night
"""
HR_POLICY = """\
domain: hr
policies:
  - id: grades-hidden
    kind: mask
    datasets: [employees]
    columns: [pay_grade]
    mask: "null"
    readers: everyone
"""


@dataclass
class World:
    org: Any
    people: dict[str, Any]
    ids: dict[str, Any]
    """Ids of things made for each dataset: checks, incidents, requests, grants."""

    @property
    def platform(self) -> Any:
        return self.org.platform

    def person(self, name: str) -> Any:
        return get_person(self.platform, name)


def build_world(org: Any) -> World:
    p = org.platform
    for name, domains in (
        ("mario", ("manufacturing",)),
        ("claudia", ("finance",)),
        ("hanna", ()),
        ("ingeborg", ()),
    ):
        add_user(p, name, display_name=name.title(), domains=domains, password=f"{name}-pass")
    add_user(p, "gina", display_name="Gina", governance=True, password="gina-pass")
    set_password(p, "admin", "admin-pass")
    add_domain(p, "hr", owners=("hanna",))
    join_domain(p, "ingeborg", "hr")
    hanna = get_person(p, "hanna")
    controls.set_visibility(p, hanna, "hr", "restricted")
    share(p, EMPLOYEES, domain="hr", name="employees", user=hanna, description="Everyone employed, with pay")
    for column, tag in (("staff_name", "personal.name"), ("staff_email", "personal.email")):
        controls.tag(p, hanna, f"{RESTRICTED}.{column}", tag)
    policies.apply(p, hanna, HR_POLICY, reason="grades are confidential")
    ben = get_person(p, "ben")
    share(p, BUDGET, domain="finance", name="budget", user=ben, description="Budget per cost centre")
    controls.set_visibility(p, ben, ON_REQUEST, "on-request")

    from threshold.gateway.service import query

    people = {
        n: get_person(p, n) for n in ("admin", "anna", "ben", "carla", "mario", "claudia", "hanna", "ingeborg", "gina")
    }
    query(p, f"SELECT staff_code, pay_grade FROM {RESTRICTED}", user=people["ingeborg"], purpose=Restricted.purpose)
    query(p, f"SELECT plant, energy_kwh FROM {OPEN}", user=people["ben"], purpose="energy cost forecast")
    query(p, f"SELECT plant FROM {OPEN}", user=people["mario"], purpose="plant report")
    query(p, f"SELECT amount FROM {ON_REQUEST}", user=people["claudia"], purpose="budget review")
    derive(
        p,
        "staff_by_plant",
        domain="hr",
        sql=f"SELECT e.staff_code, k.plant, k.scrap_rate FROM {RESTRICTED} e JOIN {OPEN} k ON e.plant = k.plant",
        user=hanna,
        purpose="staffing plan",
    )
    requests, grants = {}, {}
    for dataset, asker, owner in (
        (OPEN, people["carla"], people["anna"]),
        (ON_REQUEST, people["carla"], ben),
        (RESTRICTED, people["ingeborg"], hanna),
    ):
        requests[dataset] = access_requests.request_access(p, asker, dataset, purpose="quarterly report").id
        granted = access_requests.request_access(p, asker, dataset, purpose="annual report")
        grants[dataset] = access_requests.approve(p, owner, int(granted.id)).grant

    ids: dict[str, dict[str, Any]] = {OPEN: {}, ON_REQUEST: {}, RESTRICTED: {}}
    for dataset, owner, spec in (
        (RESTRICTED, hanna, CheckSpec("accepted_values", {"column": "pay_grade", "values": ["E9", "E11"]})),
        (OPEN, people["anna"], CheckSpec("range", {"column": "scrap_rate", "min": 0, "max": 0.1})),
        (ON_REQUEST, ben, CheckSpec("range", {"column": "amount", "min": 0, "max": 100000})),
    ):
        ids[dataset]["check"] = checks.add(p, owner, dataset, spec).id
        checks.run(p, owner, dataset)
    ids[RESTRICTED]["incident"] = incidents.report(
        p, people["ingeborg"], f"{RESTRICTED}.pay_grade", description="grade E7 is not in the pay scale"
    )
    ids[OPEN]["incident"] = incidents.report(p, people["ben"], f"{OPEN}.scrap_rate", description="Porto looks low")
    ids[ON_REQUEST]["incident"] = incidents.report(p, people["claudia"], ON_REQUEST, description="CC-20 amount odd")
    for dataset in ids:
        ids[dataset]["request"], ids[dataset]["grant"] = requests[dataset], grants[dataset]
    from threshold.lineage.impact import impact

    impact(p, OPEN, "plant", change="rename", viewer=people["anna"], notify=True)
    # hr asks a question of both datasets (its text names hr's), and plant_kpis changes its schema: its
    # readers are told what is built on it (hr's derived dataset among it).
    query(
        p,
        f"SELECT k.plant, count(*) AS staff FROM {RESTRICTED} e JOIN {OPEN} k ON e.plant = k.plant GROUP BY k.plant",
        user=hanna,
        purpose="staffing plan",
    )
    more = write(Path(str(org.plant_kpis_csv)).with_name("plant_kpis_shift.csv"), SHIFT_CSV)
    share(p, more, domain="manufacturing", name="plant_kpis", mode="append", evolve=True, user=people["anna"])
    return World(org, people, ids)


@on_org("fresh_world")
def _prepare_world(org: Any, tmp: Path) -> World:
    return build_world(org)


def _rebind(org: Any, built: World) -> World:
    return World(org, {name: get_person(org.platform, name) for name in built.people}, built.ids)


@pytest.fixture(scope="module")
def world(prepared_homes: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The organisation above for a test module (its tests only read it): a copy of its own home (not
    `module_org`'s), built once per session."""
    for org, built in prepared_homes.copy_org(kind(_prepare_world), "sqlite", tmp_path_factory.mktemp("world")):
        yield _rebind(org, built)


@pytest.fixture
def fresh_world(org: Any, prepared_homes: Any) -> World:
    """The organisation above for one test (it may change it): a copy of it built once per session."""
    built = prepared_homes.result(org.platform, _prepare_world)
    return build_world(org) if built is None else _rebind(org, built)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
