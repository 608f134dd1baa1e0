"""Impact analysis on the `chain` of conftest.py: what a drop, rename or retype of a column breaks,
and who must be told (owners of what is affected, recent readers)."""

from __future__ import annotations

from typing import Any

import pytest

from threshold.errors import Denied, InvalidInput, NotFound
from threshold.lineage.impact import impact
from threshold.lineage.openlineage_in import ingest
from threshold.lineage.results import Impact
from threshold.notifications.service import inbox

KPIS = "manufacturing.plant_kpis"


def effects(result: Impact) -> set[tuple[int, str, str | None, str]]:
    return {(d["level"], d["name"], d["column"], d["effect"]) for d in result.dependents}


def test_dropping_a_column(module_chain: Any) -> None:
    result = impact(module_chain.platform, KPIS, "scrap_rate", change="drop", viewer=module_chain.anna)

    assert effects(result) == {
        (1, "manufacturing.plant_scrap", "avg_scrap", "breaks"),  # its SQL names scrap_rate
        (1, "sales.energy", None, "breaks"),  # it filters on scrap_rate
        (1, "finance.all_kpis", "scrap_rate", "loses column"),  # SELECT *: the column just goes
        (2, "sales.from_all", "scrap_rate", "breaks"),  # ...and from_all names it
        (2, "sales.scrap_by_country", None, "stale"),  # built on plant_scrap, which breaks
    }
    assert (result.breaks, result.affected, result.type) == (3, 5, "DOUBLE")
    by = {d["name"]: d for d in result.dependents}
    assert by["manufacturing.plant_scrap"]["owners"] == ["anna"]
    assert by["finance.all_kpis"]["owners"] == ["ben"]
    assert by["sales.energy"]["owners"] == ["carla"]
    assert by["finance.all_kpis"]["why"] == "finance.all_kpis reads it through *: its column scrap_rate goes too"
    assert [r["user"] for r in result.readers] == ["ben"]
    told = {p["user"]: p["reasons"] for p in result.notify}
    assert set(told) == {"anna", "ben", "carla"}
    assert told["ben"] == [
        "owns finance.all_kpis (loses column)",
        f"read {KPIS}.scrap_rate once in the last 30 days",
    ]


def test_retyping_a_column(module_chain: Any) -> None:
    result = impact(module_chain.platform, KPIS, "scrap_rate", change="retype", viewer=module_chain.anna)

    assert effects(result) == {
        (1, "manufacturing.plant_scrap", "avg_scrap", "may break"),
        (1, "sales.energy", None, "may break"),
        (1, "finance.all_kpis", "scrap_rate", "changes type"),
        (2, "sales.from_all", "scrap_rate", "changes type"),
    }
    assert result.breaks == 0


def test_renaming_a_join_key(module_chain: Any) -> None:
    result = impact(module_chain.platform, KPIS, "plant", change="rename", viewer=module_chain.anna)

    got = effects(result)
    assert (1, "manufacturing.plant_scrap", "plant", "breaks") in got
    assert (1, "manufacturing.plant_scrap", None, "breaks") in got  # it joins and groups on it too
    assert (1, "finance.all_kpis", "plant", "renames column") in got
    assert (2, "sales.from_all", "plant", "breaks") in got
    assert (1, "sales.energy", "plant", "breaks") in got


def test_a_column_nothing_uses(module_chain: Any) -> None:
    result = impact(module_chain.platform, KPIS, "day", viewer=module_chain.anna)

    assert effects(result) == {(1, "finance.all_kpis", "day", "loses column")}


def test_external_jobs_may_break_or_may_depend(chain: Any) -> None:
    with_columns = {
        "eventType": "COMPLETE",
        "eventTime": "2026-01-10T10:00:00Z",
        "producer": "https://example.com/airflow",
        "run": {"runId": "3f5e2b1e-6f1b-4c39-9a43-6b4b8c1d2e01"},
        "job": {"namespace": "airflow", "name": "energy_report"},
        "inputs": [{"namespace": "threshold://local", "name": KPIS}],
        "outputs": [
            {
                "namespace": "postgres://dwh",
                "name": "reports.energy",
                "facets": {
                    "columnLineage": {
                        "fields": {
                            "kwh": {
                                "inputFields": [
                                    {
                                        "namespace": "threshold://local",
                                        "name": KPIS,
                                        "field": "energy_kwh",
                                        "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                                    }
                                ]
                            }
                        }
                    }
                },
            }
        ],
    }
    without = {
        "eventType": "COMPLETE",
        "eventTime": "2026-01-10T10:00:00Z",
        "producer": "https://example.com/tableau",
        "run": {"runId": "3f5e2b1e-6f1b-4c39-9a43-6b4b8c1d2e02"},
        "job": {"namespace": "tableau", "name": "plant_dashboard"},
        "inputs": [{"namespace": "threshold://local", "name": KPIS}],
    }
    ingest(chain.platform, [with_columns, without], user=chain.ben)

    result = impact(chain.platform, KPIS, "energy_kwh", viewer=chain.anna)

    got = effects(result)
    assert (1, "reports.energy", "kwh", "may break") in got
    assert (1, "plant_dashboard", None, "may depend") in got
    by = {d["name"]: d for d in result.dependents}
    assert by["plant_dashboard"]["why"] == "it reads the dataset, but no column-level lineage says how"


def test_announcing_a_change_tells_everyone_affected_but_the_announcer(chain: Any) -> None:
    result = impact(chain.platform, KPIS, "scrap_rate", change="drop", viewer=chain.anna, notify=True)

    assert result.notified == 2
    for person in (chain.ben, chain.carla):
        (message,) = [m for m in inbox(chain.platform, person) if m.kind == "change.planned"]
        assert message.title == f"Planned change: drop {KPIS}.scrap_rate"
        assert message.link == f"/lineage/{KPIS}?column=scrap_rate"
    assert "owns sales.energy (breaks)" in next(
        m.body for m in inbox(chain.platform, chain.carla) if m.kind == "change.planned"
    )
    assert not [m for m in inbox(chain.platform, chain.anna) if m.kind == "change.planned"]
    with pytest.raises(Denied, match="impact.notify"):
        impact(chain.platform, KPIS, "scrap_rate", viewer=chain.carla, notify=True)


def test_bad_targets(module_chain: Any) -> None:
    with pytest.raises(NotFound, match="no column"):
        impact(module_chain.platform, KPIS, "nope")
    with pytest.raises(NotFound):
        impact(module_chain.platform, "manufacturing.nope", "plant")
    with pytest.raises(InvalidInput, match="drop, rename, retype"):
        impact(module_chain.platform, KPIS, "plant", change="explode")
