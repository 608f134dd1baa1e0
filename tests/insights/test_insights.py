"""Insights and boards through their services: saved from clicks or SQL, seen by each reader through their
own rights, forked, versioned, stale, exported; and what a reader who may not see a dataset learns of it
(nothing).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pptx import Presentation

from threshold.errors import Denied, InvalidInput, NotFound, ThresholdError
from threshold.governance.controls import set_visibility
from threshold.insights import boards, exports, service
from threshold.insights.runs import rerun

KPIS = "manufacturing.plant_kpis"
RAW_MAILS = ("anna.schmidt@example.com", "jean.dupont@example.fr", "max.mueller@example.de")
ENERGY = {
    "dataset": KPIS,
    "group_by": ["plant"],
    "aggregates": [{"fn": "sum", "column": "energy_kwh"}],
    "sort": [{"by": "plant"}],
}
MAILS_SQL = "SELECT plant, e_mail, energy_kwh FROM manufacturing.plant_kpis WHERE plant = $plant ORDER BY e_mail"
PLANT = [{"name": "plant", "type": "text", "default": "Berlin", "choices": ["Berlin", "Lyon", "Porto"]}]


@pytest.fixture(scope="module")
def saved(module_org: Any) -> dict[str, Any]:
    p = module_org.platform
    energy = service.save(p, module_org.anna, title="Energy per plant", explore=ENERGY, narrative="**Berlin** leads.")
    mails = service.save(p, module_org.anna, title="Who runs the plant", sql=MAILS_SQL, parameters=PLANT)
    board = boards.create(
        p,
        module_org.anna,
        title="Weekly plant review",
        parameter={"name": "plant", "type": "text", "default": "Berlin"},
        insights=[energy.id, mails.id],
    )
    return {"energy": energy, "mails": mails, "board": board}


def test_clicks_become_gateway_sql_and_a_chart(module_org: Any, saved: dict[str, Any]) -> None:
    energy = saved["energy"]
    assert "SUM(t.energy_kwh)" in energy.sql and "GROUP BY" in energy.sql
    page = service.page(module_org.platform, module_org.ben, energy.id)
    assert page.error is None and page.result is not None
    assert page.result.rows == [["Berlin", "3,130.5"], ["Lyon", "1,990.25"], ["Porto", "700.75"]]
    assert page.result.chart["kind"] == "bar" and page.result.svg and "<script" not in page.result.svg
    assert "<strong>Berlin</strong>" in page.insight.narrative_html


def test_another_domain_sees_masked_values_the_owner_sees_raw(module_org: Any, saved: dict[str, Any]) -> None:
    p, mails = module_org.platform, saved["mails"]
    ben = service.page(p, module_org.ben, mails.id)
    assert ben.result is not None and {r[1] for r in ben.result.rows} == {"***"}
    assert any("guardrail.personal-data" in n for n in ben.result.notes)
    anna = service.page(p, module_org.anna, mails.id, values={"plant": "Lyon"})
    assert anna.result is not None
    assert [r[1] for r in anna.result.rows] == ["claire.martin@example.fr", "jean.dupont@example.fr"]


def test_parameters_are_typed_and_checked(module_org: Any, saved: dict[str, Any]) -> None:
    p = module_org.platform
    wrong = service.page(p, module_org.anna, saved["mails"].id, values={"plant": "Atlantis"})
    assert wrong.result is None and wrong.error == "plant is one of Berlin, Lyon, Porto"
    with pytest.raises(InvalidInput, match="parameter"):
        service.save(p, module_org.anna, title="x", sql=MAILS_SQL, parameters=[{"name": "plant; drop", "type": "text"}])
    with pytest.raises(InvalidInput, match="title"):
        service.save(p, module_org.anna, title="  ", sql="SELECT 1 AS one FROM manufacturing.plant_kpis")
    with pytest.raises(InvalidInput, match="question"):
        service.save(p, module_org.anna, title="empty")


def test_a_board_passes_its_shared_value_to_each_insight(module_org: Any, saved: dict[str, Any]) -> None:
    page = boards.show(module_org.platform, module_org.ben, saved["board"].id, value="Porto")
    assert [i.insight.title for i in page.items] == ["Energy per plant", "Who runs the plant"]
    mails = page.items[1].result
    assert mails is not None and [r[0] for r in mails.rows] == ["Porto"] and mails.rows[0][1] == "***"
    assert page.can_edit is False
    with pytest.raises(Denied):
        boards.reorder(module_org.platform, module_org.ben, saved["board"].id, [saved["mails"].id])


def test_pptx_export_has_a_slide_per_insight_chart_and_masked_values(module_org: Any, saved: dict[str, Any]) -> None:
    out = exports.export_board(module_org.platform, module_org.ben, saved["board"].id, "pptx", value="Berlin")
    deck = Presentation(io.BytesIO(out.content))
    slides = list(deck.slides)
    assert len(slides) == 3  # cover + two insights
    texts = [" ".join(sh.text_frame.text for sh in s.shapes if sh.has_text_frame) for s in slides[1:]]
    assert "Energy per plant" in texts[0] and "Who runs the plant" in texts[1]
    assert all(any(sh.shape_type == 13 for sh in s.shapes) for s in slides[1:])  # a picture: the chart
    notes = slides[2].notes_slide.notes_text_frame.text
    assert "guardrail.personal-data" in notes and "manufacturing.plant_kpis" in notes
    assert not any(m.encode() in out.content for m in RAW_MAILS)
    assert any("guardrail.personal-data" in m for m in out.masks)


def test_xlsx_export_has_the_data_and_a_native_chart(module_org: Any, saved: dict[str, Any]) -> None:
    p = module_org.platform
    out = exports.export_insight(p, module_org.ben, saved["energy"].id, "xlsx")
    book = load_workbook(io.BytesIO(out.content))
    sheet = book["Energy per plant"]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["plant", "sum_energy_kwh"],
        ["Berlin", 3130.5],
        ["Lyon", 1990.25],
        ["Porto", 700.75],
    ]
    assert len(sheet._charts) == 1  # openpyxl reads the native chart back
    masked = exports.export_insight(p, module_org.ben, saved["mails"].id, "xlsx", values={"plant": "Berlin"})
    rows = [[c.value for c in r] for r in load_workbook(io.BytesIO(masked.content))["Who runs the plant"].iter_rows()]
    assert {r[1] for r in rows[1:]} == {"***"}
    about = " ".join(str(c.value) for r in load_workbook(io.BytesIO(masked.content))["About"].iter_rows() for c in r)
    assert "guardrail.personal-data" in about


def test_pdf_png_svg_exports(module_org: Any, saved: dict[str, Any]) -> None:
    p, energy = module_org.platform, saved["energy"].id
    assert exports.export_insight(p, module_org.ben, energy, "pdf").content.startswith(b"%PDF")
    assert exports.export_insight(p, module_org.ben, energy, "png").content.startswith(b"\x89PNG")
    assert exports.export_insight(p, module_org.ben, energy, "svg").content.startswith(b"<svg")
    with pytest.raises(InvalidInput, match="exports as"):
        exports.export_insight(p, module_org.ben, energy, "docx")
    with pytest.raises(InvalidInput, match="board exports"):
        exports.export_board(p, module_org.ben, saved["board"].id, "png")


def test_fork_drops_the_schedule_and_says_so(module_org: Any, saved: dict[str, Any]) -> None:
    p = module_org.platform
    original = service.save(p, module_org.anna, title="Scheduled energy", explore=ENERGY, schedule="daily")
    with pytest.raises(Denied, match="schedule"):
        service.set_schedule(p, module_org.ben, original.id, "weekly")
    fork = service.fork(p, module_org.ben, original.id)
    assert fork.owner == "ben" and fork.schedule is None and fork.forked_from == original.id
    assert "schedule (daily) was not copied" in fork.message
    edited = service.update(p, module_org.ben, fork.id, title="Ben's energy")
    assert edited.version == 2
    assert [d.field for d in service.diff(p, module_org.ben, fork.id, 1, 2)] == ["title"]


def test_rerun_records_a_run(module_org: Any, saved: dict[str, Any]) -> None:
    outcome = rerun(module_org.platform, module_org.anna, saved["energy"].id)
    assert outcome.status == "ok" and outcome.rows == 3


def test_bad_references_are_one_line_errors(module_org: Any) -> None:
    p = module_org.platform
    for call in (
        lambda: service.detail(p, module_org.ben, "nope"),
        lambda: service.detail(p, module_org.ben, 99999),
        lambda: boards.show(p, module_org.ben, 99999),
    ):
        with pytest.raises(NotFound) as e:
            call()
        assert "\n" not in str(e.value)


# --- a dataset the reader may not see (a home of its own: visibility changes) -------------------------


def test_an_insight_on_a_restricted_dataset_does_not_exist_for_an_outsider(org: Any, tmp_path: Path) -> None:
    p = org.platform
    secret = service.save(p, org.anna, title="Scrap by plant", sql=MAILS_SQL, parameters=PLANT)
    board = boards.create(p, org.anna, title="Plant review", insights=[secret.id])
    set_visibility(p, org.anna, KPIS, "restricted")
    for call in (
        lambda: service.detail(p, org.ben, secret.id),
        lambda: service.page(p, org.ben, secret.id),
        lambda: service.fork(p, org.ben, secret.id),
        lambda: service.comment(p, org.ben, secret.id, "hello"),
        lambda: exports.export_insight(p, org.ben, secret.id, "xlsx"),
    ):
        with pytest.raises(NotFound) as e:
            call()
        assert str(e.value) == f"no insight {secret.id}"
    assert service.listing(p, org.ben).total == 0
    assert service.listing(p, org.ben, search="plant_kpis").total == 0
    with pytest.raises(NotFound, match="no dataset"):
        service.listing(p, org.ben, dataset=KPIS)
    page = boards.show(p, org.ben, board.id)
    assert page.items == [] and page.board.insights == 0
    deck = exports.export_board(p, org.ben, board.id, "pptx")
    assert b"plant_kpis" not in deck.content and b"Scrap by plant" not in deck.content
    assert service.page(p, org.anna, secret.id).result is not None  # the owner still sees it


def test_staleness_after_a_schema_change_and_a_deprecation(org: Any, tmp_path: Path) -> None:
    from threshold.identity.service import get_person
    from threshold.products.lifecycle import deprecate, promote
    from threshold.sharing.service import share

    p = org.platform
    insight = service.save(p, org.anna, title="Energy", explore=ENERGY)
    rerun(p, org.anna, insight.id)
    assert service.detail(p, org.anna, insight.id).stale == []
    wider = tmp_path / "wider.csv"
    wider.write_text(
        org.plant_kpis_csv.read_text().splitlines()[0] + ",Shift\nBerlin,A B,a@b.c,0.1,1.0,2026-02-01,night\n"
    )
    share(p, wider, domain="manufacturing", name="plant_kpis", user=get_person(p, "anna"), mode="append", evolve=True)
    kinds = {r.kind for r in service.detail(p, org.anna, insight.id).stale}
    assert "schema_changed" in kinds and "newer_data" in kinds
    promote(p, org.anna, KPIS, owner="anna")
    deprecate(p, org.anna, KPIS, reason="replaced")
    reasons = service.detail(p, org.anna, insight.id).stale
    assert any(r.kind == "deprecated" and r.dataset == KPIS for r in reasons)


# --- honest consumption: insights are use, browsing is not ------------------------------------------------


def test_viewing_an_insight_is_use_of_its_datasets_with_its_purpose(org: Any) -> None:
    from sqlalchemy import select

    from threshold.store.models import UsageEvent, User

    p = org.platform
    insight = service.save(p, org.anna, title="Energy", explore=ENERGY, purpose="weekly plant review")
    service.page(p, org.ben, insight.id)
    service.page(p, org.carla, insight.id)  # the kept result, read again as carla: still her use
    with p.store.reader() as s:
        rows = s.execute(
            select(User.name, UsageEvent.purpose, UsageEvent.kind)
            .join(User, User.id == UsageEvent.user_id)
            .where(User.name.in_(["ben", "carla"]), UsageEvent.status == "ok")
        ).all()
    assert sorted(rows) == [
        ("ben", "weekly plant review", "consumption"),
        ("carla", "weekly plant review", "consumption"),
    ]
    assert service.detail(p, org.anna, insight.id).viewers == 2


def test_insights_are_dependents_producers_see(org: Any) -> None:
    from threshold.products.dependents import downstream, downstream_counts

    p = org.platform
    insight = service.save(p, org.anna, title="Energy", explore=ENERGY)
    service.page(p, org.ben, insight.id)
    found = downstream(p, KPIS, viewer=org.anna)
    items = [i for i in found.items if i.get("kind") == "insight"]
    assert [(i["name"], i["viewers"]) for i in items] == [(f"insights/{insight.id}", 1)]
    assert found.as_dict()["insights"]["sentence"] == "1 insight with 1 viewer depends on this"
    counts, _ = downstream_counts(p)
    assert sum(counts.values()) >= 1
    service.archive(p, org.anna, insight.id)
    assert not [i for i in downstream(p, KPIS, viewer=org.anna).items if i.get("kind") == "insight"]


def test_browsing_does_not_move_candidates(org: Any) -> None:
    from threshold.gateway.service import query
    from threshold.products.candidates import compute
    from threshold.products.lookup import Window

    p = org.platform
    before, _ = compute(p, Window.of(p))
    for person in (org.ben, org.carla, org.admin):
        for _ in range(5):
            query(p, f"SELECT * FROM {KPIS} LIMIT 20", user=person, purpose="preview", kind="browse")
    after, _ = compute(p, Window.of(p))
    assert after == before
    query(p, f"SELECT plant FROM {KPIS}", user=org.ben, purpose="energy")
    used, _ = compute(p, Window.of(p))
    assert used != before


# --- schedules: the jobs core reruns an insight as its owner; subscribers hear of changes and failures ----


def test_a_scheduled_rerun_tells_subscribers_when_the_numbers_change_or_it_fails(org: Any, tmp_path: Path) -> None:
    from datetime import timedelta

    from threshold.identity.service import get_person
    from threshold.jobs.service import run_due
    from threshold.notifications.service import inbox
    from threshold.sharing.service import share

    p = org.platform
    insight = service.save(p, org.anna, title="Energy", explore=ENERGY, schedule="daily")
    service.subscribe(p, org.ben, insight.id)
    later = p.clock() + timedelta(days=2)
    outcomes = run_due(p, now=later, only=["insight.rerun"])
    assert [o.status for o in outcomes if o.kind == "insight.rerun"] == ["ok"]
    assert service.detail(p, org.anna, insight.id).last_status == "ok"
    more = tmp_path / "more.csv"
    more.write_text(org.plant_kpis_csv.read_text().splitlines()[0] + "\nPorto,X Y,x@y.z,0.2,99.0,2026-02-02\n")
    share(p, more, domain="manufacturing", name="plant_kpis", user=get_person(p, "anna"), mode="append")
    assert rerun(p, org.anna, insight.id).changed is True
    told = [n for n in inbox(p, org.ben) if n.kind == "insight.changed"]
    assert len(told) == 1 and told[0].link == f"/insights/{insight.id}"
    narrower = tmp_path / "narrower.csv"
    narrower.write_text("Plant,Day\nBerlin,2026-03-01\n")
    share(p, narrower, domain="manufacturing", name="plant_kpis", user=get_person(p, "anna"), mode="replace",
          evolve=True)  # fmt: skip
    with pytest.raises(ThresholdError, match="energy_kwh"):
        rerun(p, org.anna, insight.id)
    failed = [n for n in inbox(p, org.ben) if n.kind == "insight.failed"]
    assert len(failed) == 1 and "\n" not in failed[0].title
    assert any(r.kind == "failed" for r in service.detail(p, org.anna, insight.id).stale)


def test_join_along_a_shared_key_and_typed_filters(org: Any, tmp_path: Path) -> None:
    from threshold.identity.service import get_person
    from threshold.insights import exploration
    from threshold.insights.explore import ExploreSpec
    from threshold.sharing.service import share

    p = org.platform
    prices = tmp_path / "plant_prices.csv"
    prices.write_text("Plant,Price EUR\nBerlin,0.31\nLyon,0.22\nPorto,0.18\n")
    share(p, prices, domain="finance", user=get_person(p, "ben"), purpose="energy cost forecast")
    offered = exploration.relationships(p, org.ben, KPIS)
    assert [(r.dataset, r.on) for r in offered] == [("finance.plant_prices", [("plant", "plant")])]
    spec = {
        "dataset": KPIS,
        "group_by": ["plant", "finance.plant_prices.price_eur"],
        "aggregates": [{"fn": "sum", "column": "energy_kwh"}],
        "filters": [{"column": "day", "op": "between", "values": ["2026-01-04", "2026-01-05"]},
                    {"column": "energy_kwh", "op": "gte", "values": ["800"]}],
        "join": {"dataset": "finance.plant_prices", "on": [["plant", "plant"]]},
        "sort": [{"by": "plant"}],
    }  # fmt: skip
    result = exploration.run(p, org.ben, spec=ExploreSpec.from_dict(spec))
    assert result.table.rows == [["Berlin", "0.31", "1,610"], ["Lyon", "0.22", "980.25"]]
    assert "LEFT JOIN finance.plant_prices AS j" in result.sql and "BETWEEN CAST('2026-01-04' AS DATE)" in result.sql
    for bad, words in (
        ({"column": "day", "op": "eq", "values": ["yesterday"]}, "day"),
        ({"column": "energy_kwh", "op": "gte", "values": ["1; DROP TABLE x"]}, "energy_kwh"),
        ({"column": "plant", "op": "explode", "values": ["x"]}, "unknown filter"),
        ({"column": "no_such", "op": "eq", "values": ["x"]}, "no_such"),
    ):
        with pytest.raises(InvalidInput, match=words):
            exploration.run(p, org.ben, spec=ExploreSpec.from_dict({"dataset": KPIS, "filters": [bad]}))


def test_xlsx_export_writes_formulas_as_neutralised_text_numbers_as_numbers_and_says_so(org: Any) -> None:
    """Issue 9: every spreadsheet-bound export, insights' too, keeps text a spreadsheet would run as text."""
    sql = (
        'SELECT plant AS "=name", \'=HYPERLINK("http://evil.test","open")\' AS link, \'@SUM(A1)\' AS at, '
        "'-2+3' AS sum_text, '+cmd' AS plus, energy_kwh FROM manufacturing.plant_kpis "
        "WHERE plant = 'Berlin' ORDER BY energy_kwh LIMIT 1"
    )
    insight = service.save(org.platform, org.anna, title="Formulas", sql=sql)
    out = exports.export_insight(org.platform, org.anna, insight.id, "xlsx")
    book = load_workbook(io.BytesIO(out.content))
    header, row = list(book["Formulas"].iter_rows())[:2]
    assert [c.value for c in header][:2] == ["'=name", "link"]
    assert [c.value for c in row][1:5] == ['\'=HYPERLINK("http://evil.test","open")', "'@SUM(A1)", "'-2+3", "'+cmd"]
    assert all(c.data_type == "s" for c in row[:5])  # text cells, never formulas
    assert isinstance(row[5].value, float) and row[5].data_type == "n"  # numbers stay numbers
    about = " ".join(str(c.value) for r in book["About"].iter_rows() for c in r)
    assert "prefixed with '" in about
