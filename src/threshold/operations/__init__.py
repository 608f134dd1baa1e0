"""Operating a home: backup and restore, doctor, repair of lost files, table maintenance (docs/operations.md).

- `backup`, `restore`  — a consistent online copy with a checksummed manifest; its verified restore anywhere
- `doctor`             — the home's health (identity, disk, staging, locks, debris, lost files) and `--fix`
- `relocate`           — rewrites tables from before relocatable homes with relative locations (doctor --fix)
- `repair`             — a missing or corrupt data file: roll back, or drop only the lost rows
- `maintenance`        — compaction of small files and snapshot expiry under the time-travel promise
- `schedules`, `registration` — the three job kinds (`operations.compact|expire|sweep`), planned from
                         `THRESHOLD_OPERATIONS__*` (settings.OperationsSettings)
- `record`, `permissions` — the dataset_maintenance history and audit; who may operate what

Crash clean-up itself is core (`threshold.cleanup`, `threshold.staging`): shares and start-up use it.
"""
