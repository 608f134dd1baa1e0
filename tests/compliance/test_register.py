"""The collection register: recorded with the share, required where the organisation says so (a refused share
leaves nothing), edited by owners with history, listed and exported filtered by the decision point.
On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from threshold.compliance import register as reg
from threshold.errors import Denied, InvalidInput, NotFound
from threshold.governance.controls import set_visibility
from threshold.sharing.service import share

CUSTOMERS = """Customer Name,E-Mail,Country,Signed Up
Anna Schmidt,anna.schmidt@example.com,DE,2024-01-03
Jean Dupont,jean.dupont@example.fr,FR,2025-03-04
Max Müller,max.mueller@example.de,DE,2026-01-05
Ana Silva,ana.silva@example.pt,PT,2026-02-05
"""

FULL = {
    "legal_basis": "consent",
    "subjects": "customers, newsletter readers",
    "retention": "2y",
    "retention_column": "signed_up",
    "source_system": "SAP",
    "controller": "dpo@example.com",
}


def _customers(org: Any, tmp: Any, name: str = "customers", **collection: Any) -> Any:
    path = tmp / f"{name}.csv"
    path.write_text(CUSTOMERS, encoding="utf-8")
    return share(
        org.platform,
        path,
        domain="manufacturing",
        user=org.anna,
        purpose="newsletter delivery",
        collection=collection or None,
    )


def test_a_share_records_the_register_with_readable_bases(any_org: Any, tmp_path: Any) -> None:
    _customers(any_org, tmp_path, **FULL)
    rec = reg.show(any_org.platform, any_org.anna, "manufacturing.customers")
    assert rec.recorded
    assert (rec.purpose, rec.legal_basis, rec.legal_basis_label) == (
        "newsletter delivery",
        "consent",
        "Art. 6(1)(a) consent of the data subject",
    )
    assert rec.subjects == ("customers", "newsletter readers")
    assert (rec.retention, rec.retention_days, rec.retention_column) == ("2y", 730, "signed_up")
    assert (rec.source_system, rec.controller, rec.missing) == ("SAP", "dpo@example.com", [])
    assert set(rec.personal_columns) >= {"customer_name", "e_mail"}
    with any_org.platform.store.session() as s:
        ds_id = rec.dataset_id
        assert reg.record_of(s, ds_id) == rec
    [first] = reg.history(any_org.platform, any_org.anna, "manufacturing.customers")
    assert first.by == "anna" and first.note == "recorded at share"
    assert first.changes["legal_basis"] == [None, "consent"]


def test_a_required_register_refuses_the_share_in_one_line_and_leaves_nothing(
    any_org: Any, tmp_path: Any, state_of: Any
) -> None:
    p = any_org.platform
    p.settings.compliance.register_required = True
    before = state_of(p)
    with pytest.raises(InvalidInput) as refused:
        _customers(any_org, tmp_path, legal_basis="consent", controller="dpo@example.com")
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("manufacturing.customers holds personal data (")
    assert "needs subjects, retention, retention column, source system before it is published" in message
    assert state_of(p) == before
    with p.store.session() as s:
        assert s.execute(reg.select(reg.RegisterEntry)).first() is None
    # Complete, it is published.
    _customers(any_org, tmp_path, **FULL)
    assert reg.show(p, any_org.anna, "manufacturing.customers").missing == []


def test_bad_register_values_are_refused_before_anything_is_kept(any_org: Any, tmp_path: Any, state_of: Any) -> None:
    before = state_of(any_org.platform)
    cases = [
        ({"legal_basis": "because"}, "unknown legal basis 'because'; use one of consent, contract"),
        ({"retention": "forever"}, "retention 'forever' is not a period like 90d"),
        ({"retention_column": "country"}, "retention column 'country' is varchar, not a date or timestamp"),
        ({"retention_column": "nope"}, "retention column 'nope' is not a column of manufacturing.customers"),
        ({"colour": "red"}, "unknown register field 'colour'"),
    ]
    for given, expected in cases:
        with pytest.raises(InvalidInput, match=expected.replace("(", r"\(").replace(")", r"\)")):
            _customers(any_org, tmp_path, **given)
        assert state_of(any_org.platform) == before


def test_owners_edit_with_history_and_others_may_not(any_org: Any, tmp_path: Any) -> None:
    p = any_org.platform
    _customers(any_org, tmp_path, **FULL)
    rec = reg.set_record(p, any_org.anna, "manufacturing.customers", legal_basis="contract", retention="18m")
    assert (rec.legal_basis, rec.retention_days, rec.updated_by) == ("contract", 540, "anna")
    edited, first = reg.history(p, any_org.anna, "manufacturing.customers")
    assert edited.note == "edited" and edited.by == "anna"
    assert edited.changes == {"legal_basis": ["consent", "contract"], "retention": ["2y", "18m"]}
    assert first.note == "recorded at share"
    # Nothing changed: no new history line.
    reg.set_record(p, any_org.anna, "manufacturing.customers", legal_basis="contract")
    assert len(reg.history(p, any_org.anna, "manufacturing.customers")) == 2
    with pytest.raises(Denied, match="does not own domain 'manufacturing'"):
        reg.set_record(p, any_org.carla, "manufacturing.customers", legal_basis="consent")
    set_visibility(p, any_org.anna, "manufacturing.customers", "restricted")
    for attempt in (
        lambda: reg.set_record(p, any_org.carla, "manufacturing.customers", legal_basis="consent"),
        lambda: reg.show(p, any_org.carla, "manufacturing.customers"),
        lambda: reg.history(p, any_org.carla, "manufacturing.customers"),
    ):
        with pytest.raises(NotFound, match="no dataset 'manufacturing.customers'"):
            attempt()


def test_the_export_lists_what_each_person_may_know(any_org: Any, tmp_path: Any) -> None:
    p = any_org.platform
    _customers(any_org, tmp_path, **FULL)
    _customers(any_org, tmp_path, name="leads", legal_basis="legitimate interests")
    set_visibility(p, any_org.anna, "manufacturing.leads", "restricted")
    rows = json.loads(reg.export(p, any_org.admin, "json"))
    by_name = {r["dataset"]: r for r in rows}
    # plant_kpis holds names and e-mails and has no entry: listed as missing.
    assert set(by_name) == {"manufacturing.customers", "manufacturing.leads", "manufacturing.plant_kpis"}
    assert by_name["manufacturing.plant_kpis"]["recorded"] is False
    assert by_name["manufacturing.leads"]["legal_basis_label"] == "Art. 6(1)(f) legitimate interests"
    assert "retention" in by_name["manufacturing.leads"]["missing"]
    # carla (sales) may not know the restricted dataset: it is in no line of hers, not even counted.
    text = reg.export(p, any_org.carla, "csv")
    assert "leads" not in text
    lines = list(csv.DictReader(io.StringIO(text)))
    assert [r["dataset"] for r in lines] == ["manufacturing.customers", "manufacturing.plant_kpis"]
    assert lines[0]["subjects"] == "customers; newsletter readers"
    assert [r.dataset for r in reg.register(p, any_org.admin, legal_basis_filter="consent")] == [
        "manufacturing.customers"
    ]
    assert [r.dataset for r in reg.register(p, any_org.admin, missing_only=True)] == [
        "manufacturing.leads",
        "manufacturing.plant_kpis",
    ]
    with pytest.raises(InvalidInput, match="export format must be csv or json"):
        reg.export(p, any_org.admin, "xml")


def test_the_register_is_carried_into_the_odcs_contract(any_org: Any, tmp_path: Any) -> None:
    from threshold.products import contract_document, contracts

    _customers(any_org, tmp_path, **FULL)
    contract = contracts.build(any_org.platform, ["manufacturing.customers"])
    props = {p.property: p.value for p in contract.customProperties or []}
    assert props["legalBasis"] == "Art. 6(1)(a) consent of the data subject"
    assert props["dataSubjects"] == ["customers", "newsletter readers"]
    assert (props["retention"], props["retentionColumn"], props["controller"]) == ("2y", "signed_up", "dpo@example.com")
    assert contract_document.parse(contract_document.dump(contract)).customProperties  # valid ODCS v3


def test_a_dataset_without_personal_data_needs_no_entry(any_org: Any, tmp_path: Any) -> None:
    p = any_org.platform
    p.settings.compliance.register_required = True
    path = tmp_path / "scrap.csv"
    path.write_text("Plant,Scrap Rate,Day\nBerlin,0.12,2026-01-03\nLyon,0.08,2026-01-04\n", encoding="utf-8")
    share(p, path, domain="manufacturing", user=any_org.anna, purpose="plant reporting")
    rec = reg.show(p, any_org.anna, "manufacturing.scrap")
    assert (rec.recorded, rec.personal_columns) == (False, ())
    assert "manufacturing.scrap" not in {r.dataset for r in reg.register(p, any_org.admin)}
