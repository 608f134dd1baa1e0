"""Sharing end to end: a file or a frame becomes `domain.name` in the lake, one Iceberg snapshot per share.

Every test reads the result back the way people do: through the catalog (`describe`), the gateway
(`query`) and the lake's snapshots. Bad inputs and crashes have their own modules
(`test_share_bad_inputs.py`, `test_share_crash.py`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from threshold.catalog.results import DatasetRecord, RecordColumn, RecordSource
from threshold.catalog.service import describe
from threshold.errors import Conflict, Denied, InvalidInput, NotFound
from threshold.gateway.service import query
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.sharing.service import share

KPIS = "manufacturing.plant_kpis"
KPIS_HEADER = "Plant,Operator Name,E-Mail,Scrap Rate,Energy kWh,Day\n"

SHIFTS_CSV = """Plant,Operator Name,E-Mail,Scrap Rate,Units,Day
Berlin,Anna Schmidt,anna.schmidt@example.com,0.12,120,2026-01-03
Lyon,Jean Dupont,jean.dupont@example.fr,0.08,95,2026-01-04
Berlin,Max Müller,max.mueller@example.de,,130,2026-01-05
Porto,Ana Silva,ana.silva@example.pt,0.05,70,2026-01-05
"""


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _rows(platform: Platform, user: Person, sql: str) -> list[dict[str, Any]]:
    return query(platform, sql, user=user).table.to_pylist()


def _column(record: DatasetRecord, name: str) -> RecordColumn:
    return next(c for c in record.schema if c.name == name)


def _tags(record: DatasetRecord) -> dict[str, list[str]]:
    return {c.name: [t.tag for t in c.tags] for c in record.schema if c.tags}


# -- create ---------------------------------------------------------------------------------------


def test_create_from_csv_records_schema_profile_tags_and_source(any_org, tmp_path: Path) -> None:
    platform = any_org.platform
    csv = _write(tmp_path, "shifts.csv", SHIFTS_CSV)

    [result] = share(platform, csv, domain="manufacturing", user=any_org.anna, purpose="shift planning")

    assert (result.dataset, result.mode, result.rows_added, result.rows_total) == (
        "manufacturing.shifts",
        "create",
        4,
        4,
    )
    record = describe(platform, "manufacturing.shifts")
    assert [(c.name, c.label, c.type) for c in record.schema] == [
        ("plant", "Plant", "VARCHAR"),
        ("operator_name", "Operator Name", "VARCHAR"),
        ("e_mail", "E-Mail", "VARCHAR"),
        ("scrap_rate", "Scrap Rate", "DOUBLE"),
        ("units", "Units", "BIGINT"),
        ("day", "Day", "DATE"),
    ]
    assert (record.rows, record.purpose, record.shared_by) == (4, "shift planning", "anna")

    plant, scrap, units, day = (_column(record, n) for n in ("plant", "scrap_rate", "units", "day"))
    assert (plant.null_fraction, plant.distinct_estimate, plant.min, plant.max) == (0, 3, "Berlin", "Porto")
    assert plant.top_values == [["Berlin", 2], ["Lyon", 1], ["Porto", 1]]
    assert (scrap.null_fraction, scrap.distinct_estimate, scrap.min, scrap.max) == (0.25, 3, "0.05", "0.12")
    assert (units.min, units.max, units.distinct_estimate) == ("70", "130", 4)
    assert (day.min, day.max) == ("2026-01-03", "2026-01-05")
    assert day.top_values[0] == ["2026-01-05", 2]

    assert _tags(record) == {"operator_name": ["personal.name"], "e_mail": ["personal.email"]}
    assert sorted(result.tags) == [("e_mail", "personal.email"), ("operator_name", "personal.name")]

    data = csv.read_bytes()
    assert record.source == RecordSource(
        name="shifts.csv", format="csv", size=len(data), sha256=hashlib.sha256(data).hexdigest()
    )
    assert len(platform.lake.load("manufacturing.shifts").snapshots()) == 1
    assert record.snapshot_id == result.snapshot_id

    rows = _rows(platform, any_org.anna, "SELECT * FROM manufacturing.shifts ORDER BY day, plant")  # unmasked
    assert rows[2] == {
        "plant": "Berlin",
        "operator_name": "Max Müller",
        "e_mail": "max.mueller@example.de",
        "scrap_rate": None,
        "units": 130,
        "day": date(2026, 1, 5),
    }
    assert [r["units"] for r in rows] == [120, 95, 130, 70]


def test_dataset_name_defaults_to_the_file_name(platform: Platform, tmp_path: Path) -> None:
    from threshold.identity.service import ADMIN, add_domain, get_person

    add_domain(platform, "sales")
    csv = _write(tmp_path, "Q1 Orders (final).csv", "id,amount\n1,2.5\n")

    [result] = share(platform, csv, domain="sales", user=get_person(platform, ADMIN))

    assert result.dataset == "sales.q1_orders_final"


def test_a_new_dataset_is_created_with_its_first_snapshot_in_one_metadata_file(
    platform: Platform, tmp_path: Path
) -> None:
    """The table comes into the catalog with the commit of its first snapshot: no empty table's metadata first."""
    from threshold.identity.service import ADMIN, add_domain, get_person

    add_domain(platform, "sales")
    csv = _write(tmp_path, "orders.csv", "id,amount\n1,2.5\n")
    [result] = share(platform, csv, domain="sales", user=get_person(platform, ADMIN))

    table = platform.lake.load(result.dataset)
    assert table.metadata.metadata_log == []
    assert [s.snapshot_id for s in table.snapshots()] == [result.snapshot_id]
    written = platform.lake.files.listing(platform.lake.table_dir(result.dataset) / "metadata")
    assert [p.name for p in written if p.name.endswith(".metadata.json")] == [Path(table.metadata_location).name]


# -- append ---------------------------------------------------------------------------------------


def test_append_adds_one_snapshot_and_the_history_shows_both_shares(any_org, tmp_path: Path) -> None:
    platform = any_org.platform
    first = describe(platform, KPIS)
    more = _write(
        tmp_path,
        "more.csv",
        KPIS_HEADER + "Porto,Rui Costa,rui.costa@example.pt,0.07,650.0,2026-01-07\n"
        "Lyon,Claire Martin,claire.martin@example.fr,0.09,990.5,2026-01-07\n",
    )

    [result] = share(platform, more, domain="manufacturing", name="plant_kpis", user=any_org.admin, mode="append")

    assert (result.mode, result.rows_added, result.rows_total) == ("append", 2, 7)
    snapshots = platform.lake.load(KPIS).snapshots()
    assert len(snapshots) == 2
    assert snapshots[1].parent_snapshot_id == first.snapshot_id == snapshots[0].snapshot_id
    record = describe(platform, KPIS)
    assert record.rows == 7
    assert [(h.by, h.mode, h.rows_added, h.rows_total, h.source) for h in record.history] == [
        ("admin", "append", 2, 7, "more.csv"),
        ("anna", "create", 5, 5, "plant_kpis.csv"),
    ]
    assert _rows(platform, any_org.admin, f"SELECT plant, count(*) AS n FROM {KPIS} GROUP BY plant ORDER BY plant") == [
        {"plant": "Berlin", "n": 2},
        {"plant": "Lyon", "n": 3},
        {"plant": "Porto", "n": 2},
    ]


def test_append_with_new_column_requires_evolve(any_org, tmp_path: Path) -> None:
    platform = any_org.platform
    wider = _write(
        tmp_path,
        "wider.csv",
        "Plant,Operator Name,E-Mail,Scrap Rate,Energy kWh,Day,Shift\n"
        "Porto,Rui Costa,rui.costa@example.pt,0.07,650.0,2026-01-07,late\n",
    )
    before = describe(platform, KPIS)

    with pytest.raises(Conflict, match=r"new columns shift.*--evolve"):
        share(platform, wider, domain="manufacturing", name="plant_kpis", user=any_org.anna, mode="append")
    assert describe(platform, KPIS) == before

    [result] = share(
        platform, wider, domain="manufacturing", name="plant_kpis", user=any_org.anna, mode="append", evolve=True
    )
    assert "schema evolved: added shift" in result.notes
    assert _column(describe(platform, KPIS), "shift").type == "VARCHAR"
    assert _rows(platform, any_org.admin, f"SELECT shift, count(*) AS n FROM {KPIS} GROUP BY shift ORDER BY n") == [
        {"shift": "late", "n": 1},
        {"shift": None, "n": 5},
    ]


def test_append_with_missing_column_requires_evolve_and_leaves_it_empty(any_org, tmp_path: Path) -> None:
    platform = any_org.platform
    narrower = _write(
        tmp_path,
        "narrower.csv",
        "Plant,Operator Name,E-Mail,Scrap Rate,Day\nPorto,Rui Costa,rui.costa@example.pt,0.07,2026-01-07\n",
    )

    with pytest.raises(Conflict, match="missing columns energy_kwh"):
        share(platform, narrower, domain="manufacturing", name="plant_kpis", user=any_org.anna, mode="append")

    share(platform, narrower, domain="manufacturing", name="plant_kpis", user=any_org.anna, mode="append", evolve=True)
    assert _rows(platform, any_org.admin, f"SELECT plant, energy_kwh FROM {KPIS} WHERE day = DATE '2026-01-07'") == [
        {"plant": "Porto", "energy_kwh": None}
    ]
    assert describe(platform, KPIS).rows == 6


def test_append_with_incompatible_type_names_the_column_and_both_types(any_org, tmp_path: Path) -> None:
    platform = any_org.platform
    text_day = _write(tmp_path, "text_day.csv", KPIS_HEADER + "Porto,Rui Costa,rui@example.pt,0.07,650.0,soon\n")

    for evolve in (False, True):
        with pytest.raises(Conflict) as error:
            share(
                platform,
                text_day,
                domain="manufacturing",
                name="plant_kpis",
                user=any_org.anna,
                mode="append",
                evolve=evolve,
            )
        message = str(error.value)
        assert "day is VARCHAR in the file but DATE in the dataset" in message
        assert "--evolve" not in message, (
            f"--evolve cannot widen DATE to VARCHAR, so it must not be suggested: {message}"
        )
    assert describe(platform, KPIS).rows == 5


def test_append_of_int_into_bigint_column_fits(any_org, tmp_path: Path) -> None:
    platform = any_org.platform
    share(platform, _write(tmp_path, "shifts.csv", SHIFTS_CSV), domain="manufacturing", user=any_org.anna)
    frame = pa.table(
        {
            "Plant": ["Porto"],
            "Operator Name": ["Rui Costa"],
            "E-Mail": ["rui.costa@example.pt"],
            "Scrap Rate": [0.07],
            "Units": pa.array([42], pa.int32()),
            "Day": pa.array([date(2026, 1, 8)], pa.date32()),
        }
    )

    [result] = share(platform, frame, domain="manufacturing", name="shifts", user=any_org.anna, mode="append")

    assert result.rows_total == 5
    assert _column(describe(platform, "manufacturing.shifts"), "units").type == "BIGINT"
    assert _rows(
        platform, any_org.admin, "SELECT units FROM manufacturing.shifts WHERE plant = 'Porto' ORDER BY 1"
    ) == [
        {"units": 42},
        {"units": 70},
    ]


def test_append_of_bigint_into_int_column_widens_only_with_evolve(any_org) -> None:
    platform = any_org.platform
    share(
        platform,
        pa.table({"n": pa.array([1, 2], pa.int32())}),
        domain="manufacturing",
        name="counts",
        user=any_org.anna,
    )
    big = pa.table({"n": pa.array([2**40], pa.int64())})

    with pytest.raises(Conflict, match=r"n is BIGINT in the file but INTEGER in the dataset \(use --evolve to widen\)"):
        share(platform, big, domain="manufacturing", name="counts", user=any_org.anna, mode="append")
    [result] = share(
        platform, big, domain="manufacturing", name="counts", user=any_org.anna, mode="append", evolve=True
    )

    assert "schema evolved: widened n" in result.notes
    assert _column(describe(platform, "manufacturing.counts"), "n").type == "BIGINT"
    assert _rows(platform, any_org.admin, "SELECT n FROM manufacturing.counts ORDER BY n") == [
        {"n": 1},
        {"n": 2},
        {"n": 2**40},
    ]


# -- replace and time travel ------------------------------------------------------------------------


def test_replace_swaps_rows_and_schema_in_one_snapshot_and_time_travel_reads_the_old(any_org, tmp_path: Path) -> None:
    platform, anna = any_org.platform, any_org.anna  # a member of manufacturing reads it unmasked
    old_rows = _rows(platform, anna, f"SELECT * FROM {KPIS} ORDER BY day, plant")
    old = describe(platform, KPIS)
    between = datetime.now(UTC)  # after the old snapshot, before the replace's (checked below): no sleep
    # scrap_rate becomes text (retyped), energy_kwh/e_mail/operator_name/day go, units is new.
    new = _write(tmp_path, "kpis_v2.csv", "Plant,Scrap Rate,Units\nBerlin,low,10\nLyon,high,20\n")

    [result] = share(platform, new, domain="manufacturing", name="plant_kpis", user=any_org.anna, mode="replace")

    assert (result.rows_added, result.rows_total) == (2, 2)
    snapshots = platform.lake.load(KPIS).snapshots()
    assert [s.snapshot_id for s in snapshots] == [old.snapshot_id, result.snapshot_id]
    assert snapshots[0].timestamp_ms <= between.timestamp() * 1000 < snapshots[1].timestamp_ms
    record = describe(platform, KPIS)
    assert [(c.name, c.type) for c in record.schema] == [
        ("plant", "VARCHAR"),
        ("scrap_rate", "VARCHAR"),
        ("units", "BIGINT"),
    ]
    assert _tags(record) == {}
    assert _rows(platform, anna, f"SELECT * FROM {KPIS} ORDER BY plant") == [
        {"plant": "Berlin", "scrap_rate": "low", "units": 10},
        {"plant": "Lyon", "scrap_rate": "high", "units": 20},
    ]

    by_version = f"SELECT * FROM {KPIS} FOR VERSION AS OF {old.snapshot_id} ORDER BY day, plant"
    assert _rows(platform, anna, by_version) == old_rows
    by_time = f"SELECT * FROM {KPIS} FOR TIMESTAMP AS OF '{between.isoformat(sep=' ')}' ORDER BY day, plant"
    assert _rows(platform, anna, by_time) == old_rows
    assert len(old_rows) == 5 and old_rows[0]["scrap_rate"] == 0.12


def test_time_travel_to_before_a_replace_keeps_personal_columns_masked(any_org, tmp_path: Path) -> None:
    """Carla (sales) reads manufacturing's personal columns masked. A replace drops those columns (and
    their tags); reading the snapshot before it must still not hand them out unmasked."""
    platform, carla = any_org.platform, any_org.carla
    old = describe(platform, KPIS).snapshot_id
    personal = f"SELECT e_mail, operator_name FROM {KPIS}"
    raw = {(r["e_mail"], r["operator_name"]) for r in _rows(platform, any_org.anna, personal)}
    assert raw.isdisjoint((r["e_mail"], r["operator_name"]) for r in _rows(platform, carla, personal))
    new = _write(tmp_path, "kpis_v2.csv", "Plant,Scrap Rate\nBerlin,0.1\n")
    share(platform, new, domain="manufacturing", name="plant_kpis", user=any_org.anna, mode="replace")

    before_replace = _rows(platform, carla, f"{personal} FOR VERSION AS OF {old}")

    leaked = [
        r for r in before_replace if r["e_mail"] in {e for e, _ in raw} or r["operator_name"] in {n for _, n in raw}
    ]
    assert not leaked, f"time travel to before a replace hands personal data out unmasked: {leaked[:2]}"


# -- refusals -----------------------------------------------------------------------------------------


@dataclass
class Refusal:
    kwargs: dict[str, Any]
    error: type[Exception]
    message: str
    user: str = "anna"


REFUSALS = {
    "create when the dataset exists": Refusal(
        {"name": "plant_kpis"}, Conflict, "manufacturing.plant_kpis exists already; share with --mode append"
    ),
    "append to a missing dataset": Refusal(
        {"name": "nothing_here", "mode": "append"}, NotFound, "manufacturing.nothing_here does not exist yet"
    ),
    "replace a missing dataset": Refusal(
        {"name": "nothing_here", "mode": "replace"}, NotFound, "manufacturing.nothing_here does not exist yet"
    ),
    "unknown domain": Refusal({"domain": "marketing"}, NotFound, "no domain 'marketing'"),
    "user not in the domain": Refusal(
        {"domain": "finance"}, Denied, "anna is not a member of domain 'finance'", user="anna"
    ),
    "unknown mode": Refusal({"mode": "upsert"}, InvalidInput, "unknown mode 'upsert'"),
}


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_refused_share_says_why_and_changes_nothing(any_org, case: Refusal, state_of) -> None:
    platform = any_org.platform
    before = state_of(platform)
    kwargs = {"domain": "manufacturing"} | case.kwargs

    with pytest.raises(case.error) as error:
        share(platform, any_org.plant_kpis_csv, user=getattr(any_org, case.user), **kwargs)

    assert case.message in str(error.value)
    assert "\n" not in str(error.value)
    assert state_of(platform) == before


# -- in-memory frames ---------------------------------------------------------------------------------

FRAMES: dict[str, Callable[[], Any]] = {
    "pyarrow": lambda: pa.table(
        {"Plant": ["Berlin", "Lyon"], "Units": pa.array([3, 4], pa.int64()), "Day": [date(2026, 1, 1), None]}
    ),
    "pandas": lambda: pd.DataFrame(
        {"Plant": ["Berlin", "Lyon"], "Units": [3, 4], "Day": pd.to_datetime(["2026-01-01", None]).date}
    ).astype({"Day": "object"}),
    "polars": lambda: pl.DataFrame(
        {"Plant": ["Berlin", "Lyon"], "Units": [3, 4], "Day": [date(2026, 1, 1), None]},
        schema={"Plant": pl.String, "Units": pl.Int64, "Day": pl.Date},
    ),
}


@pytest.mark.parametrize("make", FRAMES.values(), ids=FRAMES.keys())
def test_share_an_in_memory_frame(org, make: Callable[[], Any]) -> None:
    platform = org.platform

    [result] = share(platform, make(), domain="manufacturing", name="frame", user=org.anna)

    assert result.rows_added == 2
    record = describe(platform, "manufacturing.frame")
    assert [(c.name, c.label, c.type) for c in record.schema] == [
        ("plant", "Plant", "VARCHAR"),
        ("units", "Units", "BIGINT"),
        ("day", "Day", "DATE"),
    ]
    assert record.source.format == "arrow"
    assert (record.source.size, record.source.sha256) == (None, None)
    assert _rows(platform, org.admin, "SELECT * FROM manufacturing.frame ORDER BY plant") == [
        {"plant": "Berlin", "units": 3, "day": date(2026, 1, 1)},
        {"plant": "Lyon", "units": 4, "day": None},
    ]


def test_an_in_memory_frame_needs_a_name(org, state_of) -> None:
    before = state_of(org.platform)

    with pytest.raises(InvalidInput, match="name= is required"):
        share(org.platform, pa.table({"a": [1]}), domain="manufacturing", user=org.anna)

    assert state_of(org.platform) == before


def test_an_object_that_is_no_frame_is_refused(org) -> None:
    with pytest.raises(InvalidInput, match="cannot share a dict; give a file path or an Arrow, pandas or polars frame"):
        share(org.platform, {"a": [1]}, domain="manufacturing", name="d", user=org.anna)


# -- other file formats ---------------------------------------------------------------------------------


def _workbook(path: Path) -> Path:
    wb = Workbook()
    q1 = wb.active
    q1.title = "Q1"
    for row in (["Plant", "Units", "Day"], ["Berlin", 3, date(2026, 1, 2)], ["Lyon", 4, date(2026, 2, 3)]):
        q1.append(row)
    q2 = wb.create_sheet("Q2 Sales")
    for row in (["Plant", "Units", "Day"], ["Porto", 5, date(2026, 4, 1)]):
        q2.append(row)
    wb.save(path)
    return path


def test_every_sheet_of_a_workbook_becomes_its_own_dataset(org, tmp_path: Path) -> None:
    platform = org.platform
    book = _workbook(tmp_path / "report.xlsx")

    results = share(platform, book, domain="manufacturing", sheet="*", user=org.anna)

    assert [(r.dataset, r.rows_added) for r in results] == [
        ("manufacturing.report_q1", 2),
        ("manufacturing.report_q2_sales", 1),
    ]
    q2 = describe(platform, "manufacturing.report_q2_sales")
    assert [(c.name, c.type) for c in q2.schema] == [
        ("plant", "VARCHAR"),
        ("units", "BIGINT"),
        ("day", "DATE"),
    ]
    assert _rows(platform, org.admin, "SELECT * FROM manufacturing.report_q2_sales") == [
        {"plant": "Porto", "units": 5, "day": date(2026, 4, 1)}
    ]
    for name in ("report_q1", "report_q2_sales"):
        assert len(platform.lake.load(f"manufacturing.{name}").snapshots()) == 1


def test_one_sheet_of_a_workbook_by_name(org, tmp_path: Path) -> None:
    book = _workbook(tmp_path / "report.xlsx")

    [result] = share(org.platform, book, domain="manufacturing", sheet="Q2 Sales", name="q2", user=org.anna)

    assert (result.dataset, result.rows_added) == ("manufacturing.q2", 1)


def test_a_missing_sheet_is_refused_with_the_sheets_listed(org, tmp_path: Path, state_of) -> None:
    book = _workbook(tmp_path / "report.xlsx")
    before = state_of(org.platform)

    with pytest.raises(InvalidInput, match="report.xlsx has no sheet 'Q3'; its sheets are 'Q1', 'Q2 Sales'"):
        share(org.platform, book, domain="manufacturing", sheet="Q3", user=org.anna)

    assert state_of(org.platform) == before


@dataclass
class FileCase:
    file: str
    write: Callable[[Path], None]
    schema: list[tuple[str, str]]
    rows: list[dict[str, Any]]


def _text(content: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(content, encoding="utf-8")


def _parquet(path: Path) -> None:
    table = pa.table(
        {
            "Order ID": pa.array([1, 2], pa.int32()),
            "Amount": pa.array([12.5, None], pa.float64()),
            "At": pa.array([datetime(2026, 1, 2, 3, 4, 5), datetime(2026, 1, 3)], pa.timestamp("us")),
        }
    )
    pq.write_table(table, path)


FILES = {
    "json array": FileCase(
        "orders.json",
        _text(
            json.dumps([{"Order ID": 1, "Amount": 12.5, "Note": "x"}, {"Order ID": 2, "Amount": None, "Note": None}])
        ),
        [("order_id", "BIGINT"), ("amount", "DOUBLE"), ("note", "VARCHAR")],
        [{"order_id": 1, "amount": 12.5, "note": "x"}, {"order_id": 2, "amount": None, "note": None}],
    ),
    "ndjson": FileCase(
        "orders.ndjson",
        _text('{"Order ID": 1, "Amount": 12.5, "Note": "x"}\n{"Order ID": 2, "Amount": null, "Note": null}\n'),
        [("order_id", "BIGINT"), ("amount", "DOUBLE"), ("note", "VARCHAR")],
        [{"order_id": 1, "amount": 12.5, "note": "x"}, {"order_id": 2, "amount": None, "note": None}],
    ),
    "parquet": FileCase(
        "orders.parquet",
        _parquet,
        [("order_id", "INTEGER"), ("amount", "DOUBLE"), ("at", "TIMESTAMP")],
        [
            {"order_id": 1, "amount": 12.5, "at": datetime(2026, 1, 2, 3, 4, 5)},
            {"order_id": 2, "amount": None, "at": datetime(2026, 1, 3)},
        ],
    ),
}


@pytest.mark.parametrize("case", FILES.values(), ids=FILES.keys())
def test_share_a_json_or_parquet_file(org, tmp_path: Path, case: FileCase) -> None:
    path = tmp_path / case.file
    case.write(path)

    [result] = share(org.platform, path, domain="manufacturing", user=org.anna)

    assert result.dataset == "manufacturing.orders"
    record = describe(org.platform, "manufacturing.orders")
    assert [(c.name, c.type) for c in record.schema] == case.schema
    assert record.source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert _rows(org.platform, org.admin, "SELECT * FROM manufacturing.orders ORDER BY order_id") == case.rows


def test_a_cp1252_byte_past_an_ascii_megabyte_is_shared_in_cp1252(org, tmp_path: Path) -> None:
    """The encoding is sniffed on the first megabyte (plain ASCII: UTF-8); DuckDB finds the cp1252 byte while
    converting, and the share falls back to cp1252 once, publishing one snapshot with every row intact."""
    from threshold.sharing.readers.csv import SNIFF_BYTES

    rows = "".join(f"{i},plain\n" for i in range(SNIFF_BYTES // 8))
    path = _write(tmp_path, "late.csv", ("id,name\n" + rows + "999999,Müller\n").encode("cp1252"))

    [result] = share(org.platform, path, domain="manufacturing", user=org.anna)

    assert "encoding cp1252" in result.notes
    assert result.rows_added == SNIFF_BYTES // 8 + 1
    assert _rows(org.platform, org.anna, "SELECT name FROM manufacturing.late WHERE id = 999999") == [
        {"name": "Müller"}
    ]
    record = describe(org.platform, "manufacturing.late")
    assert len(record.history) == 1
    assert record.source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_each_share_records_the_sha256_of_its_own_file(org, tmp_path: Path) -> None:
    """A changed file gets another digest in the history; the same bytes shared again get the same one."""
    first = _write(tmp_path, "counts.csv", b"id,n\n1,10\n2,20\n")
    share(org.platform, first, domain="manufacturing", user=org.anna)
    (tmp_path / "changed").mkdir()
    changed = _write(tmp_path / "changed", "counts.csv", b"id,n\n1,10\n2,21\n")
    share(org.platform, changed, domain="manufacturing", user=org.anna, mode="replace")
    share(org.platform, first, domain="manufacturing", user=org.anna, mode="replace")

    history = describe(org.platform, "manufacturing.counts").history
    digests = [h.sha256 for h in reversed(history)]  # oldest first
    assert digests == [hashlib.sha256(p.read_bytes()).hexdigest() for p in (first, changed, first)]
    assert digests[0] != digests[1]


def test_a_source_digest_is_the_files_sha256_and_a_cancelled_one_is_none(tmp_path: Path) -> None:
    from threshold.sharing.service import SourceDigest

    class OneByteAtATime(SourceDigest):
        CHUNK = 1  # four million reads: cancelled long before the end

    path = _write(tmp_path, "big.csv", b"a,b\n" + b"1,2\n" * (1 << 20))
    assert SourceDigest(path).result() == hashlib.sha256(path.read_bytes()).hexdigest()
    slow = OneByteAtATime(path)
    slow.pause()
    slow.cancel()
    assert slow.result() is None
    assert SourceDigest(tmp_path / "gone.csv").result() is None
