"""Supply chain views: upstream to the sources, downstream to what is built on it, with the domain and
owners of every node; column-level lineage; what a viewer may not see; gaps counted org-wide."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select, update

from threshold.errors import InvalidInput, NotFound
from threshold.lineage.models import LineageNode
from threshold.lineage.results import ChainNode, Lineage
from threshold.lineage.supply_chain import lineage, overview
from threshold.store.models import Domain

KPIS = "manufacturing.plant_kpis"


def by_name(view: Lineage) -> dict[str, ChainNode]:
    return {n.name: n for n in view.nodes}


def test_a_dataset_upstream_to_its_sources_and_downstream_with_owners(module_chain: Any) -> None:
    view = lineage(module_chain.platform, "manufacturing.plant_scrap", viewer=module_chain.anna)

    nodes = by_name(view)
    assert {n: (v.level, v.kind, v.domain, v.owners) for n, v in nodes.items()} == {
        "plant_kpis.csv": (-2, "file", "manufacturing", []),
        "mes": (-2, "source", None, ["anna"]),
        "plants.csv": (-2, "file", "manufacturing", []),
        KPIS: (-1, "dataset", "manufacturing", ["anna"]),
        "manufacturing.plants": (-1, "dataset", "manufacturing", ["anna"]),
        "manufacturing.plant_scrap": (0, "dataset", "manufacturing", ["anna"]),
        "sales.scrap_by_country": (1, "dataset", "sales", ["carla"]),
    }
    assert nodes["manufacturing.plant_scrap"].derivation.status == "ok"
    assert nodes["mes"].title == "application source system"
    ids = {v.id: n for n, v in nodes.items()}
    edges = {(ids[e.from_], ids[e.to], e.job) for e in view.edges}
    assert (KPIS, "manufacturing.plant_scrap", "derive.manufacturing.plant_scrap") in edges
    assert ("mes", "manufacturing.plants", None) in edges
    assert ("manufacturing.plant_scrap", "sales.scrap_by_country", "derive.sales.scrap_by_country") in edges


def test_direction_and_depth(module_chain: Any) -> None:
    down = lineage(module_chain.platform, KPIS, direction="downstream", depth=1, viewer=module_chain.anna)
    up = lineage(module_chain.platform, "sales.from_all", direction="upstream", depth=2, viewer=module_chain.anna)

    assert sorted(n.name for n in down.nodes if n.level == 1) == [
        "finance.all_kpis",
        "manufacturing.plant_scrap",
        "sales.energy",
    ]
    assert max(n.level for n in down.nodes) == 1 and down.deeper
    assert {n.name: n.level for n in up.nodes} == {"sales.from_all": 0, "finance.all_kpis": -1, KPIS: -2}
    with pytest.raises(InvalidInput):
        lineage(module_chain.platform, KPIS, depth=0)


def test_a_column_upstream_to_the_file_it_came_from(module_chain: Any) -> None:
    view = lineage(
        module_chain.platform, "sales.scrap_by_country", column="worst", direction="upstream", viewer=module_chain.carla
    )

    ids = {n.id: n.name for n in view.nodes}
    edges = {(ids[e.from_], e.from_column, ids[e.to], e.to_column, e.kind) for e in view.column_edges}
    assert edges == {
        ("manufacturing.plant_scrap", "avg_scrap", "sales.scrap_by_country", "worst", "aggregate"),
        (KPIS, "scrap_rate", "manufacturing.plant_scrap", "avg_scrap", "aggregate"),
    }
    assert by_name(view)["plant_kpis.csv"].level == -3


def test_a_column_downstream_through_filters_and_stars(module_chain: Any) -> None:
    view = lineage(module_chain.platform, KPIS, column="scrap_rate", direction="downstream", viewer=module_chain.anna)

    ids = {n.id: n.name for n in view.nodes}
    edges = {(ids[e.from_], e.from_column, ids[e.to], e.to_column, e.kind) for e in view.column_edges}
    assert edges == {
        (KPIS, "scrap_rate", "manufacturing.plant_scrap", "avg_scrap", "aggregate"),
        (KPIS, "scrap_rate", "finance.all_kpis", "scrap_rate", "identity"),
        (KPIS, "scrap_rate", "sales.energy", None, "filter"),  # the whole dataset depends on it
        ("manufacturing.plant_scrap", "avg_scrap", "sales.scrap_by_country", "worst", "aggregate"),
        ("finance.all_kpis", "scrap_rate", "sales.from_all", "scrap_rate", "identity"),
    }
    assert by_name(view)["sales.energy"].level == 1 and by_name(view)["sales.from_all"].level == 2


def test_another_domains_restricted_dataset_shows_as_restricted(chain: Any) -> None:
    with chain.platform.store.session() as s:
        s.execute(update(Domain).where(Domain.name == "finance").values(default_visibility="restricted"))

    for viewer in (chain.anna, chain.carla):
        view = lineage(chain.platform, KPIS, direction="downstream", viewer=viewer)
        hidden = [n for n in view.nodes if n.domain == "finance"]
        assert [(n.name, n.hidden, n.owners, n.link) for n in hidden] == [
            ("a dataset you may not see", True, ["ben"], None)
        ]
        assert "finance.all_kpis" not in str(view)
    seen_by_admin = by_name(lineage(chain.platform, KPIS, direction="downstream", viewer=chain.admin))
    assert seen_by_admin["finance.all_kpis"].hidden is False
    with pytest.raises(NotFound):
        lineage(chain.platform, "finance.all_kpis", viewer=chain.carla)
    assert lineage(chain.platform, "finance.all_kpis", viewer=chain.ben).dataset == "finance.all_kpis"


def test_a_dataset_nothing_was_recorded_about_shows_alone(chain: Any) -> None:
    with chain.platform.store.session() as s:
        s.execute(delete(LineageNode).where(LineageNode.name == "sales.energy"))

    view = lineage(chain.platform, "sales.energy", viewer=chain.carla)

    assert [(n.name, n.level, n.owners) for n in view.nodes] == [("sales.energy", 0, ["carla"])]
    assert view.edges == [] and view.gaps == []
    with pytest.raises(NotFound, match="no column"):
        lineage(chain.platform, "sales.energy", column="nope", viewer=chain.carla)


def test_the_overview_counts_nodes_edges_and_gaps(module_chain: Any) -> None:
    data = overview(module_chain.platform, viewer=module_chain.anna)

    assert data.nodes == {"dataset": 7, "file": 2, "job": 5, "source": 1}
    assert data.edges == 9
    assert data.derivations == {"ok": 5}
    assert data.gaps.columns == 0 and data.datasets == 7
    with module_chain.platform.store.reader() as s:
        assert s.scalar(select(LineageNode.kind).where(LineageNode.name == "mes")) == "source"
