"""Databases as sources: connections to PostgreSQL, MySQL/MariaDB, SQL Server, SQLite and Access files, and
the syncs that share their tables into the lake (once, on a schedule, in full or incrementally)."""
