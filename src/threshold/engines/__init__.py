"""Query engines of the core: `duckdb.py` (embedded, the gateway's locked engine)."""
