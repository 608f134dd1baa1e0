"""The quality commands on a home built from the command line.

Most commands run in-process through `threshold.cli.main` (the same entry point, error mapping and output
as the installed command, without a new interpreter each time); the home is built the same way, in the
environment a process would get (`inprocess.threshold`); a rejected append also runs as a real process
(`threshold_process`): its exit code is the installed command's.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import inprocess

from .conftest import BATCHES, BATCHES_CSV, HEADER, RAW_EMAILS

WEEK = {"THRESHOLD_QUALITY__SCORE_WINDOW_DAYS": "7"}


def threshold_process(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "threshold.cli", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=180,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )


def threshold(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`threshold ARGS --home HOME` through the CLI's own `main`, in this process."""
    from threshold.cli import main

    argv = ["threshold", *args, "--home", str(home)]
    stdout, stderr = io.StringIO(), io.StringIO()
    code = 0
    saved = sys.argv
    sys.argv = argv
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            main()
    except SystemExit as e:
        code = int(e.code or 0)
    finally:
        sys.argv = saved
    return subprocess.CompletedProcess(argv, code, stdout.getvalue(), stderr.getvalue())


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


def js(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(result))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("quality_cli")
    path = tmp / "home"
    for step in (
        ("init",),
        ("user", "add", "anna"),
        ("user", "add", "ben"),
        ("domain", "add", "manufacturing", "--owner", "anna"),
        ("domain", "add", "finance", "--owner", "ben"),
        ("share", str(BATCHES_CSV), "--domain", "manufacturing", "--as", "anna"),
    ):
        ok(inprocess.threshold(*step, home=path, columns=200))
    return path


KINDS = [
    ("--kind", "not_null", "--column", "plant"),
    ("--kind", "unique", "--column", "batch_id"),
    ("--kind", "accepted_values", "--column", "status", "--values", "ok,scrap"),
    ("--kind", "range", "--column", "weight_kg", "--min", "0", "--max", "100"),
    ("--kind", "regex", "--column", "code", "--pattern", r"B-\d{3}"),
    ("--kind", "row_count", "--min", "10"),
    ("--kind", "freshness", "--column", "produced_at", "--max-age", "24h"),
    ("--kind", "schema", "--expect", "batch_id:integer,plant:INTEGER"),
    ("--kind", "sql", "--sql", f"SELECT * FROM {BATCHES} WHERE weight_kg > 100"),
]


def test_check_add_run_and_checks_json(home: Path) -> None:
    ids = [js(threshold(home, "check", "add", BATCHES, *k, "--as", "anna", "--format", "json"))["id"] for k in KINDS]
    assert "added check" in ok(
        threshold(home, "check", "add", BATCHES, "--kind", "not-null", "--column", "batch_id", "--as", "anna")
    )

    runs = js(threshold(home, "check", "run", BATCHES, "--as", "anna", "--format", "json"))

    failing = {r["check"]: (r["status"], r["failing"]) for r in runs}
    assert [failing[i] for i in ids] == [
        ("fail", 1),
        ("fail", 1),
        ("fail", 1),
        ("fail", 2),
        ("fail", 1),
        ("fail", None),
        ("fail", None),
        ("fail", 1),
        ("fail", 1),
    ]
    strict = threshold(home, "check", "run", BATCHES, "--as", "anna", "--strict")
    assert strict.returncode == 1 and "fail" in strict.stdout  # a failing check fails the command (CI gates)
    listed = js(threshold(home, "checks", BATCHES, "--as", "ben", "--format", "json"))
    assert listed["dataset"] == BATCHES and listed["score"] == 10.0 and len(listed["checks"]) == 10
    assert not [e for e in RAW_EMAILS if e in json.dumps(listed)]  # ben is outside manufacturing
    text = ok(threshold(home, "checks", BATCHES, "--as", "anna"))
    assert "quality score 10.0 (last 30 days)" in text and "not_null" in text
    week = inprocess.threshold("checks", BATCHES, "--as", "anna", home=home, columns=200, env=WEEK)
    assert "quality score 10.0 (last 7 days)" in ok(week)  # the window the score was computed over


def test_report_prints_the_incident_id_and_the_flow_runs_from_the_command_line(home: Path) -> None:
    done = threshold(
        home,
        "report",
        f"{BATCHES}.weight_kg",
        "--as",
        "ben",
        "--description",
        "500 kg batches",
        "--query",
        f"SELECT * FROM {BATCHES} WHERE weight_kg > 100",
    )
    incident_id = int(ok(done).strip())
    assert "routed to manufacturing" in done.stderr

    listed = js(threshold(home, "incidents", "--domain", "manufacturing", "--format", "json"))
    mine = next(i for i in listed if i["id"] == incident_id)
    assert mine["domain"] == "manufacturing" and mine["routed_to"]["domain"] == "manufacturing"
    assert mine["status"] == "open" and mine["reporter"] == "ben"

    denied = threshold(home, "incident", str(incident_id), "ack", "--as", "ben")
    assert denied.returncode == 4 and denied.stderr.count("\n") == 1 and "rule: incident.routed-domain" in denied.stderr
    ok(threshold(home, "incident", str(incident_id), "ack", "--as", "anna"))
    ok(threshold(home, "incident", str(incident_id), "comment", "Scale was misconfigured", "--as", "anna"))
    ok(threshold(home, "incident", str(incident_id), "fix", "--note", "recalibrated", "--as", "anna"))
    final = js(threshold(home, "incident", str(incident_id), "verify", "--as", "ben", "--format", "json"))
    assert final["status"] == "verified" and final["verified_by"] == "ben"
    assert [c["event"] for c in final["comments"]] == ["opened", "acknowledged", None, "fixed", "verified"]
    assert "verified" in ok(threshold(home, "incident", str(incident_id), "--as", "ben"))


def test_a_rejected_append_exits_with_conflict_and_the_file_is_in_quarantine(home: Path, tmp_path: Path) -> None:
    ok(threshold(home, "check", "add", BATCHES, "--kind", "not_null", "--column", "code", "--blocking", "--as", "anna"))
    bad = tmp_path / "late.csv"
    bad.write_text(HEADER + "6,Berlin,ok,1.5,,2020-01-06 08:00:00,\n", encoding="utf-8")

    done = threshold_process(
        home, "share", str(bad), "--domain", "manufacturing", "--name", "batches", "--mode", "append", "--as", "anna"
    )

    assert done.returncode == 5 and done.stderr.count("\n") == 1 and "kept in quarantine #" in done.stderr
    held = js(threshold(home, "quarantine", "list", BATCHES, "--as", "anna", "--format", "json"))
    assert held[0]["file"] == "late.csv" and held[0]["status"] == "held"
    assert (
        Path(ok(threshold(home, "quarantine", "show", str(held[0]["id"]), "--as", "anna")).splitlines()[-1]).read_text()
        == bad.read_text()
    )
    assert threshold(home, "quarantine", "list", BATCHES, "--as", "ben").returncode == 4


def test_quality_of_a_domain_and_due_runs(home: Path) -> None:
    q = js(threshold(home, "quality", "--domain", "manufacturing", "--format", "json"))
    assert set(q) >= {"score", "time_to_acknowledge", "time_to_fix", "datasets", "incidents"}
    assert js(threshold(home, "check", "run", "--due", "--format", "json")) == []
    bad = threshold(home, "check", "add", BATCHES, "--kind", "sometimes", "--as", "anna")
    assert bad.returncode == 2 and "unknown check kind" in bad.stderr
