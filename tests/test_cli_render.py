"""The one renderer of CLI listings (`threshold.interface.tables`) and the command list of `threshold.cli`.

Tables are drawn on consoles of a forced width (80 and 200 columns): every line fits, an id is never cut
nor wrapped, long text wraps or ends in an ellipsis; `--format json` prints the service's own rows.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import inprocess
from threshold.commands.governance import AUDIT, POLICIES
from threshold.interface.tables import Col, TableSpec, count, text, when

RULE = "manufacturing.no-personal-data-outside-the-plant-network"
POLICY_ROWS = [
    {
        "rule": RULE,
        "scope": "domain",
        "domain": "manufacturing",
        "kind": "mask",
        "version": 12,
        "active": True,
        "author": "anna",
        "reason": "the works council asked that contractors never see who operated which line, " * 2,
    },
    {
        "rule": "guardrail.personal-data",
        "scope": "global",
        "domain": None,
        "kind": "mask",
        "version": 1,
        "active": False,
        "author": None,
        "reason": "built in",
    },
]


def drawn(spec: TableSpec, rows: list[dict[str, object]], width: int) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None, soft_wrap=True)
    console.print(spec.rich(rows))
    return console.file.getvalue().splitlines()  # type: ignore[attr-defined]


@pytest.mark.parametrize("width", [80, 200])
def test_tables_fit_the_width_and_never_cut_an_id(width: int) -> None:
    lines = drawn(POLICIES, POLICY_ROWS, width)
    assert max(len(line) for line in lines) <= width
    # the long rule id is whole, on one line, in every width
    assert sum(RULE in line for line in lines) == 1
    assert sum("guardrail.personal-data" in line for line in lines) == 1
    assert any(" yes " in line for line in lines)


def test_too_narrow_for_the_ids_each_row_becomes_a_block_and_wide_enough_a_table() -> None:
    narrow = drawn(POLICIES, POLICY_ROWS, 80)
    wide = drawn(POLICIES, POLICY_ROWS, 200)
    assert not any("┃ rule" in line for line in narrow)  # a 56-character id: no room for a table
    assert any(line.startswith("rule ") and line.rstrip().endswith(RULE) for line in narrow)
    assert any(line.split() == ["scope", "global"] for line in narrow)
    assert any(line.split() == ["active", "yes"] for line in narrow)
    said = " ".join(line[len("reason") :].strip() for line in narrow if not line.startswith(("rule", "scope")))
    assert "the works council asked that contractors" in said  # long text wraps: nothing lost
    assert wide[1].split("┃")[1].strip() == "rule"
    assert len(wide) < len(narrow)


def test_a_table_that_fits_wraps_text_at_words_and_shortens_long_words() -> None:
    rows = [dict(POLICY_ROWS[1], reason="a-very-long-reason-without-any-space-" * 3)]
    lines = drawn(POLICIES, [*rows, POLICY_ROWS[1]], 70)
    assert max(len(line) for line in lines) <= 70
    assert lines[1].split("┃")[1].strip() == "rule"
    assert sum("guardrail.personal-data" in line for line in lines) == 2
    assert any(line.rstrip("│ ").endswith("a-ve…") for line in lines)  # a long word: shortened
    assert any(line.rstrip("│ ").endswith("built") for line in lines)  # text: wrapped at words


def test_audit_rows_at_80_columns_keep_time_person_and_action_whole() -> None:
    rows = [
        {
            "at": "2026-12-06T03:20:15.123456+00:00",
            "actor": "claudia",
            "action": "query.masked+filtered",
            "dataset": "manufacturing.plant_kpis_per_shift_and_line",
            "purpose": "plant performance reporting",
            "rules": ["visibility.open", "guardrail.personal-data", "manufacturing.no-lyon"],
        }
    ]
    lines = drawn(AUDIT, rows, 80)
    assert max(len(line) for line in lines) <= 80
    body = "\n".join(lines)
    for whole in ("2026-12-06 03:20:15", "claudia", "query.masked+filtered"):
        assert whole in body
    # a dataset name folds onto more lines rather than losing characters
    cells = [line.split("│")[4].strip() for line in lines if line.startswith("│")]
    assert "".join(cells) == "manufacturing.plant_kpis_per_shift_and_line"


def test_values_read_the_same_everywhere() -> None:
    assert [text(None), text(True), text(False), text(["a", "b"]), text(3)] == ["", "yes", "", "a, b", "3"]
    assert count(1234567) == "1,234,567" and count(None) == ""
    assert when("2026-12-06T03:20:15+00:00") == "2026-12-06 03:20:15"
    assert when("2026-12-06T03:20:15.5+00:00") == "2026-12-06 03:20:15"
    assert when("2026-12-06T03:20:15+02:00") == "2026-12-06T03:20:15+02:00"  # not UTC: as given
    assert when("yesterday") == "yesterday" and when(None) == ""
    spec = TableSpec(Col("n", lambda r: r.n * 2, id=True))

    class Row:
        n = 21

    assert spec.cells([Row()]) == [["42"]]


def test_markup_in_data_is_shown_as_it_is() -> None:
    spec = TableSpec(Col("name", "name", id=True))
    lines = drawn(spec, [{"name": "[bold red]not markup[/]"}], 80)
    assert any("[bold red]not markup[/]" in line for line in lines)


def threshold(home: Path, *args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    return inprocess.threshold(*args, home=home, columns=columns)


def test_visibility_policy_list_and_audit_speak_like_every_command(tmp_path: Path) -> None:
    """`visibility` says what it did in words (and JSON with --format json); `policy list` and `audit`
    fit 80 columns without cutting a rule id."""
    home = tmp_path / "home"
    data = tmp_path / "plant_kpis.csv"
    data.write_text("plant,scrap_rate\nBerlin,0.12\n", encoding="utf-8")
    for step in (
        ("init",),
        ("domain", "add", "manufacturing", "--owner", "admin"),
        ("share", str(data), "--domain", "manufacturing"),
    ):
        assert threshold(home, *step).returncode == 0
    said = threshold(home, "visibility", "manufacturing.plant_kpis", "on-request")
    assert said.returncode == 0, said.stderr
    assert said.stdout.strip() == "manufacturing.plant_kpis is now on-request"
    said = threshold(home, "visibility", "manufacturing", "restricted", "--format", "json")
    assert json.loads(said.stdout) == {"domain": "manufacturing", "default_visibility": "restricted"}
    said = threshold(home, "visibility", "manufacturing", "open")
    assert said.stdout.strip() == "new datasets of domain manufacturing are open by default"

    listed = threshold(home, "policy", "list")
    assert listed.returncode == 0, listed.stderr
    assert max(len(line) for line in listed.stdout.splitlines()) <= 80
    assert "guardrail.personal-data" in listed.stdout
    rows = json.loads(threshold(home, "policy", "list", "--format", "json").stdout)
    assert {"rule", "scope", "kind", "version", "active", "author", "reason"} <= set(rows[0])

    audit = threshold(home, "audit", "--format", "json")
    actions = [r["action"] for r in json.loads(audit.stdout)]
    assert actions[:3] == ["visibility.domain", "visibility.domain", "visibility.dataset"]
    wide = threshold(home, "audit", columns=200)
    narrow = threshold(home, "audit", columns=80)
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80
    assert max(len(line) for line in wide.stdout.splitlines()) <= 200
    for shown in (narrow.stdout, wide.stdout):
        assert shown.count("visibility.dataset") == 1 and shown.count("visibility.domain") == 2

    bad = threshold(home, "policy", "list", "--format", "yaml")
    assert bad.returncode != 0 and bad.stderr.strip() == "error: unknown format 'yaml'; use one of table, json"


def test_every_group_is_registered_from_the_list() -> None:
    from threshold.cli import GROUPS
    from threshold.commands.index import COMMANDS

    names = {name for name, _, _ in COMMANDS}
    for expected in ("init", "share", "query", "visibility", "audit", "serve", "demo", "checks", "backup", "my-report"):
        assert expected in names
    for expected in ("user", "domain", "token", "policy", "jobs", "insight", "maintenance", "learn"):
        assert expected in names
    assert len(GROUPS) == len(set(GROUPS)) == 16


def test_help_and_a_group_without_its_command_print_the_help() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "threshold.cli", "policy"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "120"},
    )
    assert run.returncode == 2 and run.stderr == ""
    assert run.stdout.startswith("Usage: threshold policy [OPTIONS] COMMAND [ARGS]...")
    assert "  list   List guardrails and domain policies" in run.stdout
    helped = subprocess.run(
        [sys.executable, "-m", "threshold.cli", "--help"], capture_output=True, text=True, timeout=120
    )
    assert helped.returncode == 0
    for command in ("share", "query", "visibility", "audit", "policy", "jobs", "serve", "demo"):
        assert f"\n  {command} " in helped.stdout


WRITES_OR_SERVES = {
    "init",
    "login",
    "serve",
    "demo",
    "contract export",
    "insight export",
    "board export",
    "glossary export",
}
"""Commands whose output is a file, a server or a prompt, not a result: no `--format`."""


def test_every_other_command_speaks_json_with_format_json() -> None:
    import typer

    from threshold.cli import app

    without: list[str] = []

    def walk(command: Any, path: list[str]) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        elif "fmt" not in {p.name for p in command.params}:
            without.append(" ".join(path))

    walk(typer.main.get_command(app), [])
    assert set(without) == WRITES_OR_SERVES


def test_actions_answer_in_words_or_as_json(tmp_path: Path) -> None:
    home = tmp_path / "home"
    data = tmp_path / "plant_kpis.csv"
    data.write_text("plant,operator_email\nBerlin,a@example.com\n", encoding="utf-8")
    assert threshold(home, "init").returncode == 0
    added = threshold(home, "domain", "add", "manufacturing", "--owner", "admin", "--format", "json")
    assert json.loads(added.stdout) == {"domain": "manufacturing", "title": "", "owners": ["admin"]}
    user = json.loads(threshold(home, "user", "add", "ben", "--format", "json").stdout)
    assert (user["name"], user["domains"], user["is_admin"]) == ("ben", [], False)
    joined = threshold(home, "domain", "join", "manufacturing", "ben")
    assert joined.stdout.strip() == "ben is now member of manufacturing"
    assert threshold(home, "share", str(data), "--domain", "manufacturing").returncode == 0
    tagged = threshold(home, "tag", "manufacturing.plant_kpis.plant", "geo.site", "--format", "json")
    assert json.loads(tagged.stdout) == {"dataset": "manufacturing.plant_kpis", "column": "plant", "tag": "geo.site"}
    said = threshold(home, "untag", "manufacturing.plant_kpis.plant", "geo.site")
    assert said.stdout.strip() == "removed geo.site from manufacturing.plant_kpis.plant"
    bad = threshold(home, "tag", "manufacturing.plant_kpis", "x.y", "--format", "xml")
    assert bad.returncode != 0 and bad.stderr.strip() == "error: unknown format 'xml'; use one of table, json"
