"""Operating a home: backup and restore, doctor, repair of lost files, table maintenance.

`backup` / `restore` (a consistent online copy and its verified restore anywhere), `doctor` (the
home's health and `--fix`), `repair` (a missing or corrupt data file), `maintenance` (snapshot
expiry and compaction). Crash clean-up itself is core (`threshold.cleanup`): shares and start-up use it.
"""
