"""The `threshold` command, run as people run it: a real process with `--home`.

Output meant for programs (`--format json`, `--format csv`) is parsed, not eyeballed. Every error
is one line on stderr and a non-zero exit code, never a traceback. Real processes start the home
(`threshold init`), make one error of each kind (a `ThresholdError`, a usage error of the command line)
and record a query's usage (the journal written as the process exits); the other steps, errors and
reads run the same entry point in this process (`inprocess.threshold`, seconds less each on a loaded
machine).
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import inprocess
from threshold.errors import InvalidInput, NotFound

KPIS_CSV = """Plant,Operator Name,E-Mail,Scrap Rate,Day
Berlin,Anna Schmidt,anna.schmidt@example.com,0.12,2026-01-03
Lyon,Jean Dupont,jean.dupont@example.fr,0.08,2026-01-04
Porto,Ana Silva,ana.silva@example.pt,0.05,2026-01-05
"""


def threshold(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `threshold ARGS --home HOME` in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "threshold.cli", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "80"},
    )


def here(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`threshold ARGS --home HOME` through the same entry point, in this process."""
    return inprocess.threshold(*args, home=home, columns=80)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


@dataclass
class Home:
    path: Path
    setup: dict[str, subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """A home set up from the command line only: init, a domain, a person, one shared CSV."""
    tmp = tmp_path_factory.mktemp("cli")
    path = tmp / "home"
    data = tmp / "plant_kpis.csv"
    data.write_text(KPIS_CSV, encoding="utf-8")
    steps = {
        "domain add": ("domain", "add", "manufacturing", "--title", "Manufacturing"),
        "user add": ("user", "add", "anna", "--domain", "manufacturing", "--display-name", "Anna Schmidt"),
        "share": ("share", str(data), "--domain", "manufacturing", "--as", "anna", "--purpose", "reporting"),
    }
    setup = {"init": threshold(path, "init")}  # the entry point as people start it
    return Home(path, setup | {step: here(path, *args) for step, args in steps.items()})


def test_a_home_is_set_up_from_the_command_line(home: Home) -> None:
    assert f"Threshold home ready at {home.path}" in ok(home.setup["init"])
    assert ok(home.setup["domain add"]).strip() == "added domain manufacturing"
    assert ok(home.setup["user add"]).strip() == "added user anna in manufacturing"
    shared = ok(home.setup["share"])
    assert "shared manufacturing.plant_kpis (create): 3 rows added, 3 in total, 5 columns" in shared
    assert "tagged" in shared and "e_mail: personal.email" in shared


def test_init_twice_keeps_the_home(home: Home) -> None:
    ok(here(home.path, "init"))

    assert [d["name"] for d in json.loads(ok(here(home.path, "datasets", "--format", "json")))] == [
        "manufacturing.plant_kpis"
    ]


def test_datasets_as_json(home: Home) -> None:
    [dataset] = json.loads(ok(here(home.path, "datasets", "--format", "json")))

    assert {k: dataset[k] for k in ("name", "domain", "rows", "columns", "tags", "shared_by")} == {
        "name": "manufacturing.plant_kpis",
        "domain": "manufacturing",
        "rows": 3,
        "columns": 5,
        "tags": ["personal.email", "personal.name"],
        "shared_by": "anna",
    }


def test_show_as_json(home: Home) -> None:
    record = json.loads(ok(here(home.path, "show", "manufacturing.plant_kpis", "--format", "json")))

    assert [(c["name"], c["label"], c["type"]) for c in record["schema"]] == [
        ("plant", "Plant", "VARCHAR"),
        ("operator_name", "Operator Name", "VARCHAR"),
        ("e_mail", "E-Mail", "VARCHAR"),
        ("scrap_rate", "Scrap Rate", "DOUBLE"),
        ("day", "Day", "DATE"),
    ]
    assert (record["purpose"], record["source"]["name"], record["source"]["size"]) == (
        "reporting",
        "plant_kpis.csv",
        len(KPIS_CSV.encode()),
    )
    assert [(h["by"], h["mode"], h["rows_added"]) for h in record["history"]] == [("anna", "create", 3)]


def test_query_as_json_is_an_array_of_row_objects(home: Home) -> None:
    sql = "SELECT plant, scrap_rate, day FROM manufacturing.plant_kpis ORDER BY day"

    rows = json.loads(ok(here(home.path, "query", sql, "--format", "json")))

    assert rows == [
        {"plant": "Berlin", "scrap_rate": 0.12, "day": "2026-01-03"},
        {"plant": "Lyon", "scrap_rate": 0.08, "day": "2026-01-04"},
        {"plant": "Porto", "scrap_rate": 0.05, "day": "2026-01-05"},
    ]


def test_query_as_csv(home: Home) -> None:
    sql = "SELECT plant, scrap_rate FROM manufacturing.plant_kpis ORDER BY plant"

    text = ok(here(home.path, "query", sql, "--format", "csv"))

    assert list(csv.reader(io.StringIO(text))) == [
        ["plant", "scrap_rate"],
        ["Berlin", "0.12"],
        ["Lyon", "0.08"],
        ["Porto", "0.05"],
    ]


def test_usage_as_json_counts_the_queries(home: Home) -> None:
    before = json.loads(ok(here(home.path, "usage", "--format", "json")))
    ok(threshold(home.path, "query", "SELECT count(*) FROM manufacturing.plant_kpis", "--purpose", "audit"))

    after = json.loads(ok(here(home.path, "usage", "--format", "json")))
    per_dataset = json.loads(ok(here(home.path, "usage", "manufacturing.plant_kpis", "--format", "json")))

    assert after["queries"] == before["queries"] + 1
    assert [d["dataset"] for d in after["most_used"]] == ["manufacturing.plant_kpis"]
    assert after["most_used"][0]["queries"] == after["queries"]
    assert per_dataset["queries"] == after["queries"]
    assert "audit" in [p["purpose"] for p in per_dataset["purposes"]]


ERRORS = {
    "unknown dataset in a query": (
        ("query", "SELECT * FROM manufacturing.nothing_here"),
        InvalidInput.exit_code,
        "unknown dataset",
    ),
    "unknown dataset to show": (("show", "manufacturing.nothing_here"), NotFound.exit_code, "no dataset"),
    "bad SQL": (("query", "SELEC plant FRM manufacturing.plant_kpis"), InvalidInput.exit_code, ""),
    "missing file": (
        ("share", "/nowhere/at/all/with/a/long/path/so/the/line/is/long/kpis.csv", "--domain", "manufacturing"),
        NotFound.exit_code,
        "no file 'kpis.csv'",
    ),
    "bad --format": (("datasets", "--format", "xml"), InvalidInput.exit_code, "unknown format 'xml'"),
    "bad --format of a query": (
        ("query", "SELECT 1", "--format", "parquet"),
        InvalidInput.exit_code,
        "unknown format 'parquet'",
    ),
    "unknown option": (("datasets", "--frobnicate"), 2, "--frobnicate"),
    "unknown user": (("query", "SELECT 1", "--as", "zed"), NotFound.exit_code, "no user 'zed'"),
}


IN_A_PROCESS = ("unknown dataset in a query", "unknown option")
"""The errors made by a real process, one of each kind (a `ThresholdError`, the command line's usage error);
the others run the same entry point in this process."""


@pytest.mark.parametrize(("case", "args", "code", "fragment"), [(k, *v) for k, v in ERRORS.items()], ids=ERRORS.keys())
def test_an_error_is_one_line_on_stderr_and_a_nonzero_exit(
    home: Home, case: str, args: tuple[str, ...], code: int, fragment: str
) -> None:
    result = (threshold if case in IN_A_PROCESS else here)(home.path, *args)

    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {result.stderr!r}"
    assert lines[0].startswith("error: ") and fragment in lines[0]


def test_a_home_that_does_not_exist_is_one_clear_line(tmp_path: Path) -> None:
    result = here(tmp_path / "nowhere", "datasets")

    assert result.returncode == NotFound.exit_code
    assert result.stderr.count("\n") == 1 and "run `threshold init` first" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
