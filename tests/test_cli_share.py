"""`threshold share` with a preview and the layout options, and `threshold serve|demo` on a busy port.

JSON output is parsed; every error is one line on stderr with a non-zero exit, never a traceback. The
commands run the CLI's entry point in this process (`inprocess.threshold`: what they print and their exit
code, without a new interpreter each); `threshold serve` on a busy port runs as a real process, whose exit
code and output are those of the installed command.
"""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

import inprocess
from test_cli import ok, threshold
from workbooks import xlsx

REPORT = [
    ["Plant KPI report, November 2026"],
    [],
    ["Plant", "Day", "Scrap Rate", "Units"],
    ["Berlin", date(2026, 11, 2), 0.12, 3],
    ["Lyon", date(2026, 11, 2), 0.08, 4],
    ["Total", None, 0.2, 7],
]


def here(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`threshold ARGS --home HOME` through the same entry point, in this process."""
    return inprocess.threshold(*args, home=home, columns=80)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("cli_share")
    path = tmp / "home"
    for args in (
        ("init",),
        ("domain", "add", "manufacturing"),
        ("user", "add", "anna", "--domain", "manufacturing"),
        ("domain", "join", "manufacturing", "anna", "--role", "owner"),
    ):
        ok(here(path, *args))
    book = xlsx(tmp / "kpi_report.xlsx", {"November": REPORT, "Notes": [["free text"]]})
    return path, book


def test_preview_prints_what_would_be_stored_and_shares_nothing(home: tuple[Path, Path]) -> None:
    path, book = home
    shown = ok(here(path, "share", str(book), "--domain", "manufacturing", "--as", "anna", "--preview"))
    assert "preview of kpi_report.xlsx: nothing was shared" in shown
    assert "sheets: 'November', 'Notes'" in shown
    assert "row 3 is the header" in shown
    assert "left out row 1, above the table (title)" in shown
    assert "left out row 6, a total: 'Total', the sum of the rows above" in shown
    assert "only sheet 'November' was read" in shown
    assert json.loads(ok(here(path, "datasets", "--format", "json"))) == []


def test_preview_as_json(home: tuple[Path, Path]) -> None:
    path, book = home
    args = ("share", str(book), "--domain", "manufacturing", "--as", "anna", "--preview", "--format", "json")
    data = json.loads(ok(here(path, *args, "--type", "units=number", "--rename", "scrap_rate=scrap")))
    [table] = data["tables"]
    assert [(c["name"], c["type"], c["detected_type"]) for c in table["columns"]] == [
        ("plant", "VARCHAR", "VARCHAR"),
        ("day", "DATE", "DATE"),
        ("scrap", "DOUBLE", "DOUBLE"),
        ("units", "DOUBLE", "BIGINT"),
    ]
    assert table["rows"] == [["Berlin", "2026-11-02", 0.12, 3.0], ["Lyon", "2026-11-02", 0.08, 4.0]]
    assert (table["header_rows"], table["row_count"], data["ready"]) == ([3], 2, True)


def test_share_with_corrections(home: tuple[Path, Path]) -> None:
    path, book = home
    args = ["share", str(book), "--domain", "manufacturing", "--as", "anna", "--name", "kpis", "--format", "json"]
    args += ["--header-row", "3", "--keep-totals", "--rename", "units=units_made", "--visibility", "restricted"]
    [result] = json.loads(ok(here(path, *args)))
    assert (result["dataset"], result["rows_added"]) == ("manufacturing.kpis", 3)
    assert result["columns"] == ["plant", "day", "scrap_rate", "units_made"]
    assert "visibility restricted" in result["notes"]
    both = ok(here(path, "share", str(book), "--domain", "manufacturing", "--as", "anna", "--sheet", "*"))
    assert "shared manufacturing.kpi_report_november" in both and "shared manufacturing.kpi_report_notes" in both


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--type", "units=money"), "error: unknown column type 'money'; choose one of text, whole number"),
        (("--rename", "units"), "error: 'units' is not --rename OLD=NEW"),
        (("--header-row", "x"), "error: header row 'x' is not a row number"),
        (("--range", "B:A"), "error: range 'B:A' ends left of where it starts"),
        (("--sheet", "Q3"), "error: kpi_report.xlsx has no sheet 'Q3'; its sheets are 'November', 'Notes'"),
    ],
)
def test_bad_options_are_one_line(home: tuple[Path, Path], args: tuple[str, ...], message: str) -> None:
    path, book = home
    r = here(path, "share", str(book), "--domain", "manufacturing", "--as", "anna", "--preview", *args)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(message) and r.stderr.count("\n") == 1, r.stderr
    assert "Traceback" not in r.stderr


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


@pytest.mark.parametrize("command", [("serve",), ("demo",)])
def test_a_busy_port_is_one_line_before_anything_claims_to_serve(
    home: tuple[Path, Path], busy_port: int, command: tuple[str, ...], tmp_path: Path
) -> None:
    path = home[0] if command == ("serve",) else tmp_path / "demo"
    r = (threshold if command == ("serve",) else here)(path, *command, "--port", str(busy_port))
    assert r.returncode == 5
    assert r.stdout == ""  # no "serving on ...", no demo built
    assert r.stderr == (
        f"error: port {busy_port} on 127.0.0.1 is already in use by another program: "
        f"choose another with --port {busy_port + 1} (make run PORT={busy_port + 1})\n"
    )
    assert not (tmp_path / "demo").exists()
