"""Which engine answers a query: DuckDB (embedded, the default) or Daft (on a Ray cluster) for big ones.

Chosen by configuration, not by code (`EngineSettings`): a query whose planned scan (the data files of
the snapshots it reads) is larger than `engine.daft_above_bytes` goes to Daft, and so does one whose person
asks for it (`engine="daft"` on every interface). Either way the governed views are the same
(`engines.daft`); a query Daft cannot run answers on DuckDB when `engine.fallback` allows it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from threshold.errors import InvalidInput
from threshold.lake import ReadPlan
from threshold.platform import Platform

ENGINES = ("auto", "duckdb", "daft")
"""What a person may ask for: `auto` (the configuration decides), `duckdb` or `daft`."""


@dataclass(frozen=True)
class Choice:
    engine: str
    """`duckdb` or `daft`."""
    note: str | None = None
    """Why the query answers on DuckDB although Daft was meant to (said to the person)."""


def choose(platform: Platform, asked: str | None, plans: Iterable[ReadPlan]) -> Choice:
    """The engine for a query reading `plans`, as its person `asked` (None or `auto`: by its planned scan)."""
    asked = (asked or "auto").strip().lower()
    if asked not in ENGINES:
        raise InvalidInput(f"unknown engine {asked!r}; one of {', '.join(ENGINES)}")
    if asked == "duckdb":
        return Choice("duckdb")
    settings = platform.settings.engine
    if asked == "auto":
        above = settings.daft_above_bytes
        if not above or sum(p.size for p in plans) <= above:
            return Choice("duckdb")
    from threshold.engines.daft import SCALE_EXTRA, available

    if available():
        return Choice("daft")
    why = f"Daft is not installed on this server ({SCALE_EXTRA})"
    if not settings.fallback:
        raise InvalidInput(why)
    return Choice("duckdb", f"answered by DuckDB: {why}")
