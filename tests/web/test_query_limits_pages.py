"""The query page and its downloads under limits: 429 in words, exports neutralised and streamed."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa

from threshold.gateway.service import open_query
from threshold.sharing.service import share

EVIL = pa.table({"label": ['=HYPERLINK("http://evil","click")', "@SUM(A1)", "fine"], "amount": [1.5, -2.0, 3.0]})


def test_the_query_page_says_in_words_when_too_many_queries_run(org: Any, anna: Any) -> None:
    held = [open_query(org.platform, "SELECT 1", user=org.anna) for _ in range(2)]
    try:
        csrf = anna.csrf("/query")
        r = anna.post("/query", data={"csrf": csrf, "sql": "SELECT 1"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        alert = anna.parse(r.text).find("div", id="query-error").text()
        assert "Too busy" in alert and "anna already has 2 queries running" in alert
        assert "THRESHOLD_LIMITS__PERSON_QUERIES" in alert
    finally:
        for s in held:
            s.close()


def test_csv_and_excel_downloads_neutralise_formulas(org: Any, anna: Any) -> None:
    from python_calamine import CalamineWorkbook

    share(org.platform, EVIL, domain="manufacturing", name="evil", user=org.anna)
    csrf = anna.csrf("/query")
    form = {"csrf": csrf, "sql": "SELECT * FROM manufacturing.evil ORDER BY amount"}
    csv = anna.post("/query/download?format=csv", data=form)
    assert csv.status_code == 200 and "OWASP" in csv.headers["x-threshold-neutralised"]
    assert csv.text.splitlines()[1:] == ['"\'@SUM(A1)",-2', '"\'=HYPERLINK(""http://evil"",""click"")",1.5', '"fine",3']
    xlsx = anna.post("/query/download?format=xlsx", data=form)
    assert xlsx.status_code == 200 and xlsx.headers["content-disposition"].endswith('manufacturing-evil.xlsx"')
    book = CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content))
    rows = book.get_sheet_by_name("result").to_python()
    assert rows[1:] == [["'@SUM(A1)", -2.0], ['\'=HYPERLINK("http://evil","click")', 1.5], ["fine", 3.0]]
    about = " ".join(r[0] for r in book.get_sheet_by_name("About").to_python())
    assert "values changed: 2" in about and "OWASP" in about
    import zipfile

    sheet = zipfile.ZipFile(io.BytesIO(xlsx.content)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no formula anywhere: text is text
    assert not list(org.platform.settings.staging_dir.glob("export-*"))  # the temporary workbook is gone


def test_the_query_page_offers_the_engine_and_keeps_the_choice(org: Any, anna: Any) -> None:
    """The engine select (Daft for big queries, docs/deployment.md) is carried to the gateway and kept on the
    page and in its downloads; anything else is refused. (Daft itself is exercised in tests/engines.)"""
    from sqlalchemy import select

    from threshold.store.models import UsageEvent

    page = anna.page("/query")
    options = [o.attrs["value"] for o in page.find("select", id="engine").find_all("option")]
    assert options == ["auto", "duckdb", "daft"]
    csrf = anna.csrf("/query")
    sql = "SELECT count(*) AS n FROM manufacturing.plant_kpis"
    r = anna.post("/query", data={"csrf": csrf, "sql": sql, "engine": "duckdb"})
    assert r.status_code == 200
    shown = anna.parse(r.text)
    assert [
        o.attrs["value"] for o in shown.find("select", id="engine").find_all("option") if "selected" in o.attrs
    ] == ["duckdb"]
    assert [i.attrs["value"] for i in shown.find_all("input", type="hidden", name="engine")] == ["duckdb"] * 2
    with org.platform.store.session() as s:
        assert s.execute(select(UsageEvent.engine).order_by(UsageEvent.id.desc()).limit(1)).scalar_one() == "duckdb"
    assert anna.post("/query", data={"csrf": csrf, "sql": sql, "engine": "spark"}).status_code == 422
