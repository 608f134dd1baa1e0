"""Incidents go upstream: a problem seen in a derived dataset's column is routed, through column lineage,
to the dataset and domain that produce the data; downstream owners and recent consumers are told."""

from __future__ import annotations

from typing import Any

import pytest

from prepared import on_org
from threshold.gateway.service import query
from threshold.identity.service import get_person, join_domain
from threshold.notifications.service import inbox
from threshold.quality import dataset_checks, incidents
from threshold.quality.incident_records import get_incident, list_incidents
from threshold.quality.incident_results import RoutedTo
from threshold.quality.kinds import CheckSpec

try:
    from threshold.lineage.derive import derive
except ImportError:  # the lineage capability is built alongside; these tests wait for it
    derive = None  # type: ignore[assignment]

pytestmark = pytest.mark.skipif(
    derive is None, reason="the lineage capability (threshold.lineage.derive) is not there yet"
)

KPIS = "manufacturing.plant_kpis"


@on_org("chain")
def _build_chain(org: Any, tmp: Any = None) -> Any:
    """manufacturing.plant_kpis -> sales.plant_summary (carla, owner of sales) -> finance.scrap_costs (ben)."""
    join_domain(org.platform, "carla", "sales", "owner")
    carla = get_person(org.platform, "carla")
    derive(
        org.platform,
        "plant_summary",
        domain="sales",
        user=carla,
        sql=f"SELECT plant, scrap_rate, energy_kwh * 0.25 AS energy_cost, 'x' AS tag FROM {KPIS}",
    )
    derive(
        org.platform,
        "scrap_costs",
        domain="finance",
        user=org.ben,
        sql="SELECT plant, scrap_rate AS rate, energy_cost FROM sales.plant_summary",
    )
    org.carla = carla
    return org


@pytest.fixture
def chain(org: Any, prepared_homes: Any) -> Any:
    """`_build_chain`: a copy of its home built once per session."""
    if not prepared_homes.adopt(org, _build_chain):
        _build_chain(org)
    return org


def test_a_derived_columns_problem_goes_to_the_domain_that_makes_it(chain: Any) -> None:
    incident_id = incidents.report(
        chain.platform, chain.ben, "sales.plant_summary.scrap_rate", description="Scrap rates above 1 for Porto"
    )

    i = get_incident(chain.platform, chain.ben, incident_id)
    assert i.dataset == "sales.plant_summary" and i.column == "scrap_rate"
    assert i.routed_to == RoutedTo(dataset=KPIS, column="scrap_rate", domain="manufacturing")
    assert i.assignee == "anna" and i.routing["method"] == "lineage"
    assert "routed upstream to manufacturing" in i.routing["reason"]
    assert [(p["dataset"], p["column"]) for p in i.routing["path"]] == [
        ("sales.plant_summary", "scrap_rate"),
        (KPIS, "scrap_rate"),
    ]


def test_two_derivations_up_through_a_renamed_and_a_computed_column(chain: Any) -> None:
    renamed = incidents.report(chain.platform, chain.ben, "finance.scrap_costs.rate", description="?")
    computed = incidents.report(chain.platform, chain.ben, "finance.scrap_costs.energy_cost", description="?")

    r = get_incident(chain.platform, chain.ben, renamed)
    assert [(p["dataset"], p["column"]) for p in r.routing["path"]] == [
        ("finance.scrap_costs", "rate"),
        ("sales.plant_summary", "scrap_rate"),
        (KPIS, "scrap_rate"),
    ]
    c = get_incident(chain.platform, chain.ben, computed)
    assert c.routed_to == RoutedTo(dataset=KPIS, column="energy_kwh", domain="manufacturing")
    assert [p["kind"] for p in c.routing["path"]][1:] == ["identity", "transform"]


def test_a_column_made_in_the_derivation_stays_with_its_domain(chain: Any) -> None:
    incident_id = incidents.report(chain.platform, chain.ben, "sales.plant_summary.tag", description="constant?")
    i = get_incident(chain.platform, chain.ben, incident_id)
    assert i.domain == "sales" and i.routing["method"] == "own-domain"
    assert "no upstream origin for tag" in i.routing["reason"]


def test_a_failed_check_on_a_derived_dataset_is_routed_upstream(chain: Any) -> None:
    dataset_checks.add(
        chain.platform, chain.carla, "sales.plant_summary", CheckSpec("range", {"column": "scrap_rate", "max": 0.1})
    )
    dataset_checks.run(chain.platform, chain.carla, "sales.plant_summary")
    (i,) = list_incidents(chain.platform, chain.carla)
    assert i.kind == "check" and i.domain == "manufacturing" and i.routed_to.column == "scrap_rate"


def test_downstream_owners_and_recent_consumers_are_told(chain: Any) -> None:
    from threshold.identity.service import add_user

    add_user(chain.platform, "ed", domains=("sales",))
    ed = get_person(chain.platform, "ed")
    query(chain.platform, "SELECT * FROM finance.scrap_costs", user=ed, purpose="cost review")

    incident_id = incidents.report(chain.platform, chain.anna, f"{KPIS}.scrap_rate", description="sensor drift")

    kinds = {
        name: [m.kind for m in inbox(chain.platform, get_person(chain.platform, name))]
        for name in ("anna", "ben", "carla", "ed")
    }
    assert kinds == {
        "anna": [],
        "ben": ["incident.upstream"],
        "carla": ["incident.upstream"],
        "ed": ["incident.affects"],
    }
    affected = {
        a.dataset: (a.relation, a.level) for a in get_incident(chain.platform, chain.anna, incident_id).affected
    }
    assert affected == {
        KPIS: ("routed", 0),
        "sales.plant_summary": ("downstream", 1),
        "finance.scrap_costs": ("downstream", 2),
    }
