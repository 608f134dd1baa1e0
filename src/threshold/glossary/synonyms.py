"""Approved glossary terms as the catalog search's synonyms: a word that is a term (or one of its
synonyms) also finds what the term's other names find ("ausschussquote" -> "scrap rate")."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from threshold.glossary.models import GlossaryRevision
from threshold.store.search_index import words


def lookup(conn: Connection, query_words: list[str]) -> dict[str, list[str]]:
    """For each query word that names an approved term or one of its synonyms, the term's other names
    (as the index's words; a phrase is its words joined by spaces)."""
    wanted = set(query_words)
    out: dict[str, set[str]] = {}
    for title, synonyms in conn.execute(
        select(GlossaryRevision.title, GlossaryRevision.synonyms).where(GlossaryRevision.status == "approved")
    ):
        names = {" ".join(words(n)) for n in [title, *(synonyms or [])]} - {""}
        for hit in names & wanted:
            out.setdefault(hit, set()).update(names - {hit})
    return {w: sorted(v) for w, v in out.items()}
