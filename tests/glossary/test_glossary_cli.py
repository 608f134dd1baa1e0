"""`threshold glossary …` through its entry point: propose, the reviewer's view with the diff, four eyes as a
one-line error, review, link, CSV out and in (a bad row names its line and nothing is proposed)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import inprocess


def threshold(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return inprocess.threshold(*args, home=home, columns=120)


def test_the_glossary_from_the_command_line(org: Any, tmp_path: Path) -> None:
    home = org.platform.settings.home_dir
    scrap = "Discarded units over produced units."
    proposed = threshold(home, "glossary", "propose", "Scrap rate", "--definition", scrap,
                         "--domain", "manufacturing", "--synonym", "Ausschussquote", "--as", "carla")  # fmt: skip
    assert proposed.returncode == 0, proposed.stderr
    assert proposed.stdout.splitlines()[:2] == ["Scrap rate: sent to review", "Scrap rate (manufacturing, in review)"]
    own = threshold(home, "glossary", "review", "scrap rate", "--approve", "--as", "carla")
    assert own.returncode == 4 and own.stdout == ""  # Denied
    assert own.stderr.strip() == (
        "error: carla wrote this revision: someone else reviews it (rule: glossary.four-eyes)"
    )
    queue = json.loads(
        threshold(home, "glossary", "list", "--status", "in_review", "--as", "anna", "--format", "json").stdout
    )
    assert [(t["key"], t["pending"]) for t in queue["terms"]] == [("scrap rate", "in_review")]
    shown = threshold(home, "glossary", "show", "Scrap Rate", "--as", "anna").stdout
    assert "{+Discarded units over produced units.+}" in shown and "you may review it" in shown
    approved = threshold(home, "glossary", "review", "scrap rate", "--approve", "--as", "anna", "--format", "json")
    assert json.loads(approved.stdout)["status"] == "approved"
    linked = threshold(
        home, "glossary", "link", "scrap rate", "column:manufacturing.plant_kpis.scrap_rate", "--as", "anna"
    )
    assert "column: manufacturing.plant_kpis.scrap_rate" in linked.stdout
    exported = threshold(home, "glossary", "export", "--as", "ben")
    assert exported.stdout.splitlines() == [
        "term,domain,definition,synonyms,status",
        "Scrap rate,manufacturing,Discarded units over produced units.,Ausschussquote,approved",
    ]
    bad = tmp_path / "terms.csv"
    bad.write_text(
        "term,domain,definition\nMargin,sales,Revenue less cost.\nOEE,nowhere,A x P x Q.\n", encoding="utf-8"
    )
    refused = threshold(home, "glossary", "import", str(bad), "--as", "ben")
    assert refused.returncode != 0 and refused.stderr.strip() == "error: line 3: no domain 'nowhere'"
    listed = json.loads(threshold(home, "glossary", "list", "--as", "admin", "--format", "json").stdout)
    assert [t["key"] for t in listed["terms"]] == ["scrap rate"]  # line 2 was not kept either
    bad.write_text("term,domain,definition\nMargin,sales,Revenue less cost.\n", encoding="utf-8")
    done = threshold(home, "glossary", "import", str(bad), "--as", "ben")
    assert done.stdout.strip() == "1 proposed (in review), 0 unchanged"
