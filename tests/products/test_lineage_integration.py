"""With lineage in the tree: downstream dependents, the derivation's owner and upstream owners come from it.

Skipped when `threshold.lineage.derive` is not there (products then says "lineage not available").
"""

from __future__ import annotations

import pytest

from threshold.products.candidates import compute
from threshold.products.consumption import dataset_consumers
from threshold.products.lookup import Window
from threshold.products.owners import suggest

from .usage_history import KPIS, History

derive_module = pytest.importorskip("threshold.lineage.derive")

DERIVED = "finance.energy_by_plant"


def test_derived_datasets_are_downstream_and_their_owners_upstream(fresh: History) -> None:
    p = fresh.platform
    derive_module.derive(
        p,
        "energy_by_plant",
        domain="finance",
        user=fresh.people["ben"],
        sql=f"SELECT plant, sum(energy_kwh) AS kwh FROM {KPIS} GROUP BY plant",
        purpose="energy cost forecast",
    )
    down = dataset_consumers(p, KPIS).to_json()["downstream"]
    assert down["available"] is True
    assert DERIVED in {i["name"] for i in down["items"]}
    signals, _note = compute(p, Window.of(p))
    kpis = next(s for s in signals.values() if s.name == KPIS)
    assert kpis.dependents >= 1  # counted for the candidate score
    found = suggest(p, DERIVED)
    ben = next(s for s in found.suggestions if s.user == "ben")
    assert "writes_it" in {e.kind for e in ben.evidence}  # owns the derivation that computes it
    anna = next(s for s in found.suggestions if s.user == "anna")
    assert "upstream_owner" in {e.kind for e in anna.evidence}  # owns manufacturing, upstream
