"""The collection register in the browser: the share preview form records it (a required one refused with the
missing fields named, the upload kept), the dataset page shows and edits it with its history, `/compliance/
register` filters and exports it; `.json` twins; a restricted dataset is in no page of an outsider."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest

from threshold.governance.controls import set_visibility

Browser = Any
CUSTOMERS = b"""Customer Name,E-Mail,Country,Signed Up
Anna Schmidt,anna.schmidt@example.com,DE,2024-01-03
Jean Dupont,jean.dupont@example.fr,FR,2025-03-04
"""


def _fields(form: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n in form.iter():
        name = n.attrs.get("name")
        if not name or "disabled" in n.attrs:
            continue
        if n.tag == "input" and n.attrs.get("type") in ("checkbox", "radio"):
            if "checked" not in n.attrs:
                continue
            value = n.attrs.get("value", "on")
        elif n.tag == "input" and n.attrs.get("type") not in ("file", "submit"):
            value = n.attrs.get("value", "")
        elif n.tag == "textarea":
            value = "".join(c for c in n.children if isinstance(c, str)).removeprefix("\n")
        elif n.tag == "select":
            options = n.find_all("option")
            chosen = [o for o in options if "selected" in o.attrs] or options[:1]
            value = chosen[0].attrs.get("value", chosen[0].text()) if chosen else ""
        else:
            continue
        out[name] = (
            [*out[name], value]
            if name in out and isinstance(out[name], list)
            else ([out[name], value] if name in out else value)
        )
    return out


@pytest.fixture
def carla(app: Any, anonymous: Browser) -> Iterator[Browser]:
    b = type(anonymous)(app)
    assert b.sign_in("carla", "carla-pass").status_code == 303
    yield b
    b.close()


def test_share_with_the_register_then_see_edit_and_export_it(org: Any, anna: Browser, carla: Browser) -> None:
    org.platform.settings.compliance.register_required = True
    form = anna.page("/share").find("form", id="share-form")
    r = anna.post(
        "/share", data=form.form_values() | {"domain": "manufacturing"}, files={"file": ("customers.csv", CUSTOMERS)}
    )
    where = r.headers["location"]
    preview = anna.page(where)
    assert preview.find("fieldset", id="collection-register")
    fields = _fields(preview.find("form", id="preview-form")) | {"reg_legal_basis": "consent", "action": "publish"}
    r = anna.post(where, data=fields)
    assert r.status_code == 422 and "the collection register needs purpose, subjects, retention" in r.text
    again = anna.parse(r.text)
    assert again.find("select", id="reg-basis").find("option", value="consent").attrs.get("selected") is not None
    fields = _fields(again.find("form", id="preview-form")) | {
        "purpose": "newsletter delivery",
        "reg_subjects": "customers",
        "reg_retention": "2y",
        "reg_retention_column": "signed_up",
        "reg_source_system": "Shop",
        "reg_controller": "dpo@example.com",
        "action": "publish",
    }
    r = anna.post(where, data=fields)
    assert r.status_code == 303 and r.headers["location"] == "/datasets/manufacturing.customers"
    page = anna.page("/datasets/manufacturing.customers")
    section = page.find("section", id="register")
    assert "Art. 6(1)(a) consent of the data subject" in section.text() and "2y · signed_up" in section.text()
    edit = section.find("form")
    r = anna.post(edit.attrs["action"], data=_fields(edit) | {"retention": "18m"})
    assert r.status_code == 303
    history = anna.page("/datasets/manufacturing.customers").find("ul", id="register-history").text()
    assert "retention 2y → 18m" in history
    assert anna.get("/datasets/manufacturing.customers.json").json()["register"]["entry"]["retention"] == "18m"
    # carla sees the entry, may not edit it.
    assert carla.page("/datasets/manufacturing.customers").find("section", id="register").find_all("form") == []
    rows = carla.get("/compliance/register.json").json()["entries"]
    assert [r["dataset"] for r in rows] == ["manufacturing.customers", "manufacturing.plant_kpis"]
    listed = carla.page("/compliance/register?legal_basis=consent").find_all("tr", class_="entry")
    assert [r.attrs["data-dataset"] for r in listed] == ["manufacturing.customers"]
    set_visibility(org.platform, org.anna, "manufacturing.customers", "restricted")
    exported = carla.get("/compliance/register.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert [r["dataset"] for r in csv.DictReader(io.StringIO(exported.text))] == ["manufacturing.plant_kpis"]
    assert "customers" not in carla.get("/compliance/register").text
