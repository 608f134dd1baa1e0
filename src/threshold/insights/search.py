"""Saved insights in the full-text search: their titles and narratives are documents analysed like the
datasets' (`catalog.search.INSIGHTS`: FTS5 porter + trigram on SQLite, stored tsvectors + pg_trgm on
PostgreSQL, the same typo terms), rewritten in the transaction that saves a version or archives.

The index holds text only: which insights a reader may see is decided by `insights.service.viewable`, the
decision point's `insight.view`, never here."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from threshold.catalog.search import INSIGHTS, Reason, matching, settled
from threshold.insights.models import Insight, InsightSearchDocument, InsightVersion
from threshold.store.search_index import add_terms, words

_SAYS = {"names": "title", "description": "narrative"}


def reindex(s: Session, ids: Iterable[int]) -> None:
    """Rewrite the documents of insights `ids` from their current version; archived or deleted ones leave."""
    ids = sorted(set(ids))
    if not ids:
        return
    conn = s.connection()
    sqlite = conn.dialect.name == "sqlite"
    conn.execute(delete(InsightSearchDocument).where(InsightSearchDocument.insight_id.in_(ids)))
    if sqlite:
        for table in (INSIGHTS.fts, INSIGHTS.trigram):
            conn.execute(text(f"DELETE FROM {table} WHERE rowid IN ({','.join(str(int(i)) for i in ids)})"))
    rows: list[dict[str, Any]] = [
        {"insight_id": i, "names": title, "description": narrative or ""}
        for i, title, narrative in conn.execute(
            select(Insight.id, InsightVersion.title, InsightVersion.narrative)
            .join(
                InsightVersion, (InsightVersion.insight_id == Insight.id) & (InsightVersion.version == Insight.version)
            )
            .where(Insight.id.in_(ids), Insight.archived_at.is_(None))
        )
    ]
    if not rows:
        return
    conn.execute(insert(InsightSearchDocument), rows)
    if sqlite:
        for table in (INSIGHTS.fts, INSIGHTS.trigram):
            conn.execute(
                text(f"INSERT INTO {table} (rowid, names, description) VALUES (:insight_id, :names, :description)"),
                rows,
            )
    add_terms(conn, (w for r in rows for w in words(f"{r['names']} {r['description']}")))


def found(s: Session, text_: str, visible: Callable[[set[int]], set[int]] | None = None) -> dict[int, str]:
    """Insights whose title or narrative match `text_` (stems, prefixes, typos, synonyms, parts of words),
    each with why, in words ("title “scrap” (for “scarp”)"). `visible` keeps the insights the reader may
    view (the decision point's `insight.view`): one they may not never changes how the others are found.
    Without it, the index's text alone (every insight not archived)."""
    matched = matching(s.connection(), text_, INSIGHTS, visible)
    if not matched:
        return {}
    texts = {  # each reason names the word its own insight has (a correction or synonym among several)
        i: {"names": title, "description": narrative or ""}
        for i, title, narrative in s.execute(
            select(
                InsightSearchDocument.insight_id, InsightSearchDocument.names, InsightSearchDocument.description
            ).where(InsightSearchDocument.insight_id.in_(sorted(matched)))
        )
    }
    return {i: _why([settled(r, texts.get(i, {}).get(r.field, "")) for r in reasons]) for i, reasons in matched.items()}


def _why(reasons: list[Reason]) -> str:
    said = []
    for r in sorted(reasons, key=lambda r: -r.score):
        where = _SAYS[r.field]
        if r.kind == "typo":
            said.append(f"{where} “{r.term}” (for “{r.word}”)")
        elif r.kind == "synonym":
            said.append(f"{where} “{r.term}” (same meaning as “{r.word}”)")
        elif r.kind == "part":
            said.append(f"{where} containing “{r.word}”")
        else:
            said.append(f"{where} “{r.word}”")
    return "; ".join(dict.fromkeys(said))
