"""The glossary: proposals reviewed before they are in force, four eyes, a rejected edit keeps the approved
text, links that hide what a reader may not know, CSV in and out (all rows or none), search synonyms, and
the same over the REST API. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pyarrow as pa
import pytest

from threshold.api.app import create_app
from threshold.catalog.search import search
from threshold.errors import Conflict, Denied, InvalidInput, NotFound
from threshold.glossary import service as glossary
from threshold.glossary import transfer
from threshold.governance.controls import set_visibility
from threshold.identity.service import create_token, get_person
from threshold.notifications.results import InboxMessage
from threshold.notifications.service import inbox
from threshold.sharing.service import share

SCRAP = "Share of produced units that fail inspection and are discarded, per plant and day."


def _propose(org: Any, who: Any, title: str = "Scrap rate", **kw: Any) -> glossary.TermView:
    args: dict[str, Any] = {"definition": SCRAP, "domain": "manufacturing", "synonyms": ["Ausschussquote"], **kw}
    return glossary.propose(org.platform, who, title, **args)


def test_a_term_is_in_force_only_once_someone_else_approves_it(any_org: Any) -> None:
    p = any_org.platform
    carla, anna, ben = any_org.carla, any_org.anna, any_org.ben
    view = _propose(any_org, carla, note="we say it in every plant meeting")
    assert (view.status, view.title, view.pending and view.pending.status) == ("in_review", "Scrap rate", "in_review")
    assert [c.field for c in view.changes] == ["title", "definition", "synonyms"]
    # Outside the author and the reviewers, a term never approved does not exist.
    with pytest.raises(NotFound, match="no glossary term 'scrap rate'"):
        glossary.show(p, ben, "scrap rate")
    assert glossary.listing(p, ben).terms == []
    # The owner of manufacturing is told, sees it in the review queue, and may review it.
    assert any("proposes the glossary entry 'Scrap rate'" in m.title for m in _inbox(p, anna))
    queue = glossary.listing(p, anna, status="in_review")
    assert [(t.key, t.pending) for t in queue.terms] == [("scrap rate", "in_review")]
    assert glossary.show(p, anna, "Scrap Rate").may_review is True
    # Not the author (four eyes), not an owner of another domain.
    with pytest.raises(Denied, match="carla wrote this revision"):
        glossary.review(p, carla, "scrap rate", approve=True)
    # Ben neither wrote it nor may review it: a term never approved does not exist for him, here either.
    for attempt in (
        lambda: glossary.review(p, ben, "scrap rate", approve=True),
        lambda: glossary.link(p, ben, "scrap rate", "manufacturing.plant_kpis"),
    ):
        with pytest.raises(NotFound, match="no glossary term 'scrap rate'"):
            attempt()
    with pytest.raises(InvalidInput, match="a rejection needs a reason"):
        glossary.review(p, anna, "scrap rate", approve=False)
    done = glossary.review(p, anna, "scrap rate", approve=True, note="matches the plant handbook")
    assert (done.status, done.definition, done.synonyms, done.pending) == ("approved", SCRAP, ["Ausschussquote"], None)
    assert [(r.number, r.status, r.author, r.reviewer) for r in done.history] == [(1, "approved", "carla", "anna")]
    assert any("was approved by anna" in m.title for m in _inbox(p, carla))
    assert [t.title for t in glossary.listing(p, ben).terms] == ["Scrap rate"]


def test_a_rejected_edit_keeps_the_approved_text_and_reviewers_see_the_diff(any_org: Any) -> None:
    p = any_org.platform
    _propose(any_org, any_org.carla)
    glossary.review(p, any_org.anna, "scrap rate", approve=True)
    edit = _propose(any_org, any_org.ben, definition=SCRAP.replace("per plant and day", "per line and shift"))
    assert edit.status == "approved" and edit.definition == SCRAP  # the approved text is still shown
    change = {c.field: c for c in edit.changes}
    assert list(change) == ["definition"]
    assert ("-", "plant") in change["definition"].words and ("+", "line") in change["definition"].words
    assert ("-", "day.") in change["definition"].words and ("+", "shift.") in change["definition"].words
    # One open revision per term: someone else's second edit waits.
    with pytest.raises(Conflict, match="an edit of 'Scrap rate' by ben is in review"):
        _propose(any_org, any_org.carla, definition="Another text.")
    # The term is approved, so carla knows it; reviewing its edit is still for manufacturing's owners.
    with pytest.raises(Denied, match="only owners of manufacturing and the governance group review its terms"):
        glossary.review(p, any_org.carla, "scrap rate", approve=True)
    # Readers who are neither author nor reviewer see only the text in force.
    seen = glossary.show(p, any_org.carla, "scrap rate")
    assert (seen.definition, seen.pending, seen.changes) == (SCRAP, None, [])
    rejected = glossary.review(p, any_org.anna, "scrap rate", approve=False, note="we report per plant")
    assert (rejected.definition, rejected.status, rejected.pending) == (SCRAP, "approved", None)
    assert [(r.number, r.status) for r in rejected.history] == [(2, "rejected"), (1, "approved")]
    assert rejected.history[0].review_note == "we report per plant"
    # An approved edit supersedes the previous text.
    _propose(any_org, any_org.carla, definition="Scrapped units over produced units.")
    final = glossary.review(p, any_org.anna, "scrap rate", approve=True)
    assert final.definition == "Scrapped units over produced units."
    assert [(r.number, r.status) for r in final.history] == [(3, "approved"), (2, "rejected"), (1, "superseded")]


def test_drafts_submit_withdraw_and_bad_input(org: Any) -> None:
    p = org.platform
    draft = _propose(org, org.carla, title="Energy intensity", definition="kWh per unit.", submit=False)
    assert draft.pending is not None and draft.pending.status == "draft"
    with pytest.raises(NotFound, match="no revision of 'energy intensity' waits for review"):
        glossary.review(p, org.anna, "energy intensity", approve=True)
    assert glossary.submit(p, org.carla, "energy intensity").pending.status == "in_review"  # type: ignore[union-attr]
    with pytest.raises(NotFound, match="no open revision of 'energy intensity' by ben"):
        glossary.withdraw(p, org.ben, "energy intensity")
    assert glossary.withdraw(p, org.carla, "energy intensity") is None  # never approved: gone
    with pytest.raises(NotFound):
        glossary.show(p, org.carla, "energy intensity")
    for title, definition, message in [
        ("", "x", "a term needs its name"),
        ("P/L", "x", "cannot hold '/'"),
        ("Margin", "  ", "'Margin' needs a definition"),
        ("x" * 201, "x", "at most 200 characters"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            glossary.propose(p, org.carla, title, definition=definition, domain="sales")
    with pytest.raises(NotFound, match="no domain 'nowhere'"):
        glossary.propose(p, org.carla, "Margin", definition="Revenue less cost.", domain="nowhere")
    with pytest.raises(InvalidInput, match="synonyms are a list"):
        glossary.propose(p, org.carla, "Margin", definition="d", domain="sales", synonyms="gm")  # type: ignore[arg-type]
    assert glossary.listing(p, org.admin).terms == []  # nothing was left behind


def test_links_hide_what_a_reader_may_not_know(org: Any) -> None:
    p = org.platform
    _propose(org, org.carla)
    glossary.review(p, org.anna, "scrap rate", approve=True)
    share(p, pa.table({"plant": ["Berlin"], "scrap_cost": [1.5]}), domain="finance", name="scrap_costs", user=org.ben)
    with pytest.raises(Denied, match="only members of manufacturing or of the linked data's domain"):
        glossary.link(p, org.carla, "scrap rate", "manufacturing.plant_kpis")
    glossary.link(p, org.anna, "scrap rate", "column:manufacturing.plant_kpis.scrap_rate")
    glossary.link(p, org.ben, "scrap rate", "dataset:finance.scrap_costs")
    set_visibility(p, org.admin, "finance.scrap_costs", "restricted")
    assert [(lk.kind, lk.target) for lk in glossary.show(p, org.ben, "scrap rate").links] == [
        ("column", "manufacturing.plant_kpis.scrap_rate"),
        ("dataset", "finance.scrap_costs"),
    ]
    # carla may not know the restricted dataset: its link does not exist for her, nor may she name it.
    assert [lk.target for lk in glossary.show(p, org.carla, "scrap rate").links] == [
        "manufacturing.plant_kpis.scrap_rate"
    ]
    with pytest.raises(NotFound, match="finance.scrap_costs") as e:
        glossary.link(p, org.carla, "scrap rate", "finance.scrap_costs")
    assert "restricted" not in str(e.value)
    with pytest.raises(NotFound, match="has no column 'nope'"):
        glossary.link(p, org.anna, "scrap rate", "column:manufacturing.plant_kpis.nope")
    with pytest.raises(InvalidInput, match="insight:ID"):
        glossary.link(p, org.anna, "scrap rate", "insight:abc")
    assert [t.key for t in glossary.terms_of_dataset(p, org.carla, "manufacturing.plant_kpis")] == ["scrap rate"]
    glossary.unlink(p, org.anna, "scrap rate", "column:manufacturing.plant_kpis.scrap_rate")
    assert glossary.terms_of_dataset(p, org.carla, "manufacturing.plant_kpis") == []


def test_approved_terms_are_search_synonyms(any_org: Any) -> None:
    p = any_org.platform
    assert _found(p, "ausschussquote") == []
    _propose(any_org, any_org.carla)
    assert _found(p, "ausschussquote") == []  # not before it is approved
    glossary.review(p, any_org.anna, "scrap rate", approve=True)
    assert _found(p, "ausschussquote") == ["manufacturing.plant_kpis"]  # the phrase "scrap rate" of its column
    hit = search(p, "ausschussquote").results[0]
    assert "ausschussquote" in str(hit)


def test_csv_export_and_import_all_rows_or_none(org: Any) -> None:
    p = org.platform
    _propose(org, org.carla, synonyms=['=HYPERLINK("x")', "Ausschussquote"])
    glossary.review(p, org.anna, "scrap rate", approve=True)
    text = transfer.export_csv(p, org.ben)
    assert text.splitlines()[0] == "term,domain,definition,synonyms,status"
    assert "'=HYPERLINK" in text  # a spreadsheet does not run it
    # Re-importing what is in force proposes nothing.
    assert transfer.import_csv(p, org.ben, text) == transfer.ImportReport(proposed=[], unchanged=["Scrap rate"])
    good = "term,domain,definition,synonyms\nMargin,sales,Revenue less cost of goods.,gross margin; GM\n"
    bad = good + "Scrap rate,finance,Other domain.,\n"
    with pytest.raises(InvalidInput, match=r"line 3: 'Scrap rate' belongs to manufacturing"):
        transfer.import_csv(p, org.ben, bad)
    assert [t.key for t in glossary.listing(p, org.admin).terms] == ["scrap rate"]  # line 2 was not kept
    for broken, message in [
        ("name,text\nA,b\n", "needs the columns term and definition"),
        ("term,definition\n", "has no rows"),
        ("term,definition\nA,b\nA,c\n", "line 3: 'A' is also on line 2"),
        ("term,definition\nA,b,c\n", "line 2: more values than columns"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            transfer.import_csv(p, org.ben, broken)
    report = transfer.import_csv(p, org.ben, good)
    assert report.proposed == ["Margin"]
    margin = glossary.show(p, org.ben, "margin")
    assert (margin.status, margin.synonyms, margin.domain) == ("in_review", ["gross margin", "GM"], "sales")


def test_the_rest_api(org: Any) -> None:
    app = create_app(org.platform)
    tokens = {n: create_token(org.platform, n)[1] for n in ("anna", "ben", "carla")}

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:

            def h(who: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {tokens[who]}"}

            r = await c.post(
                "/api/v1/glossary",
                headers=h("carla"),
                json={
                    "term": "Scrap rate",
                    "definition": SCRAP,
                    "domain": "manufacturing",
                    "synonyms": ["Ausschussquote"],
                },
            )
            assert r.status_code == 201 and r.json()["status"] == "in_review"
            assert (await c.get("/api/v1/glossary/scrap%20rate", headers=h("ben"))).status_code == 404
            r = await c.post("/api/v1/glossary/Scrap%20Rate/review", headers=h("carla"), json={"approve": True})
            assert r.status_code == 403 and "carla wrote this revision" in r.json()["detail"]
            r = await c.post("/api/v1/glossary/scrap%20rate/review", headers=h("anna"), json={"approve": True})
            assert r.status_code == 200 and r.json()["status"] == "approved"
            r = await c.post(
                "/api/v1/glossary/scrap%20rate/links", headers=h("anna"), json={"target": "manufacturing.plant_kpis"}
            )
            assert [lk["target"] for lk in r.json()["links"]] == ["manufacturing.plant_kpis"]
            r = await c.get("/api/v1/glossary", headers=h("ben"), params={"dataset": "manufacturing.plant_kpis"})
            assert [t["key"] for t in r.json()["terms"]] == ["scrap rate"]
            r = await c.get("/api/v1/glossary.csv", headers=h("ben"))
            assert r.headers["content-type"].startswith("text/csv") and "Scrap rate,manufacturing" in r.text
            r = await c.post("/api/v1/glossary/import", headers=h("ben"), json={"csv": "term,definition\nA,b\nA,c\n"})
            assert r.status_code == 422 and r.json()["detail"] == "line 3: 'A' is also on line 2"
            r = await c.post("/api/v1/glossary", headers=h("ben"), json={"term": "x", "definition": "y" * 10_001})
            assert r.status_code == 422
            assert (await c.get("/api/v1/glossary")).status_code == 401

    asyncio.run(go())


def _inbox(p: Any, who: Any) -> list[InboxMessage]:
    return inbox(p, get_person(p, who.name))


def _found(p: Any, text: str) -> list[str]:
    return [r["name"] for r in search(p, text).results]


def test_the_embedded_python_client(org: Any) -> None:
    import threshold

    carla = threshold.connect(home=org.platform.settings.home_dir, user="carla")
    anna = threshold.connect(home=org.platform.settings.home_dir, user="anna")
    try:
        carla.propose_term("Scrap rate", definition=SCRAP, domain="manufacturing", synonyms=["Ausschussquote"])
        assert [t["pending"] for t in anna.terms(status="in_review")] == ["in_review"]
        assert anna.review_term("scrap rate", approve=True)["status"] == "approved"
        linked = anna.link_term("scrap rate", "column:manufacturing.plant_kpis.scrap_rate")
        assert [lk["target"] for lk in linked["links"]] == ["manufacturing.plant_kpis.scrap_rate"]
        assert carla.export_glossary().splitlines()[1].startswith("Scrap rate,manufacturing,")
        assert carla.import_glossary("term,domain,definition\nMargin,sales,Revenue less cost.\n")["proposed"] == [
            "Margin"
        ]
    finally:
        carla.close()
        anna.close()
