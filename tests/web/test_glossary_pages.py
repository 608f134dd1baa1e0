"""The glossary's pages: propose in a form, the reviewer's queue and the change word by word, approve or
reject in the review form (never the author's own), terms on the dataset page, `.json` twins; a term
never approved does not exist for others."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from threshold.glossary import service

SCRAP = "Share of produced units discarded per plant and day."
Browser = Any  # tests/web/conftest.py's Browser (not imported: a conftest is not a module to import)


def _signed_in(app: Any, anonymous: Browser, user: str) -> Browser:
    b = type(anonymous)(app)  # another browser of the same kind, with its own cookies
    r = b.sign_in(user, f"{user}-pass")
    assert r.status_code == 303
    return b


@pytest.fixture
def carla(app: Any, anonymous: Browser) -> Iterator[Browser]:
    b = _signed_in(app, anonymous, "carla")
    yield b
    b.close()


@pytest.fixture
def ben(app: Any, anonymous: Browser) -> Iterator[Browser]:
    b = _signed_in(app, anonymous, "ben")
    yield b
    b.close()


def _propose(b: Browser, **fields: str) -> Any:
    values = {"term": "Scrap rate", "definition": SCRAP, "domain": "manufacturing", "synonyms": "Ausschussquote"}
    return b.post("/glossary", data={"csrf": b.csrf("/glossary"), **values, **fields})


def test_propose_review_and_see_the_term_on_the_dataset_page(
    org: Any, carla: Browser, anna: Browser, ben: Browser
) -> None:
    r = _propose(carla)
    assert r.status_code == 303 and r.headers["location"] == "/glossary/scrap%20rate"
    own = carla.page("/glossary/scrap%20rate")
    assert own.find_all(id="pending") and own.find_all("form", id="review-form") == []  # not her own
    assert ben.get("/glossary/scrap%20rate").status_code == 404  # not approved: not there for others
    assert [r.attrs["data-term"] for r in anna.page("/glossary").find_all("li", class_="queued")] == ["scrap rate"]
    term = anna.page("/glossary/scrap%20rate")
    change = term.find("div", class_="change", **{"data-field": "definition"})
    assert [n.text() for n in change.find_all("ins")] == [SCRAP]
    form = term.find("form", id="review-form")
    r = anna.post(form.attrs["action"], data={"csrf": form.form_values()["csrf"], "verdict": "reject"})
    assert r.status_code == 422 and "a rejection needs a reason" in r.text
    r = anna.post(form.attrs["action"], data={"csrf": form.form_values()["csrf"], "verdict": "approve"})
    assert r.status_code == 303
    twin = ben.get("/glossary/scrap%20rate.json").json()
    assert (twin["status"], twin["definition"]) == ("approved", SCRAP)
    rows = ben.page("/glossary").find_all("tr", class_="term")
    assert [r.attrs["data-term"] for r in rows] == ["scrap rate"]
    service.link(org.platform, org.anna, "scrap rate", "column:manufacturing.plant_kpis.scrap_rate")
    terms = ben.page("/datasets/manufacturing.plant_kpis").find(id="terms")
    assert terms.find("dd").text() == "Scrap rate" and terms.find("a").attrs["href"] == "/glossary/scrap%20rate"
    assert ben.get("/datasets/manufacturing.plant_kpis.json").json()["terms"][0]["key"] == "scrap rate"


def test_a_rejected_edit_from_the_term_page_keeps_the_text(carla: Browser, anna: Browser, ben: Browser) -> None:
    _propose(carla)
    form = anna.page("/glossary/scrap%20rate").find("form", id="review-form")
    anna.post(form.attrs["action"], data={"csrf": form.form_values()["csrf"], "verdict": "approve"})
    edit = ben.page("/glossary/scrap%20rate").find(id="edit").find("form")
    values = edit.form_values() | {"definition": "Discarded units per line and shift."}
    assert ben.post("/glossary", data=values).status_code == 303
    form = anna.page("/glossary/scrap%20rate").find("form", id="review-form")
    r = anna.post(
        form.attrs["action"], data={"csrf": form.form_values()["csrf"], "verdict": "reject", "note": "per plant"}
    )
    assert r.status_code == 303
    shown = ben.page("/glossary/scrap%20rate")
    assert shown.find(id="definition").text() == SCRAP
    assert [r.attrs["data-status"] for r in shown.find_all("tr", class_="revision")] == ["rejected", "approved"]
    assert ben.post("/glossary", data={"term": "x", "definition": "y"}).status_code == 403  # no CSRF token
