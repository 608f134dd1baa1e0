"""Compliance from collection (docs/compliance.md).

- `bases`        — GDPR Art. 6(1) legal bases, Art. 9(2) conditions, personal and special tags, retention periods
- `models`       — the collection register, its change history, retention runs and notices
- `register`     — record at share time (required where the organisation says so), edit with history, list,
                   export; `record_of(session, dataset_id)` for other capabilities (the subject access report)
- `statistics`   — personal columns written without min/max statistics in Iceberg manifests
- `retention`    — the `compliance.retention` job: expired rows deleted, their snapshots expired, files removed
- `registration` — the share subscription and the job kind
"""
