"""The REST API of share previews: upload, change choices, publish with preview_id, cancel; the layout and
column options of POST /api/v1/shares. In-process over ASGI, with API tokens."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from test_api import Api, _error

from workbooks import xlsx

REPORT = [
    ["Plant KPI report"],
    ["Plant", "Day", "Units"],
    ["Berlin", date(2026, 11, 2), 3],
    ["Lyon", date(2026, 11, 2), 4],
    ["Total", None, 7],
]


@pytest.fixture
def api(org: Any) -> Api:
    return Api(org)


def _book(tmp_path: Path) -> dict[str, Any]:
    path = xlsx(tmp_path / "units.xlsx", {"Units": REPORT, "Notes": [["free text"]]})
    return {"file": ("units.xlsx", path.read_bytes())}


def test_preview_change_and_publish(api: Api, tmp_path: Path) -> None:
    r = api.post("/api/v1/shares/preview", as_="anna", data={"domain": "manufacturing"}, files=_book(tmp_path))
    assert r.status_code == 200, r.text
    body = r.json()
    preview_id = body["preview_id"]
    [table] = body["tables"]
    assert (table["dataset"], table["sheet"], table["header_rows"], table["row_count"]) == (
        "manufacturing.units",
        "Units",
        [2],
        2,
    )
    assert [c["type"] for c in table["columns"]] == ["VARCHAR", "DATE", "BIGINT"]
    assert table["rows"][0] == ["Berlin", "2026-11-02", 3]
    assert [s["text"] for s in table["skipped"]] == [
        "left out row 1, above the table (title)",
        "left out row 5, a total: 'Total', the sum of the rows above",
    ]
    assert body["sheets"] == ["Units", "Notes"] and body["ready"] is True
    assert api.get("/api/v1/datasets?q=units", as_="anna").json()["total"] == 0  # nothing shared yet

    changed = api.post(
        f"/api/v1/shares/preview/{preview_id}",
        as_="anna",
        json={"name": "units_made", "columns": {"units": {"type": "number"}}, "description": "Units"},
    ).json()
    assert [c["type"] for c in changed["tables"][0]["columns"]] == ["VARCHAR", "DATE", "DOUBLE"]
    assert api.get(f"/api/v1/shares/preview/{preview_id}", as_="anna").json()["choices"]["name"] == "units_made"

    r = api.post("/api/v1/shares", as_="anna", data={"preview_id": preview_id, "visibility": "on-request"})
    assert r.status_code == 200, r.text
    [result] = r.json()["results"]
    assert (result["dataset"], result["rows_added"]) == ("manufacturing.units_made", 2)
    d = api.get("/api/v1/datasets/manufacturing.units_made", as_="anna").json()
    assert [(c["name"], c["type"]) for c in d["schema"]] == [("plant", "VARCHAR"), ("day", "DATE"), ("units", "DOUBLE")]
    assert (d["description"], d["visibility"]) == ("Units", "on-request")
    assert _error(api.get(f"/api/v1/shares/preview/{preview_id}", as_="anna"), 404).startswith("no preview")


def test_a_preview_is_its_uploaders_alone_and_can_be_cancelled(api: Api, tmp_path: Path) -> None:
    r = api.post("/api/v1/shares/preview", as_="anna", data={"domain": "manufacturing"}, files=_book(tmp_path))
    preview_id = r.json()["preview_id"]
    for call in (
        lambda: api.get(f"/api/v1/shares/preview/{preview_id}", as_="ben"),
        lambda: api.post(f"/api/v1/shares/preview/{preview_id}", as_="ben", json={}),
        lambda: api.post("/api/v1/shares", as_="ben", data={"preview_id": preview_id}),
        lambda: api.call("DELETE", f"/api/v1/shares/preview/{preview_id}", as_="ben"),
    ):
        assert "no preview" in _error(call(), 404)
    assert api.call("DELETE", f"/api/v1/shares/preview/{preview_id}", as_="anna").json() == {"cancelled": preview_id}
    assert _error(api.get(f"/api/v1/shares/preview/{preview_id}", as_="anna"), 404)
    assert list(api.org.platform.settings.previews_dir.iterdir()) == []


def test_share_directly_with_layout_and_column_options(api: Api, tmp_path: Path) -> None:
    data = {
        "domain": "manufacturing",
        "sheet": "Units",
        "header_row": "2",
        "keep_totals": "true",
        "columns": json.dumps({"units": {"name": "units_made"}}),
        "visibility": "restricted",
    }
    r = api.post("/api/v1/shares", as_="anna", data=data, files=_book(tmp_path))
    assert r.status_code == 200, r.text
    [result] = r.json()["results"]
    assert (result["rows_added"], result["columns"]) == (3, ["plant", "day", "units_made"])
    assert "visibility restricted" in result["notes"]
    assert _error(api.get("/api/v1/datasets/manufacturing.units", as_="carla"), 404)


PREVIEW_ERRORS = [
    # (form fields, status, detail fragment)
    ({"domain": "manufacturing", "header_row": "x"}, 422, "header row 'x' is not a row number"),
    ({"domain": "manufacturing", "range": "5:H"}, 422, "range '5:H' is not a block of cells"),
    ({"domain": "manufacturing", "sheet": "Q3"}, 422, "units.xlsx has no sheet 'Q3'"),
    ({"domain": "manufacturing", "columns": "[1]"}, 422, "columns must be JSON like"),
    ({"domain": "manufacturing", "skip_rows": "-1"}, 422, "skip_rows"),
    ({"domain": "finance"}, 403, "anna is not a member of domain 'finance'"),
]


@pytest.mark.parametrize(("data", "status", "detail"), PREVIEW_ERRORS)
def test_preview_errors_keep_nothing(api: Api, tmp_path: Path, data: dict[str, str], status: int, detail: str) -> None:
    r = api.post("/api/v1/shares/preview", as_="anna", data=data, files=_book(tmp_path))
    assert detail in _error(r, status)
    previews = api.org.platform.settings.previews_dir
    assert not previews.exists() or list(previews.iterdir()) == []


def test_a_share_needs_a_file_or_a_preview_id_not_both(api: Api, tmp_path: Path) -> None:
    assert "send a file to share" in _error(api.post("/api/v1/shares", as_="anna", data={"domain": "x"}), 422)
    both = api.post("/api/v1/shares", as_="anna", data={"preview_id": "0" * 32}, files=_book(tmp_path))
    assert "either a file or a preview_id" in _error(both, 422)
