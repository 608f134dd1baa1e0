"""The catalog keeps parsed table metadata by location; a transaction computes its metadata once per state.

A load still reads the catalog row each time, so a commit made by another process or server (another
`Platform` on the same store here: its own engine and catalog) is seen at the next load, on SQLite and on
PostgreSQL; only the metadata file the row names is not parsed again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orgs import PLANT_KPIS_CSV
from threshold.gateway.service import query
from threshold.platform import Platform
from threshold.sharing.service import share

KPIS = "manufacturing.plant_kpis"


def test_a_commit_by_another_server_is_seen_at_the_next_load(any_org: Any, tmp_path: Path) -> None:
    here = any_org.platform
    before = here.lake.load(KPIS)
    assert here.lake.load(KPIS).metadata is before.metadata  # kept: the same row, the same metadata file
    more = tmp_path / "more.csv"
    more.write_text(PLANT_KPIS_CSV.splitlines()[0] + "\nPorto,Rui Costa,rui.costa@example.pt,0.07,650.0,2026-01-07\n")
    other = Platform(here.settings)  # another server on the same store and warehouse
    try:
        [appended] = share(other, more, domain="manufacturing", name="plant_kpis", user=any_org.anna, mode="append")
    finally:
        other.close()

    after = here.lake.load(KPIS)
    assert after.metadata_location != before.metadata_location
    current = after.current_snapshot()
    assert current is not None and current.snapshot_id == appended.snapshot_id
    assert [s.snapshot_id for s in here.lake.snapshots(KPIS)][-1] == appended.snapshot_id
    rows = query(here, f"SELECT count(*) AS n FROM {KPIS}", user=any_org.anna, purpose="checking").table.to_pylist()
    assert rows == [{"n": 6}]


def test_a_transaction_sees_each_change_it_stages(org: Any) -> None:
    tx = org.platform.lake.load(KPIS).transaction()
    first = tx.table_metadata
    assert tx.table_metadata is first  # computed once while nothing changes
    assert "threshold.probe" not in first.properties
    tx.set_properties({"threshold.probe": "1"})
    staged = tx.table_metadata
    assert staged is not first and staged.properties["threshold.probe"] == "1"
    with tx.update_schema() as update:
        update.add_column("probe", _string())
    assert [f.name for f in tx.table_metadata.schema().fields][-1] == "probe"
    assert "probe" not in [f.name for f in org.platform.lake.load(KPIS).schema().fields]  # nothing committed


def _string() -> Any:
    from pyiceberg.types import StringType

    return StringType()
