"""The demo's glossary: approved terms its people reviewed (with synonyms search uses, links to the data
and insights they name), an edit waiting for review, a rejected edit, and a draft.

People missing from a small build are replaced by someone who always is (owners and anchor people)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from threshold.errors import NotFound
from threshold.glossary import service
from threshold.identity.service import get_person
from threshold.insights.models import Insight
from threshold.platform import Platform

_TERMS: list[dict[str, Any]] = [
    {"title": "Scrap rate", "domain": "manufacturing", "author": ("lea", "ben"), "reviewer": "anna",
     "definition": "Share of produced units that fail final inspection and are discarded, per plant and day; "
                   "reworked units are not scrap.",
     "synonyms": ["Ausschussquote", "reject rate"],
     "links": ["column:manufacturing.plant_kpis.scrap_rate", "insight:Scrap rate by line"]},
    {"title": "Energy intensity", "domain": "finance", "author": ("ben",), "reviewer": "claudia",
     "definition": "Energy used per good unit produced, in kWh; the forecast multiplies it by the "
                   "supplier's price.",
     "synonyms": ["Energieintensität", "energy per unit"],
     "links": ["dataset:finance.energy_costs", "insight:Energy per unit by plant"]},
    {"title": "Active customer", "domain": "sales", "author": ("julia", "ben"), "reviewer": "carla",
     "definition": "A customer with at least one delivered order in the last twelve months.",
     "synonyms": ["Aktivkunde"],
     "links": ["dataset:sales.customers"]},
]  # fmt: skip


def build_glossary(platform: Platform, log: Callable[[str], None] = print) -> int:
    """Propose and review the demo's terms; returns how many are in force."""
    approved = 0
    for t in _TERMS:
        author = _first(platform, t["author"])
        service.propose(platform, author, t["title"], definition=t["definition"], domain=t["domain"],
                        synonyms=t["synonyms"], note="the definition we use in the monthly review")  # fmt: skip
        reviewer = get_person(platform, t["reviewer"])
        service.review(platform, reviewer, t["title"], approve=True, note="matches how we report it")
        approved += 1
        for target in filter(None, (_target(platform, x) for x in t["links"])):
            service.link(platform, reviewer, t["title"], target)
    # A rejected edit: the approved text stays in force.
    ben = get_person(platform, "ben")
    service.propose(platform, ben, "Scrap rate", definition="Discarded units over all units started, per line "
                    "and shift.", note="finance counts per line")  # fmt: skip
    service.review(platform, get_person(platform, "anna"), "Scrap rate", approve=False,
                   note="plants report per plant and day; a per-line rate is another term")  # fmt: skip
    # An edit waiting for review, and a new term in review (Claudia sees both in her queue).
    carla = get_person(platform, "carla")
    service.propose(platform, carla, "Energy intensity", note="heating is part of the unit cost",
                    definition="Energy used per good unit produced, in kWh, including the plant's share of site "
                    "heating.")  # fmt: skip
    service.propose(platform, _first(platform, ("henrik", "ben")), "Cost centre", domain="finance",
                    definition="The unit of the organisation to which costs are booked (SAP CO).",
                    synonyms=["Kostenstelle", "cost center"])  # fmt: skip
    # A draft its author still writes.
    service.propose(platform, _first(platform, ("tomasz", "anna")), "OEE", domain="manufacturing",
                    definition="Availability x performance x quality of a line.", submit=False)  # fmt: skip
    log(f"{approved} glossary terms approved, 2 proposals in review, 1 rejected edit, 1 draft")
    return approved


def _first(platform: Platform, names: tuple[str, ...]) -> Any:
    for name in names:
        try:
            return get_person(platform, name)
        except NotFound:
            continue
    raise NotFound(f"none of {', '.join(names)} is in this demo")


def _target(platform: Platform, target: str) -> str | None:
    """`insight:<title>` becomes `insight:<id>` (the demo's insights are found by title; None if this build
    has no such insight)."""
    if not target.startswith("insight:"):
        return target
    with platform.store.session() as s:
        found = s.scalar(select(Insight.id).where(Insight.title == target.removeprefix("insight:")).limit(1))
    return None if found is None else f"insight:{found}"
