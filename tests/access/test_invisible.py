"""The leaks measured on the first milestone, each closed at the service (so every interface is):
hr.employees is restricted; ben (finance) must not learn it exists from usage, impact analysis, a domain's
quality, org-wide usage or the gateway's refusal."""

from __future__ import annotations

from typing import Any

import pytest

from threshold.errors import InvalidInput, NotFound, ThresholdError
from threshold.gateway.service import query
from threshold.governance import audit
from threshold.lineage.impact import impact
from threshold.quality.score import domain_quality
from threshold.usage.service import dataset_usage, org_usage, person_usage

from .conftest import RESTRICTED, Restricted, World

MISSING = "hr.nosuch"


def _refusal(fn: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ThresholdError) as e:
        fn(*args, **kwargs)
    return type(e.value).__name__, str(e.value)


def _same(world: World, fn: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
    """The refusal for the hidden dataset, checked equal to the one for a missing dataset."""
    hidden = _refusal(fn, *args, **kwargs)
    missing_args = [MISSING if a == RESTRICTED else a for a in args]
    missing = _refusal(fn, *missing_args, **kwargs)
    assert hidden == (missing[0], missing[1].replace(MISSING, RESTRICTED))
    return hidden


def test_dataset_usage_is_refused_as_for_a_missing_dataset(world: World) -> None:
    ben = world.people["ben"]
    assert _same(world, dataset_usage, world.platform, RESTRICTED, viewer=ben)[0] == "NotFound"
    hanna = dataset_usage(world.platform, RESTRICTED, viewer=world.people["hanna"])
    assert Restricted.purpose in str(hanna.to_json()) and Restricted.consumer in str(hanna.to_json())


def test_impact_analysis_does_not_enumerate_a_hidden_schema(world: World) -> None:
    ben = world.people["ben"]
    real = _refusal(impact, world.platform, RESTRICTED, "staff_email", viewer=ben)
    made_up = _refusal(impact, world.platform, RESTRICTED, "no_such_column", viewer=ben)
    assert real == made_up == ("NotFound", f"no dataset '{RESTRICTED}'")
    assert impact(world.platform, RESTRICTED, "staff_email", viewer=world.people["hanna"]).type == "VARCHAR"


def test_a_domains_quality_and_org_usage_name_only_what_the_viewer_may_know(world: World) -> None:
    ben, hanna = world.people["ben"], world.people["hanna"]
    assert domain_quality(world.platform, "hr", viewer=ben).datasets == []
    assert RESTRICTED in {d.name for d in domain_quality(world.platform, "hr", viewer=hanna).datasets}
    assert not Restricted.found_in(str(org_usage(world.platform, viewer=ben).to_json()))
    assert RESTRICTED in str(org_usage(world.platform, viewer=hanna).to_json())


def test_the_gateway_refuses_a_hidden_dataset_as_an_unknown_one(world: World) -> None:
    ben = world.people["ben"]
    hidden = _refusal(query, world.platform, f"SELECT * FROM {RESTRICTED}", user=ben)
    missing = _refusal(query, world.platform, f"SELECT * FROM {MISSING}", user=ben)
    assert hidden == ("InvalidInput", missing[1].replace(MISSING, RESTRICTED))
    assert "restricted" not in hidden[1]
    mine = person_usage(world.platform, "ben", viewer=ben)
    assert not Restricted.found_in(str(mine.datasets)) and RESTRICTED not in str([r["datasets"] for r in mine.recent])
    tried = audit.search(world.platform, world.people["hanna"], dataset=RESTRICTED, action="query.denied", actor="ben")
    assert tried and tried[0].rules == ["visibility.restricted"], "hr's owners see the attempt"
    assert audit.search(world.platform, ben, dataset=RESTRICTED) == []
    with pytest.raises(InvalidInput):  # a join does not help either
        query(world.platform, f"SELECT count(*) FROM manufacturing.plant_kpis, {RESTRICTED}", user=ben)


def test_governance_knows_restricted_data_exists_but_does_not_read_it(world: World) -> None:
    gina = world.people["gina"]
    assert dataset_usage(world.platform, RESTRICTED, viewer=gina).names_visible is True
    with pytest.raises(ThresholdError, match="read only by members of hr"):
        query(world.platform, f"SELECT * FROM {RESTRICTED}", user=gina)
    with pytest.raises(NotFound):
        dataset_usage(world.platform, RESTRICTED, viewer=world.people["carla"])
