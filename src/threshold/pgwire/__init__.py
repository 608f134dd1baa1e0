"""The PostgreSQL front door: psql, DBeaver, Metabase, Power BI and Excel read governed data through the
gateway over the PostgreSQL v3 protocol (docs/pgwire.md). An interface: it only translates."""
