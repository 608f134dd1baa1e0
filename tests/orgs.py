"""The small organisation most tests start from (people anna, ben, carla; one dataset manufacturing.plant_kpis),
in a plain module so that folders with their own conftest import it by name (`from orgs import Org`): under
a whole run the module name `conftest` belongs to whichever folder's conftest was collected last."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from threshold.identity.service import ADMIN, Person, add_domain, add_user, get_person, join_domain
from threshold.platform import Platform

PLANT_KPIS_CSV = """Plant,Operator Name,E-Mail,Scrap Rate,Energy kWh,Day
Berlin,Anna Schmidt,anna.schmidt@example.com,0.12,1520.5,2026-01-03
Lyon,Jean Dupont,jean.dupont@example.fr,0.08,980.25,2026-01-04
Berlin,Max Müller,max.mueller@example.de,0.15,1610.0,2026-01-05
Porto,Ana Silva,ana.silva@example.pt,0.05,700.75,2026-01-05
Lyon,Claire Martin,claire.martin@example.fr,0.11,1010.0,2026-01-06
"""


@dataclass
class Org:
    platform: Platform
    admin: Person
    anna: Person
    ben: Person
    carla: Person
    plant_kpis_csv: Path


def _build_org(platform: Platform, tmp_path: Path) -> Org:
    from threshold.sharing.service import share

    for name in ("anna", "ben", "carla"):
        add_user(platform, name, display_name=name.title(), password=f"{name}-pass")
    add_domain(platform, "manufacturing", owners=("anna",))
    add_domain(platform, "finance", owners=("ben",))
    add_domain(platform, "sales")
    join_domain(platform, "carla", "sales")
    csv = tmp_path / "plant_kpis.csv"
    csv.write_text(PLANT_KPIS_CSV, encoding="utf-8")
    share(
        platform,
        csv,
        domain="manufacturing",
        user=get_person(platform, "anna"),
        description="Daily KPIs per plant: scrap rate, energy",
        purpose="plant performance reporting",
    )
    return Org(
        platform,
        get_person(platform, ADMIN),
        get_person(platform, "anna"),
        get_person(platform, "ben"),
        get_person(platform, "carla"),
        csv,
    )
