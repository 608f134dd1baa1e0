"""Personal columns are written without column statistics: decoding the manifests (pyiceberg reads them)
shows no lower/upper bounds for them while the other columns keep theirs, from the first share on, and for
a column tagged personal later from the next write on."""

from __future__ import annotations

from typing import Any

from threshold.governance.controls import tag
from threshold.sharing.service import share
from threshold.sharing.statistics import NO_METRICS

ROWS = """Customer Name,E-Mail,Country,Signed Up
Anna Schmidt,anna.schmidt@example.com,DE,2024-01-03
Jean Dupont,jean.dupont@example.fr,FR,2025-03-04
Max Müller,max.mueller@example.de,DE,2026-01-05
"""


def _bounds(platform: Any, ident: str) -> dict[str, list[bool]]:
    """Column -> for each data file of the current snapshot (oldest first): does its manifest hold min/max?"""
    table = platform.lake.load(ident)
    names = {f.field_id: f.name for f in table.schema().fields}
    out: dict[str, list[bool]] = {n: [] for n in names.values()}
    entries = [
        e
        for m in table.current_snapshot().manifests(table.io)
        for e in m.fetch_manifest_entry(table.io, discard_deleted=True)
    ]
    for e in sorted(entries, key=lambda e: e.sequence_number or 0):
        for fid, name in names.items():
            lower, upper = e.data_file.lower_bounds or {}, e.data_file.upper_bounds or {}
            out[name].append(fid in lower or fid in upper)
    return out


def test_personal_columns_have_no_bounds_in_manifests(any_org: Any, tmp_path: Any) -> None:
    p = any_org.platform
    path = tmp_path / "customers.csv"
    path.write_text(ROWS, encoding="utf-8")
    share(p, path, domain="manufacturing", user=any_org.anna)
    bounds = _bounds(p, "manufacturing.customers")
    assert bounds["customer_name"] == [False] and bounds["e_mail"] == [False]
    assert bounds["country"] == [True] and bounds["signed_up"] == [True]
    props = p.lake.load("manufacturing.customers").properties
    assert props[NO_METRICS.format("e_mail")] == "none"
    assert NO_METRICS.format("country") not in props
    # The seed dataset of the org: its operator names and e-mails carry no bounds either.
    kpis = _bounds(p, "manufacturing.plant_kpis")
    assert kpis["operator_name"] == [False] and kpis["e_mail"] == [False] and kpis["plant"] == [True]


def test_a_column_tagged_personal_later_has_no_bounds_from_the_next_write(any_org: Any, tmp_path: Any) -> None:
    p = any_org.platform
    path = tmp_path / "customers.csv"
    path.write_text(ROWS, encoding="utf-8")
    share(p, path, domain="manufacturing", user=any_org.anna)
    tag(p, any_org.anna, "manufacturing.customers.country", "personal.residence")
    assert p.lake.load("manufacturing.customers").properties[NO_METRICS.format("country")] == "none"
    share(p, path, domain="manufacturing", user=any_org.anna, name="customers", mode="append")
    bounds = _bounds(p, "manufacturing.customers")
    assert bounds["country"] == [True, False]  # the first file's manifest was written before the tag
    assert bounds["signed_up"] == [True, True]
    assert bounds["e_mail"] == [False, False]
