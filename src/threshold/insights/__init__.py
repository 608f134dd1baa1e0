"""Insights: saved, shareable, rerunnable questions with chart and narrative, and boards of them.

Modules: `explore` (a spec of clicks -> gateway SQL), `exploration` (the Explore page's service),
`parameters` (typed parameters bound as literals), `charts` (Altair + vl-convert), `formatting` (results
for people), `narrative` (safe Markdown), `results` (computed through the gateway as the reader, kept per
decision), `service` (save, version, fork, comment, subscribe, list), `runs` (rerun, schedule: job kind
`insight.rerun`), `staleness`, `supply` (insights as lineage dependents), `boards`, `exports` (PPTX, XLSX,
PDF, PNG, SVG), `rules` (who may view, edit, fork, schedule), `registration`.
Settings: `THRESHOLD_INSIGHTS__*` (`InsightSettings`).
"""
