"""Lineage: where data comes from and where it goes (docs/lineage.md).

- `models`         — the graph (nodes, edges, column lineage), derivations, source systems, OpenLineage
- `query_lineage`  — column lineage of one SQL query, with sqlglot
- `derive`         — derived datasets: derive, refresh, refresh what is due (job kind `derivation.refresh`)
- `derivation_runs` — a derivation run in flight, and what it records in the share's transaction
- `tags`           — tag inheritance along column lineage
- `sources`        — source systems and their owners
- `hooks`          — lineage's subscribers to sharing's events (what every share records)
- `registration`   — what lineage subscribes to, the job kind and the outbox channel it declares
- `graph`          — writing and walking the graph
- `supply_chain`   — upstream/downstream views with owners; lineage gaps
- `impact`         — what breaks if a column changes, and who must be told
- `owners`         — who answers for a node (recent consumers are `usage.service.recent_consumers`)
- `naming`         — names of nodes, and the OpenLineage namespace convention
- `openlineage_in` / `openlineage_out` — OpenLineage events received and emitted (outbox channel)

Settings: `THRESHOLD_OPENLINEAGE_URL`; schedules and deliveries follow `THRESHOLD_JOBS__*`.
"""
