"""Errors in the browser speak the browser: no page tells a person to run a command (issue 15: "see
`threshold datasets`" sent people to the command line), and a misspelt dataset offers links to the ones
meant."""

from __future__ import annotations

from typing import Any

import pytest

KPIS = "manufacturing.plant_kpis"
MISSING = [
    "/datasets/manufacturing.plant_kpi",
    "/insights/999999",
    "/insights/not-a-number",
    "/boards/999999",
    "/lineage/manufacturing.plant_kpi",
    "/datasets/manufacturing.plant_kpi/quality",
    "/incidents/999999",
    "/products/manufacturing.plant_kpi",
    "/explore?dataset=manufacturing.plant_kpi",
]


@pytest.mark.parametrize("path", MISSING)
def test_a_missing_thing_is_explained_without_a_command(anna: Any, path: str) -> None:
    r = anna.get(path)
    assert r.status_code in (200, 404, 422), r.status_code
    text = anna.parse(r.text).find("main").text()
    assert "threshold " not in text.replace("Threshold", "") and "`" not in text, text[:400]


def test_a_misspelt_dataset_page_offers_the_one_meant(anna: Any) -> None:
    page = anna.parse(anna.get("/datasets/manufacturing.plant_kpi").text)
    assert [a.attrs["href"] for a in page.find("p", id="did-you-mean").find_all("a")] == [f"/datasets/{KPIS}"]
    assert page.find("div", class_="alert").text() == "no dataset 'manufacturing.plant_kpi'"
