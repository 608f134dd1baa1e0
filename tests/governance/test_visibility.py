"""Visibility (open, on-request, restricted) for members, outsiders and admins; a domain's default and a
dataset's override; allowed purposes; and what the catalog shows of data a person may not read.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from threshold.access.reading import decide
from threshold.catalog.search import search
from threshold.catalog.service import describe, recently_shared
from threshold.errors import Denied, InvalidInput, NotFound
from threshold.gateway.service import query
from threshold.governance.audit import search as audit_search
from threshold.governance.controls import set_purposes, set_visibility
from threshold.store.models import Dataset

DATASET = "manufacturing.plant_kpis"
RAW_MAILS = {"anna.schmidt@example.com", "jean.dupont@example.fr", "max.mueller@example.de"}

# visibility, reader -> allowed, the rule that decided. Members read their own data, admins everything,
# outsiders what is open (on-request: with a grant, tested in test_access.py).
MATRIX = [
    ("open", "anna", True, "visibility.member"),
    ("open", "ben", True, "visibility.open"),
    ("open", "admin", True, "visibility.admin"),
    ("on-request", "anna", True, "visibility.member"),
    ("on-request", "ben", False, "visibility.on-request"),
    ("on-request", "admin", True, "visibility.admin"),
    ("restricted", "anna", True, "visibility.member"),
    ("restricted", "ben", False, "visibility.restricted"),
    ("restricted", "admin", True, "visibility.admin"),
]


def _people(org: Any) -> dict[str, Any]:
    return {"anna": org.anna, "ben": org.ben, "carla": org.carla, "admin": org.admin}


def _check(org: Any, visibility: str, how: str) -> list[str]:
    """Mismatches against MATRIX for one visibility, decided and queried."""
    wrong = []
    for vis, name, allowed, rule in MATRIX:
        if vis != visibility:
            continue
        person = _people(org)[name]
        d = decide(org.platform, person, [DATASET], None)[0]
        if (d.allowed, d.rule, d.visibility) != (allowed, rule, visibility):
            wrong.append(f"{how} {visibility} / {name}: decided {(d.allowed, d.rule, d.visibility)}")
        try:
            rows = query(org.platform, f"SELECT e_mail FROM {DATASET}", user=person).table.to_pylist()
        except InvalidInput as e:  # a dataset the reader may not know exists: refused as an unknown one
            if allowed or rule != "visibility.restricted" or str(e) != f"unknown dataset {DATASET}":
                wrong.append(f"{how} {visibility} / {name}: refused with {e}")
        except Denied as e:
            if allowed or rule not in str(e) or "\n" in str(e) or any(m in str(e) for m in RAW_MAILS):
                wrong.append(f"{how} {visibility} / {name}: refused with {e}")
        else:
            if not allowed:
                wrong.append(f"{how} {visibility} / {name}: read {len(rows)} rows")
            mails = {r["e_mail"] for r in rows}
            expected = RAW_MAILS <= mails if name == "anna" else mails == {"***"}
            if not expected:
                wrong.append(f"{how} {visibility} / {name}: saw e-mails {sorted(mails)}")
    return wrong


def test_visibility_matrix_from_the_domain_default_and_from_a_dataset_override(any_org: Any) -> None:
    org, p = any_org, any_org.platform
    with p.store.session() as s:
        assert s.scalar(select(Dataset.visibility).where(Dataset.full_name == DATASET)) is None, (
            "a freshly shared dataset follows its domain's default"
        )
    wrong = []
    for visibility in ("open", "on-request", "restricted"):
        set_visibility(p, org.anna, "manufacturing", visibility)
        wrong += _check(org, visibility, "domain default")
    set_visibility(p, org.anna, "manufacturing", "restricted")
    for visibility in ("open", "on-request", "restricted"):
        set_visibility(p, org.anna, DATASET, visibility)
        wrong += _check(org, visibility, "dataset override of a restricted domain")
    set_visibility(p, org.anna, "manufacturing", "open")
    wrong += _check(org, "restricted", "dataset override of an open domain")
    assert not wrong, "\n".join(wrong)
    changes = [(e.action, e.detail) for e in reversed(audit_search(p, org.anna, action="visibility."))]
    assert changes[:3] == [
        ("visibility.domain", {"domain": "manufacturing", "visibility": "open"}),
        ("visibility.domain", {"domain": "manufacturing", "visibility": "on-request"}),
        ("visibility.domain", {"domain": "manufacturing", "visibility": "restricted"}),
    ]
    assert ("visibility.dataset", {"visibility": "restricted"}) in changes


def test_only_owners_set_visibility_and_only_to_known_values(any_org: Any) -> None:
    org, p = any_org, any_org.platform
    with pytest.raises(Denied, match=r"rule: domain\.owner"):
        set_visibility(p, org.ben, DATASET, "open")
    with pytest.raises(Denied, match=r"rule: domain\.owner"):
        set_visibility(p, org.ben, "manufacturing", "open")
    with pytest.raises(InvalidInput, match="open, on-request, restricted"):
        set_visibility(p, org.anna, DATASET, "secret")
    with pytest.raises(InvalidInput, match="not a column"):
        set_visibility(p, org.anna, f"{DATASET}.e_mail", "restricted")
    with pytest.raises(NotFound):
        set_visibility(p, org.anna, "nowhere", "open")


def test_allowed_purposes(any_org: Any) -> None:
    org, p = any_org, any_org.platform
    with pytest.raises(Denied, match=r"rule: domain\.owner"):
        set_purposes(p, org.ben, DATASET, ["anything"])
    assert set_purposes(p, org.anna, DATASET, [" Energy Cost Forecast", "budget", ""]).allowed_purposes == [
        "budget",
        "energy cost forecast",
    ]
    sql = f"SELECT plant FROM {DATASET}"
    with pytest.raises(Denied, match=r"dataset\.allowed-purposes.*declare a purpose: one of budget, energy cost"):
        query(p, sql, user=org.ben)
    with pytest.raises(Denied, match=r"for budget, energy cost forecast, not for 'marketing'"):
        query(p, sql, user=org.ben, purpose="Marketing")
    assert query(p, sql, user=org.ben, purpose="BUDGET").table.num_rows == 5
    assert query(p, sql, user=org.anna).table.num_rows == 5, "members read their data for any purpose"
    set_purposes(p, org.anna, DATASET, [])
    assert query(p, sql, user=org.ben).table.num_rows == 5
    assert [e.detail["purposes"] for e in audit_search(p, org.anna, action="purposes.set")] == [
        [],
        ["budget", "energy cost forecast"],
    ]


# --- the catalog ------------------------------------------------------------------------------------------


def _names(results: list[dict[str, Any]]) -> list[str]:
    return [r["name"] for r in results]


def test_the_catalog_hides_other_domains_restricted_datasets(any_org: Any) -> None:
    """Decided with the lead: a restricted dataset is invisible outside its domain (search, listing, page);
    an on-request one is listed, so that people can ask for it."""
    org, p = any_org, any_org.platform
    set_visibility(p, org.anna, DATASET, "restricted")
    for person in (org.ben, org.carla):
        for text in ("kpis", "manufacturing", "e_mail", "personal.email", None):
            page = search(p, text, viewer=person)
            assert DATASET not in _names(page.results) and page.total == 0, f"{person.name} finds it by {text!r}"
        assert DATASET not in [d.name for d in recently_shared(p, viewer=person)]
        with pytest.raises(NotFound):
            describe(p, DATASET, viewer=person)
    for person in (org.anna, org.admin):
        assert _names(search(p, "kpis", viewer=person).results) == [DATASET]
    set_visibility(p, org.anna, DATASET, "on-request")
    [hit] = search(p, "kpis", viewer=org.ben).results
    assert (hit["name"], hit["visibility"]) == (DATASET, "on-request")


def test_the_dataset_page_shows_outsiders_no_protected_profile_values(any_governed: Any) -> None:
    """min, max and most common values are lake data: an outsider's page shows none of what they
    could not read through the gateway (masked columns; every value when rows are filtered)."""
    org, p = any_governed, any_governed.platform
    as_ben = json.dumps(describe(p, DATASET, viewer=org.ben).to_json(), default=str, ensure_ascii=False)
    assert not org.protected.found_in(as_ben, allowed=["Berlin"]), org.protected.found_in(as_ben)
    as_carla = describe(p, DATASET, viewer=org.carla)  # not filtered; masked columns only
    text = json.dumps(as_carla.to_json(), default=str, ensure_ascii=False)
    leaked = [w for w in org.protected.found_in(text) if w.startswith(("e-mail", "name", "energy", "hash"))]
    assert not leaked, f"carla's page shows {leaked}"
    plant = next(c for c in as_carla.schema if c.name == "plant")
    assert plant.min == "Berlin", "columns carla reads as they are keep their profile"
    e_mail = next(c for c in describe(p, DATASET, viewer=org.anna).schema if c.name == "e_mail")
    assert (e_mail.min, e_mail.max) == ("ana.silva@example.pt", "zoe.weber@example.de"), (
        "the owning domain sees its own profile"
    )
