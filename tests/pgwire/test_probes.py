"""The catalog queries tools send (tests/fixtures/pgwire/probes.sql) answer without error, and answer only
from what the person may know: finance.budget (restricted) is in a member's answer, never in an outsider's."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

PROBES = Path(__file__).parent.parent / "fixtures" / "pgwire" / "probes.sql"


def _cases() -> list[tuple[str, bool, str]]:
    cases, name, lists, lines = [], "", False, []
    for line in PROBES.read_text(encoding="utf-8").splitlines() + ["-- case: end"]:
        if line.startswith("-- case:"):
            if name:
                cases.append((name, lists, "\n".join(lines).strip()))
            name = line.removeprefix("-- case:").replace("[lists]", "").strip()
            lists, lines = "[lists]" in line, []
        elif name and not line.startswith("--"):
            lines.append(line)
    return cases


@pytest.mark.parametrize(("name", "lists", "sql"), _cases(), ids=[c[0] for c in _cases()])
def test_a_tool_probe_answers_from_what_the_person_may_know(front, name: str, lists: bool, sql: str) -> None:
    answers = {}
    for who in ("carla", "ben"):
        with psycopg.connect(front.dsn(who), autocommit=True) as conn:
            cur = conn.execute(sql)
            answers[who] = repr(cur.fetchall()) if cur.description else ""
    assert "budget" not in answers["carla"].lower() and "finance" not in answers["carla"]
    if lists:
        assert "budget" in answers["ben"] or "finance" in answers["ben"], answers["ben"][:500]
        assert "plant_kpis" in answers["carla"] or "manufacturing" in answers["carla"], answers["carla"][:500]
