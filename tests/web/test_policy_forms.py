"""Governance forms in the browser's terms: a change is previewed (resulting policy, change in words), then
applied through the policy editor, which reports what changed in words."""

from __future__ import annotations

from typing import Any

PLANT = "manufacturing.plant_kpis"


def test_visibility_form_previews_then_applies_in_words(anna: Any, org: Any) -> None:
    page = anna.page("/governance/domains/manufacturing")
    form = page.find("section", id="form-dataset").find("form")
    values = form.form_values() | {"visibility": "on-request", "purposes": "reporting"}
    r = anna.post(form.attrs["action"], data=values)
    assert r.status_code == 200
    preview = anna.parse(r.text)
    assert [li.text() for li in preview.find("section", id="change").find_all("li")] == [
        f"{PLANT} would be made on-request (it was open (the domain's default)).",
        f"{PLANT} would be readable for the purposes reporting (it was any purpose).",
    ]
    assert anna.get(f"/datasets/{PLANT}.json").json()["visibility"] == "open"  # nothing applied yet
    apply = preview.find("form", id="apply-change")
    done = anna.post("/governance/policies", data=apply.form_values() | {"reason": "sales data"})
    message = anna.parse(done.text).find(id="policy-message").text()
    assert message == (
        f"Applied policies of manufacturing. {PLANT} was made on-request (it was open (the domain's default)). "
        f"{PLANT} is readable for the purposes reporting (it was any purpose)."
    )
    assert anna.get(f"/datasets/{PLANT}.json").json()["visibility"] == "on-request"


def test_a_mask_form_shows_the_resulting_policy(anna: Any) -> None:
    form = anna.page("/governance/domains/manufacturing").find("section", id="form-mask").find("form")
    values = form.form_values() | {"dataset": "plant_kpis", "columns": "energy_kwh", "mask": "hash"}
    preview = anna.parse(anna.post(form.attrs["action"], data=values).text)
    resulting = [li.text() for li in preview.find("section", id="resulting-policy").find_all("li")]
    assert resulting == [
        "mask-plant-kpis: mask columns energy_kwh with hash for readers outside manufacturing on plant_kpis"
    ]


def test_bad_input_returns_the_forms_with_the_message(anna: Any) -> None:
    form = anna.page("/governance/domains/manufacturing").find("section", id="form-mask").find("form")
    r = anna.post(form.attrs["action"], data=form.form_values() | {"dataset": "plant_kpis", "columns": "nope"})
    assert r.status_code == 422  # InvalidInput
    assert (
        anna.parse(r.text).find(id="form-error").text()
        == "rule mask-plant-kpis: manufacturing.plant_kpis has no column nope"
    )


def test_an_outsider_gets_no_forms_and_the_twin_lists_settings(anna: Any, anonymous: Any, org: Any) -> None:
    twin = anna.get("/governance/domains/manufacturing.json").json()
    assert [d["full_name"] for d in twin["datasets"]] == [PLANT] and twin["rules"] == []
    ben = type(anonymous)(anonymous._client._transport.app)
    assert ben.sign_in("ben", "ben-pass").status_code == 303
    assert ben.get("/governance/domains/manufacturing").status_code == 403
    ben.close()
