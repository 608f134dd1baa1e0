"""Lineage: where data comes from and where it goes (docs/lineage.md).

- `models`         — the graph (nodes, edges, column lineage), derivations, source systems, OpenLineage
- `query_lineage`  — column lineage of one SQL query, with sqlglot
- `derive`         — derived datasets: derive, refresh, refresh what is due
- `schedule`       — refresh schedules and the scheduler thread
- `tags`           — tag inheritance along column lineage
- `sources`        — source systems and their owners
- `hooks`          — what every share records (called from `sharing.service._publish`)
- `graph`          — writing and walking the graph
- `supply_chain`   — upstream/downstream views with owners; lineage gaps
- `impact`         — what breaks if a column changes, and who must be told
- `audience`       — owners and recent consumers of nodes
- `naming`         — names of nodes, and the OpenLineage namespace convention
- `openlineage_in` / `openlineage_out` — OpenLineage events received and emitted
"""
