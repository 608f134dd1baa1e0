"""Walking the lineage graph: levels, depth, the node limit, cycles, and the recursive-CTE twin.

The graph (namespace `t`), built by hand:

    src -> a -> b -> d          c -> b          b -> e -> f -> g -> h
    file -> a                   a -> x -> z,  a -> y -> z (a diamond)     p -> q -> p (a cycle)
"""

from __future__ import annotations

from typing import Any

import pytest

from threshold.lineage import graph

EDGES = [
    ("src", "a"),
    ("file", "a"),
    ("a", "b"),
    ("c", "b"),
    ("b", "d"),
    ("b", "e"),
    ("e", "f"),
    ("f", "g"),
    ("g", "h"),
    ("a", "x"),
    ("a", "y"),
    ("x", "z"),
    ("y", "z"),
    ("p", "q"),
    ("q", "p"),
]


@pytest.fixture
def ids(any_platform: Any) -> dict[str, int]:
    with any_platform.store.session() as s:
        nodes = {n: graph.node(s, "external", "t", n).id for n in sorted({x for e in EDGES for x in e})}
        for a, b in EDGES:
            graph.connect(s, nodes[a], nodes[b], origin="openlineage")
        graph.connect(s, nodes["a"], nodes["b"], origin="openlineage")  # an upsert, not a second edge
    return nodes


def named(levels: dict[int, int], ids: dict[str, int]) -> dict[str, int]:
    back = {v: k for k, v in ids.items()}
    return {back[n]: lv for n, lv in levels.items()}


def test_upstream_and_downstream_levels(any_platform: Any, ids: dict[str, int]) -> None:
    with any_platform.store.reader() as s:
        up = graph.walk(s, ids["b"], direction="upstream", depth=5)
        down = graph.walk(s, ids["b"], direction="downstream", depth=3)
        both = graph.walk(s, ids["a"], direction="both", depth=2)

    assert named(up.levels, ids) == {"b": 0, "a": -1, "c": -1, "src": -2, "file": -2}
    assert not up.deeper and not up.truncated
    assert named(down.levels, ids) == {"b": 0, "d": 1, "e": 1, "f": 2, "g": 3}
    assert down.deeper  # h is one level further
    assert named(both.levels, ids) == {"a": 0, "src": -1, "file": -1, "b": 1, "x": 1, "y": 1, "d": 2, "e": 2, "z": 2}
    back = {v: k for k, v in ids.items()}
    assert {(back[a], back[b]) for a, b, _ in up.edges} == {("a", "b"), ("c", "b"), ("src", "a"), ("file", "a")}


def test_a_diamond_reaches_a_node_once_at_its_nearest_level(any_platform: Any, ids: dict[str, int]) -> None:
    with any_platform.store.reader() as s:
        w = graph.walk(s, ids["a"], direction="downstream", depth=5)
    levels = named(w.levels, ids)
    assert levels["z"] == 2 and list(levels).count("z") == 1
    back = {v: k for k, v in ids.items()}
    assert {(back[a], back[b]) for a, b, _ in w.edges} >= {("x", "z"), ("y", "z")}  # both paths are drawn


def test_a_cycle_ends(any_platform: Any, ids: dict[str, int]) -> None:
    with any_platform.store.reader() as s:
        w = graph.walk(s, ids["p"], direction="both", depth=20)
    assert named(w.levels, ids) == {"p": 0, "q": -1}  # q is upstream (q -> p) first, and p's downstream is q
    assert not w.deeper


def test_the_node_limit_stops_the_walk_and_keeps_only_edges_it_can_draw(any_platform: Any, ids: dict[str, int]) -> None:
    with any_platform.store.reader() as s:
        w = graph.walk(s, ids["b"], direction="downstream", depth=10, limit=4)
    assert w.truncated and len(w.levels) == 4
    assert all(a in w.levels and b in w.levels for a, b, _ in w.edges)


@pytest.mark.parametrize(
    ("start", "direction"),
    [("b", "downstream"), ("b", "upstream"), ("a", "downstream"), ("h", "upstream"), ("p", "downstream")],
)
def test_the_recursive_cte_finds_the_same_nodes(
    any_platform: Any, ids: dict[str, int], start: str, direction: str
) -> None:
    with any_platform.store.reader() as s:
        by_bfs = graph.walk(s, ids[start], direction=direction, depth=4).levels
        by_cte = graph.walk_cte(s, ids[start], direction=direction, depth=4)
    assert by_cte == by_bfs


def test_replacing_inputs_drops_only_the_jobs_own_stale_edges(any_platform: Any, ids: dict[str, int]) -> None:
    with any_platform.store.session() as s:
        job = graph.node(s, "job", "t", "job").id
        graph.replace_inputs(s, ids["h"], [ids["c"], ids["d"]], origin="derivation", job_id=job)
        graph.replace_inputs(s, ids["h"], [ids["d"]], origin="derivation", job_id=job)
    with any_platform.store.reader() as s:
        up = graph.walk(s, ids["h"], direction="upstream", depth=1)
    assert set(named(up.levels, ids)) == {"h", "g", "d"}  # g -> h came from elsewhere and stays
