"""Data quality: checks on datasets, the share gate, scores, incidents routed upstream (docs/quality.md).

- `dataset_checks` — the checks of a dataset: add, remove, list, run, history (the entry point)
- `kinds/`         — the check kinds, one small class each, and their registry
- `runner`         — evaluating a dataset's checks in as few scans as possible; recording runs
- `reading`        — how checks read data (as the owner; published or not-yet-published snapshots)
- `gate`           — the guard on `dataset_publishing`: blocking checks judge a share before it is published
- `quarantine`     — rejected files, kept for the owners, and releasing them
- `schedule`       — scheduled checks as jobs of kind `quality.check`
- `contract_rules` — the rules of an ODCS v3 contract: one walk says which check evaluates each promise
- `contract_runs`  — a contract's checks evaluated, kept as the datasets' checks, read back for its view
- `footers`        — a snapshot's row count and integer bounds from its Parquet footers (to plan the scan)
- `score`          — quality score per dataset and domain; time to acknowledge and to fix
- `incidents`, `incident_records`, `routing`, `recipients`, `outcomes` — the incident flow
- `permissions`    — who may know a dataset exists, and who may see and move an incident
- `registration`   — what quality subscribes to and the job kind it declares
- `models`         — checks, runs, quarantine, incidents

Settings: `THRESHOLD_QUALITY__*` (`settings.QualitySettings`).
"""
