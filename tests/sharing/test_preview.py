"""The share preview: what a file becomes, with nothing published; uploads kept between preview and publish.

The preview must show what `share` will store (it reads with the same code), write nothing, and keep an
upload only for its person, for a bounded time, in a bounded number. Time is injected (`now=`).
"""

from __future__ import annotations

import io
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from threshold.catalog.search import search
from threshold.catalog.service import describe
from threshold.errors import Conflict, Denied, InvalidInput, NotFound
from threshold.identity.service import join_domain
from threshold.sharing import staged
from threshold.sharing.preview import ShareChoices, cancel, preview, preview_staged, preview_upload, publish
from threshold.sharing.service import share
from workbooks import csv_text, xlsx

REPORT = [
    ["Plant KPI report, November 2026"],
    [],
    ["Plant", "Day", "Operator E-Mail", "Scrap Rate"],
    ["Berlin", date(2026, 11, 2), "anna.schmidt@example.com", 0.12],
    ["Lyon", date(2026, 11, 2), "jean.dupont@example.fr", 0.08],
    ["Summe", None, None, 0.2],
]


def _report(tmp_path: Path, **sheets: Any) -> Path:
    return xlsx(tmp_path / "kpi_report.xlsx", {"November": REPORT, **sheets})


def _choices(**values: Any) -> ShareChoices:
    return ShareChoices(domain="manufacturing").updated(**values)


def test_a_preview_shows_what_will_be_stored_and_shares_nothing(org, tmp_path: Path, state_of) -> None:
    before = state_of(org.platform)

    result = preview(org.platform, _report(tmp_path), user=org.anna, choices=_choices())

    assert state_of(org.platform) == before
    [table] = result.tables
    assert table.dataset == "manufacturing.kpi_report" and table.sheet == "November"
    assert table.header_rows == [3] and table.row_count == 2 and not table.exists
    assert [(c.key, c.name, c.label, c.type) for c in table.columns] == [
        ("plant", "plant", "Plant", "VARCHAR"),
        ("day", "day", "Day", "DATE"),
        ("operator_e_mail", "operator_e_mail", "Operator E-Mail", "VARCHAR"),
        ("scrap_rate", "scrap_rate", "Scrap Rate", "DOUBLE"),
    ]
    assert [t.tag for t in table.columns[2].tags] == ["personal.email"]
    assert table.rows == [
        ["Berlin", date(2026, 11, 2), "anna.schmidt@example.com", 0.12],
        ["Lyon", date(2026, 11, 2), "jean.dupont@example.fr", 0.08],
    ]
    assert [(s.rows, s.reason, s.detail) for s in table.skipped] == [
        ([1], "title", ""),
        ([6], "total", "'Summe', the sum of the rows above"),
    ]
    assert result.sheets == ["November"] and result.ready
    assert result.default_visibility == "open" and result.may_set_visibility


def test_the_preview_and_the_share_agree(org, tmp_path: Path) -> None:
    """The preview's columns, types and first rows are exactly what the share stores."""
    from threshold.gateway.service import query

    book = _report(tmp_path)
    columns = {"scrap_rate": {"name": "Scrap %", "type": "text"}}
    shown = preview(org.platform, book, user=org.anna, choices=_choices(columns=columns)).tables[0]

    [result] = share(org.platform, book, domain="manufacturing", user=org.anna, columns=columns)

    d = describe(org.platform, result.dataset, viewer=org.anna)
    assert [(c.name, c.label, c.type) for c in d.schema] == [(c.name, c.label, c.type) for c in shown.columns]
    stored = query(org.platform, f"SELECT * FROM {result.dataset}", user=org.anna, interface="python").table
    assert [list(r.values()) for r in stored.to_pylist()] == shown.rows
    assert shown.columns[3].name == "scrap" and shown.rows[0][3] == "0.12"


PROBLEMS = {
    "the dataset exists": (
        {"name": "plant_kpis"},
        "manufacturing.plant_kpis exists already: append or replace it, or choose another name",
    ),
    "appending to a dataset that does not exist": ({"mode": "append"}, "does not exist yet: create it first"),
    "appending a file that does not fit": (
        {"name": "plant_kpis", "mode": "append"},
        "the file does not fit the dataset: new columns operator_e_mail; missing columns operator_name",
    ),
    "a value that is not of the chosen type": (
        {"columns": {"plant": {"type": "number"}}},
        "column \"Plant\": the value 'Berlin' is not a number",
    ),
}


@pytest.mark.parametrize(("values", "problem"), PROBLEMS.values(), ids=PROBLEMS.keys())
def test_a_preview_says_what_would_stop_the_share(org, tmp_path: Path, values: dict[str, Any], problem: str) -> None:
    result = preview(org.platform, _report(tmp_path), user=org.anna, choices=_choices(**values))
    assert not result.ready
    assert any(problem in p for p in result.tables[0].problems), result.tables[0].problems


def test_a_visibility_only_owners_may_choose(org, tmp_path: Path, state_of) -> None:
    join_domain(org.platform, "carla", "manufacturing")  # a member: may share, may not classify
    from threshold.identity.service import get_person

    carla = get_person(org.platform, "carla")
    result = preview(org.platform, _report(tmp_path), user=carla, choices=_choices(visibility="restricted"))
    assert not result.may_set_visibility
    assert result.problems == ["carla does not own domain 'manufacturing' (rule: domain.owner)"]
    before = state_of(org.platform)
    with pytest.raises(Denied, match="rule: domain.owner"):
        share(org.platform, _report(tmp_path), domain="manufacturing", user=carla, visibility="restricted")
    assert state_of(org.platform) == before  # refused before anything was written


def test_a_chosen_visibility_is_set_by_governance(org, tmp_path: Path) -> None:
    [result] = share(org.platform, _report(tmp_path), domain="manufacturing", user=org.anna, visibility="restricted")
    assert result.notes[-1] == "visibility restricted"
    assert describe(org.platform, result.dataset, viewer=org.anna).visibility == "restricted"
    assert result.dataset not in [d["name"] for d in search(org.platform, per_page=100, viewer=org.carla).results]
    from threshold.governance.audit import search as audit

    entries = audit(org.platform, org.admin, dataset=result.dataset, action="visibility")
    assert [(e.action, e.actor) for e in entries] == [("visibility.dataset", "anna")]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"visibility": "secret"}, "visibility must be one of open, on-request, restricted"),
        ({"visibility": "open", "mode": "append", "name": "plant_kpis"}, "a visibility is chosen when a dataset is"),
    ],
)
def test_a_visibility_that_cannot_be_chosen_is_refused(
    org, tmp_path: Path, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        share(org.platform, org.plant_kpis_csv, domain="manufacturing", user=org.anna, **values)


def test_renames_and_types_with_checked_casts(org, tmp_path: Path, state_of) -> None:
    book = xlsx(tmp_path / "units.xlsx", {"S": [["Plant", "Units", "Hours"], ["Berlin", 3, 2.5], ["Lyon", 4, 1]]})
    before = state_of(org.platform)
    with pytest.raises(InvalidInput, match="column \"Hours\": the value '2.5' is not a whole number"):
        share(org.platform, book, domain="manufacturing", user=org.anna, columns={"hours": {"type": "integer"}})
    assert state_of(org.platform) == before

    [result] = share(
        org.platform,
        book,
        domain="manufacturing",
        user=org.anna,
        columns={"units": {"name": "units_made", "type": "number"}, "plant": {"type": "text"}},
    )
    d = describe(org.platform, result.dataset)
    assert [(c.name, c.type) for c in d.schema] == [
        ("plant", "VARCHAR"),
        ("units_made", "DOUBLE"),
        ("hours", "DOUBLE"),
    ]
    assert "column 'units' renamed 'units_made'" in result.notes


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"nope": {"name": "x"}}, "no column 'nope' to change; the columns are plant, units"),
        ({"units": {"type": "money"}}, "unknown column type 'money'"),
        ({"units": {"name": "plant"}}, "two columns would be named 'plant'"),
        ({"units": {"name": "!!!"}}, "column name '!!!' cannot be used"),
        ({"units": {"colour": "red"}}, "only 'name' and 'type' can be chosen"),
    ],
)
def test_column_choices_that_cannot_apply_are_refused(org, tmp_path: Path, columns: Any, message: str) -> None:
    book = xlsx(tmp_path / "units.xlsx", {"S": [["Plant", "Units"], ["Berlin", 3]]})
    with pytest.raises(InvalidInput, match=message):
        share(org.platform, book, domain="manufacturing", user=org.anna, columns=columns)


def test_a_workbook_shares_its_first_sheet_and_names_the_others(org, tmp_path: Path) -> None:
    book = _report(tmp_path, Costs=[["Item", "EUR"], ["Rent", 900]])
    [result] = share(org.platform, book, domain="manufacturing", user=org.anna)
    assert (
        "only sheet 'November' was read; the workbook also has 'Costs': choose a sheet by name, or every sheet ('*')"
        in result.notes
    )
    results = share(org.platform, book, domain="manufacturing", name="every", user=org.anna, sheet="*")
    assert [r.dataset for r in results] == ["manufacturing.every_november", "manufacturing.every_costs"]


def test_a_csv_export_with_title_lines_keeps_its_numbers_typed(org, tmp_path: Path) -> None:
    path = tmp_path / "energy.csv"
    path.write_text(csv_text([["Energy report"], [], ["Plant", "kWh"], ["Berlin", 1520.5], ["Total", 1520.5]]))
    [result] = share(org.platform, path, domain="manufacturing", user=org.anna)
    d = describe(org.platform, result.dataset)
    assert [(c.name, c.type) for c in d.schema] == [("plant", "VARCHAR"), ("kwh", "DOUBLE")]
    assert d.rows == 1


# -- uploads kept between preview and publish -------------------------------------------------------------


def _upload(org: Any, tmp_path: Path, person: Any = None, now: datetime | None = None) -> staged.Staged:
    data = _report(tmp_path).read_bytes()
    return staged.stage(org.platform, person or org.anna, "kpi_report.xlsx", io.BytesIO(data), now=now)


def test_an_upload_is_kept_privately_and_removed_when_published(org, tmp_path: Path) -> None:
    result = preview_upload(org.platform, org.anna, "kpi_report.xlsx", _report(tmp_path).open("rb"), _choices())
    folder = org.platform.settings.previews_dir / str(result.preview_id)
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert (folder / "upload" / "kpi_report.xlsx").is_file()
    assert result.expires_at is not None

    changed = preview_staged(org.platform, org.anna, str(result.preview_id), header_row="3", description="KPIs")
    assert changed.choices.header_row == "3" and changed.choices.description == "KPIs"
    [shared] = publish(org.platform, org.anna, str(result.preview_id), purpose="reporting")
    assert shared.rows_added == 2
    d = describe(org.platform, shared.dataset)
    assert (d.description, d.purpose) == ("KPIs", "reporting")
    assert list(org.platform.settings.previews_dir.iterdir()) == []


def test_a_refused_publish_keeps_the_upload_for_another_try(org, tmp_path: Path, state_of) -> None:
    held = _upload(org, tmp_path)
    before = state_of(org.platform)
    with pytest.raises(Conflict, match="exists already"):
        publish(org.platform, org.anna, held.token, name="plant_kpis")
    assert state_of(org.platform) == before
    [shared] = publish(org.platform, org.anna, held.token, name="kpis_november")
    assert shared.dataset == "manufacturing.kpis_november"


def test_a_preview_is_published_once(org, tmp_path: Path) -> None:
    held = _upload(org, tmp_path)
    with staged.claim(org.platform, org.anna, held.token):  # a publish under way
        with pytest.raises(NotFound, match="published, cancelled or expired"):
            publish(org.platform, org.anna, held.token)
    with pytest.raises(NotFound):  # and done: the upload is gone
        staged.find(org.platform, org.anna, held.token)


def test_nobody_else_can_see_use_or_cancel_an_upload(org, tmp_path: Path) -> None:
    held = _upload(org, tmp_path)
    for person in (org.ben, org.admin):
        for attempt in (
            lambda p: preview_staged(org.platform, p, held.token),
            lambda p: publish(org.platform, p, held.token, domain="manufacturing"),
            lambda p: cancel(org.platform, p, held.token),
        ):
            with pytest.raises(NotFound, match="no preview"):
                attempt(person)
    assert staged.find(org.platform, org.anna, held.token).file.is_file()


@pytest.mark.parametrize("token", ["../../warehouse", "0" * 31, "ABCDEF" * 6, "", "x" * 500])
def test_a_token_that_is_no_token_finds_nothing(org, token: str) -> None:
    with pytest.raises(NotFound):
        staged.find(org.platform, org.anna, token)


def test_an_upload_expires(org, tmp_path: Path) -> None:
    t0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    held = _upload(org, tmp_path, now=t0)
    minutes = org.platform.settings.preview_minutes
    assert staged.find(org.platform, org.anna, held.token, now=t0 + timedelta(minutes=minutes - 1))
    with pytest.raises(NotFound):
        staged.find(org.platform, org.anna, held.token, now=t0 + timedelta(minutes=minutes))
    assert list(org.platform.settings.previews_dir.iterdir()) == []


def test_an_upload_being_published_outlives_its_expiry_by_a_day(org, tmp_path: Path) -> None:
    t0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    held = _upload(org, tmp_path, now=t0)
    later = t0 + timedelta(minutes=org.platform.settings.preview_minutes + 5)
    with staged.claim(org.platform, org.anna, held.token, now=t0):
        assert staged.sweep(org.platform, now=later) == 0
        assert staged.sweep(org.platform, now=later + timedelta(days=1)) == 1


def test_each_person_keeps_a_bounded_number_of_uploads(org, tmp_path: Path) -> None:
    t0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    limit = org.platform.settings.previews_per_person
    tokens = [_upload(org, tmp_path, now=t0 + timedelta(seconds=i)).token for i in range(limit + 1)]
    other = _upload(org, tmp_path, person=org.ben, now=t0)
    kept = {p.name for p in org.platform.settings.previews_dir.iterdir()}
    assert kept == {*tokens[1:], other.token}  # anna's oldest made room; ben's is his own


def test_an_upload_over_the_upload_limit_is_refused_and_not_kept(org, monkeypatch) -> None:
    from threshold.errors import TooLarge

    monkeypatch.setattr(org.platform.settings.limits, "upload_bytes", 1000)
    with pytest.raises(TooLarge, match=r"big.csv is over the upload limit \(limits.upload_bytes = 1000"):
        staged.stage(org.platform, org.anna, "big.csv", io.BytesIO(b"a,b\n" + b"1,2\n" * 400))
    assert list(org.platform.settings.previews_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("filename", "message"),
    [(".bashrc", "needs a file name"), ("../../x.csv", None), ("report.exe", "unknown file type '.exe'")],
)
def test_upload_names_are_checked(org, filename: str, message: str | None) -> None:
    if message is None:  # a path is reduced to its name: nothing lands outside the preview folder
        held = staged.stage(org.platform, org.anna, filename, io.BytesIO(b"a\n1\n"))
        assert held.file.parent.parent.parent == org.platform.settings.previews_dir
        assert held.file.name == "x.csv"
        return
    with pytest.raises(InvalidInput, match=message):
        staged.stage(org.platform, org.anna, filename, io.BytesIO(b"a\n1\n"))


def test_an_unreadable_upload_is_not_kept(org) -> None:
    with pytest.raises(InvalidInput, match="not a readable spreadsheet"):
        preview_upload(org.platform, org.anna, "kpi.xlsx", io.BytesIO(b"not a workbook"), _choices())
    assert list(org.platform.settings.previews_dir.iterdir()) == []


def test_a_restart_keeps_previews_and_cleans_dead_shares(org, tmp_path: Path) -> None:
    held = _upload(org, tmp_path)
    dead = org.platform.settings.staging_dir / "abandoned"
    dead.mkdir()
    (dead / "pid").write_text("999999999")
    org.platform.clean_staging()
    assert not dead.exists()
    assert staged.find(org.platform, org.anna, held.token).file.is_file()
    assert os.listdir(org.platform.settings.previews_dir) == [held.token]


def test_changing_how_the_table_is_read_drops_column_choices_for_the_old_reading(org, tmp_path: Path) -> None:
    held = _upload(org, tmp_path)
    first = preview_staged(org.platform, org.anna, held.token, columns={"plant": {"name": "site"}})
    assert first.tables[0].columns[0].name == "site"
    again = preview_staged(org.platform, org.anna, held.token, header_row="1")
    assert again.choices.columns == {}
    assert again.tables[0].columns[0].key == "plant_kpi_report_november_2026"


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"header_row": 2}, "a header row applies to spreadsheets and CSV files; units.parquet is parquet"),
        ({"sheet": "S"}, "a sheet applies to spreadsheets and CSV files; units.parquet is parquet"),
        ({"keep_totals": True}, "keeping totals applies to spreadsheets and CSV files"),
    ],
)
def test_layout_options_for_other_formats_are_refused_not_ignored(
    org, tmp_path: Path, option: dict[str, Any], message: str
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "units.parquet"
    pq.write_table(pa.table({"units": [1, 2]}), path)
    with pytest.raises(InvalidInput, match=message):
        share(org.platform, path, domain="manufacturing", user=org.anna, **option)
