"""What the decision point keeps between requests about a dataset named in the path (`known_ref`, per store
metadata version, viewer and name) and the suggestions of a refusal (`did_you_mean`, per version, viewer,
text and the glossary's synonyms of its words): a share, a grant, a revocation, a restriction or an expiry
is seen by the very next request, never one later, and a hidden dataset is refused exactly like a missing one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from threshold.access import known_ref
from threshold.api.app import create_app
from threshold.catalog.search import did_you_mean
from threshold.errors import NotFound
from threshold.governance import controls
from threshold.governance import requests as access
from threshold.identity.service import create_token
from threshold.sharing.service import share

PLANT = "manufacturing.plant_kpis"


@pytest.fixture
def api(org: Any) -> Iterator[Any]:
    """GET as someone through the app, over ASGI, with an API token: (who, path) -> response."""
    runner = asyncio.Runner()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(org.platform)), base_url="http://t")
    tokens: dict[str, str] = {}

    def get(who: str, path: str) -> httpx.Response:
        if who not in tokens:
            tokens[who] = create_token(org.platform, who)[1]
        return runner.run(client.get(path, headers={"Authorization": f"Bearer {tokens[who]}"}))

    yield get
    runner.run(client.aclose())
    runner.close()


def test_a_grant_its_revocation_and_its_expiry_are_seen_by_the_very_next_request(org: Any, api: Any) -> None:
    controls.set_visibility(org.platform, org.anna, PLANT, "on-request")
    preview = f"/api/v1/datasets/{PLANT}/preview?limit=1"
    assert api("carla", preview).status_code == 403
    assert api("carla", preview).status_code == 403  # asked twice: kept
    assert known_ref(org.platform, org.carla, PLANT).granted is False
    asked = access.request_access(org.platform, org.carla, PLANT, purpose="sales forecast", days=1)
    grant = access.approve(org.platform, org.anna, asked.id, reason="ok").grant
    assert known_ref(org.platform, org.carla, PLANT).granted is True
    assert api("carla", preview).status_code == 200  # the very next request holds the grant
    access.revoke(org.platform, org.anna, grant, reason="done")
    assert api("carla", preview).status_code == 403
    assert known_ref(org.platform, org.carla, PLANT).granted is False
    # a grant that ends: kept until its end by the platform's clock, then refused with no change in the store
    asked = access.request_access(org.platform, org.carla, PLANT, purpose="sales forecast", days=1)
    access.approve(org.platform, org.anna, asked.id, reason="ok")
    assert known_ref(org.platform, org.carla, PLANT).granted is True
    now = org.platform.clock()
    org.platform.clock = lambda: now + timedelta(days=2)
    assert known_ref(org.platform, org.carla, PLANT).granted is False
    assert api("carla", preview).status_code == 403


def test_a_new_or_restricted_dataset_is_seen_by_the_very_next_request(org: Any, api: Any, tmp_path: Any) -> None:
    new = "manufacturing.scrap_log"
    assert api("carla", f"/api/v1/datasets/{new}").status_code == 404
    with pytest.raises(NotFound):
        known_ref(org.platform, org.carla, new)
    csv = tmp_path / "scrap_log.csv"
    csv.write_text("plant,scrap\nBerlin,3\n", encoding="utf-8")
    share(org.platform, csv, domain="manufacturing", user=org.anna, name="scrap_log")
    assert known_ref(org.platform, org.carla, new).name == new
    assert api("carla", f"/api/v1/datasets/{new}").status_code == 200  # the very next request finds it
    controls.set_visibility(org.platform, org.anna, new, "restricted")
    other = "manufacturing.scrap_lag"  # missing, and as near the others' names
    hidden, missing = api("carla", f"/api/v1/datasets/{new}"), api("carla", f"/api/v1/datasets/{other}")
    assert (hidden.status_code, missing.status_code) == (404, 404)
    assert hidden.text.replace(new, "<D>") == missing.text.replace(other, "<D>")
    with pytest.raises(NotFound) as refused:
        known_ref(org.platform, org.carla, new)
    assert str(refused.value) == f"no dataset {new!r}"
    assert known_ref(org.platform, org.anna, new).visibility == "restricted"  # its own domain still knows it


def test_suggestions_follow_what_the_viewer_may_know(org: Any, api: Any) -> None:
    typo = "manufacturing.plant_kpi"
    assert did_you_mean(org.platform, typo, viewer=org.carla) == [PLANT]
    assert did_you_mean(org.platform, typo, viewer=org.carla) == [PLANT]  # kept
    assert PLANT in api("carla", f"/api/v1/datasets/{typo}").text
    controls.set_visibility(org.platform, org.anna, PLANT, "restricted")
    assert did_you_mean(org.platform, typo, viewer=org.carla) == []  # the very next refusal names it no more
    refused = api("carla", f"/api/v1/datasets/{typo}")
    assert refused.status_code == 404 and "plant_kpis" not in refused.text
    assert did_you_mean(org.platform, typo, viewer=org.anna) == [PLANT]
    controls.set_visibility(org.platform, org.anna, PLANT, "open")
    assert did_you_mean(org.platform, typo, viewer=org.carla) == [PLANT]


def test_without_the_version_every_lookup_reads_the_store(org: Any) -> None:
    """A store whose metadata version cannot be read (before its migration) keeps nothing and still answers."""
    from sqlalchemy import text

    with org.platform.store.session() as s:
        s.execute(text("DELETE FROM metadata_version WHERE id = 1"))
    assert org.platform.store.metadata_version() is None
    assert known_ref(org.platform, org.carla, PLANT).name == PLANT
    assert did_you_mean(org.platform, "manufacturing.plant_kpi", viewer=org.carla) == [PLANT]
    controls.set_visibility(org.platform, org.anna, PLANT, "restricted")
    with pytest.raises(NotFound):
        known_ref(org.platform, org.carla, PLANT)
    assert did_you_mean(org.platform, "manufacturing.plant_kpi", viewer=org.carla) == []
    assert getattr(org.platform, "_known_refs", None) is None and getattr(org.platform, "_suggestions", None) is None


def test_the_kept_sql_condition_of_who_may_know_follows_the_viewers_domains(org: Any) -> None:
    """`knowable` is built once per set of domains (it is SQL, evaluated on each query): a person who joins the
    domain of a restricted dataset knows it on the next lookup, and the others still do not."""
    from dataclasses import replace

    from threshold.access.visibility import find_dataset, knowable
    from threshold.identity.service import get_person, join_domain

    controls.set_visibility(org.platform, org.anna, PLANT, "restricted")
    assert knowable(org.carla) is knowable(replace(org.carla, id=0, name="someone of sales"))  # built once
    with org.platform.store.session() as s, pytest.raises(NotFound):
        find_dataset(s, org.carla, PLANT)
    join_domain(org.platform, "carla", "manufacturing")
    joined = get_person(org.platform, "carla")
    with org.platform.store.session() as s:
        assert find_dataset(s, joined, PLANT).full_name == PLANT
        with pytest.raises(NotFound):
            find_dataset(s, org.carla, PLANT)  # as she was: sales only
    assert known_ref(org.platform, joined, PLANT).domain == "manufacturing"


def test_a_read_decision_asked_outside_the_gateway_is_kept_until_the_metadata_changes_or_a_grant_ends(
    org: Any,
) -> None:
    """A page, a route or a command deciding about a dataset (no session of its own: `decide` opens one) reuses
    the decision under the same metadata version, like the gateway, and sees a grant, and its end, at once."""
    from threshold.access.reading import decide, decision_key, kept_decisions

    platform = org.platform
    controls.set_visibility(platform, org.anna, PLANT, "on-request")
    [refused] = decide(platform, org.carla, [PLANT], None)
    assert not refused.allowed
    version = platform.store.metadata_version()
    assert version is not None
    assert kept_decisions(platform).get(decision_key(version, org.carla, None, PLANT)) is refused
    assert decide(platform, org.carla, [PLANT], None)[0] is refused  # asked again: kept
    asked = access.request_access(platform, org.carla, PLANT, purpose="sales forecast", days=1)
    access.approve(platform, org.anna, asked.id, reason="ok")
    assert decide(platform, org.carla, [PLANT], "sales forecast")[0].allowed  # the very next decision
    now = platform.clock()
    platform.clock = lambda: now + timedelta(days=2)
    assert not decide(platform, org.carla, [PLANT], "sales forecast")[0].allowed  # ended, with no change stored
