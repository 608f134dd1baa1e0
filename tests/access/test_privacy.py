"""People's privacy in usage views: a person always sees their own use; the names of others go to the
producers of the data read and to the governance group; everyone else sees counts per domain and purpose;
an organisation may show producers domains and purposes only (`privacy.producers_see_names`)."""

from __future__ import annotations

from typing import Any

import pytest

from prepared import on_org
from threshold.errors import Denied
from threshold.gateway.service import query
from threshold.identity.service import add_user, get_person
from threshold.products.consumption import dataset_consumers
from threshold.usage.service import dataset_usage, org_usage, person_usage

KPIS = "manufacturing.plant_kpis"


@on_org("used")
def _build_used(org: Any, tmp: Any = None) -> Any:
    p = org.platform
    add_user(p, "gina", governance=True)
    org.gina = get_person(p, "gina")
    query(p, f"SELECT plant FROM {KPIS}", user=org.ben, purpose="energy cost forecast")
    query(p, f"SELECT plant FROM {KPIS}", user=org.carla, purpose="sales planning")
    query(p, f"SELECT plant FROM {KPIS}", user=org.carla, purpose="sales planning")
    return org


@pytest.fixture
def used(org: Any, prepared_homes: Any) -> Any:
    """`_build_used` on the org: a copy of its home built once per session."""
    if not prepared_homes.adopt(org, _build_used):
        _build_used(org)
    return org


def test_producers_and_the_governance_group_see_who_uses_the_data(used: Any) -> None:
    for who in (used.anna, used.gina, used.admin):
        u = dataset_usage(used.platform, KPIS, viewer=who)
        assert u.names_visible is True
        assert {t["user"]: t["queries"] for t in u.top_users} == {"carla": 2, "ben": 1}


def test_other_members_see_counts_per_domain_and_purpose_and_their_own_use(used: Any) -> None:
    u = dataset_usage(used.platform, KPIS, viewer=used.ben)
    assert u.names_visible is False
    assert u.top_users == [{"user": "ben", "queries": 1}], "his own use only"
    assert (u.queries, u.users) == (3, 2)
    assert {d["domain"]: d["queries"] for d in u.domains} == {"sales": 2, "finance": 1}
    assert {x["purpose"]: x["queries"] for x in u.purposes} == {"sales planning": 2, "energy cost forecast": 1}
    c = dataset_consumers(used.platform, KPIS, viewer=used.ben)
    assert c.names_visible is False and c.consumers is None
    assert c.you is not None and c.you.queries == 1 and c.people == 2


def test_a_person_sees_their_own_usage_and_only_the_governance_group_sees_anyones(used: Any) -> None:
    assert person_usage(used.platform, "ben", viewer=used.ben).datasets[0]["dataset"] == KPIS
    with pytest.raises(Denied, match=r"ben may see only their own usage \(rule: usage.self\)"):
        person_usage(used.platform, "carla", viewer=used.ben)
    assert person_usage(used.platform, "carla", viewer=used.gina).datasets[0]["queries"] == 2


def test_an_organisation_can_show_producers_domains_and_purposes_only(used: Any) -> None:
    used.platform.settings.privacy.producers_see_names = False
    try:
        u = dataset_usage(used.platform, KPIS, viewer=used.anna)
        assert u.names_visible is False and u.top_users == []
        assert {d["domain"] for d in u.domains} == {"sales", "finance"}
        assert dataset_consumers(used.platform, KPIS, viewer=used.anna).consumers is None
        assert dataset_usage(used.platform, KPIS, viewer=used.gina).names_visible is True
    finally:
        used.platform.settings.privacy.producers_see_names = True


def test_org_usage_lists_only_datasets_the_person_may_know(used: Any) -> None:
    from threshold.governance import controls

    controls.set_visibility(used.platform, used.anna, KPIS, "restricted")
    assert [d["dataset"] for d in org_usage(used.platform, viewer=used.anna).most_used] == [KPIS]
    carla = org_usage(used.platform, viewer=used.carla)
    assert KPIS not in [d["dataset"] for d in carla.most_used + carla.never_used]
