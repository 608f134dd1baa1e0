"""The search index: each dataset's searchable text, kept in step with the metadata in the same transaction.

A session listener notes which datasets a flush touched (the dataset, its columns, its tags, its
domain's title) and rewrites their documents just before the transaction commits, so a share, an
edit or a retirement and its index entry commit or roll back together. `rebuild` rewrites the whole
index deterministically (the migration that creates it uses it for existing homes).

Per engine:
- SQLite: `search_fts` (FTS5, porter stemming over unicode61 without diacritics) and `search_trigram`
  (FTS5 trigram, for parts of words) hold the document text, rowid = dataset id.
- PostgreSQL: GIN indexes on `search_documents` itself, full text (`to_tsvector('english', …)`)
  and `pg_trgm` (`gin_trgm_ops`) per field.
Both: `search_terms` holds every word and its one-letter deletions, for typo correction.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import delete, event, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from threshold.store.models import Column, Dataset, Domain, SearchDocument, SearchTerm, Tag

FIELDS = ("names", "columns", "tags", "description")
"""The document's fields, most telling first (the catalog ranks matches in this order)."""

FTS_TABLES = ("search_fts", "search_trigram")
"""SQLite's FTS5 tables (and the shadow tables they own, `search_fts_*`): not SQLAlchemy models."""

_WORD = re.compile(r"[a-z0-9]+")
MIN_TYPO_LENGTH = 4
"""Shorter words are not corrected: at three letters every edit is another real word."""


def fold(value: str) -> str:
    """Lower case without diacritics ("Qualität" -> "qualitat"), as FTS5's `remove_diacritics 2` reads text."""
    decomposed = unicodedata.normalize("NFKD", value.replace("ß", "ss").lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(value: str) -> list[str]:
    """The words of a text as the index sees them: letters and digits, `_`, `.` and `-` separate."""
    return _WORD.findall(fold(value))


def deletions(word: str) -> set[str]:
    """`word` with one letter left out, each way."""
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _spaced(name: str) -> str:
    return " ".join(words(name))


def documents(conn: Connection, ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """The documents of datasets `ids` (those that still exist), built from the metadata tables."""
    ids = sorted(set(ids))
    docs: dict[int, dict[str, str]] = {}
    for chunk in _chunks(ids):
        for row in conn.execute(
            select(
                Dataset.id,
                Dataset.full_name,
                Dataset.title,
                Dataset.description,
                Dataset.purpose,
                Domain.title.label("domain_title"),
            )
            .join(Domain, Domain.id == Dataset.domain_id)
            .where(Dataset.id.in_(chunk))
        ):
            names = [row.full_name, _spaced(row.full_name), row.title or "", row.domain_title or ""]
            docs[row.id] = {
                "names": " ".join(n for n in names if n),
                "columns": "",
                "tags": "",
                "description": " ".join(t for t in (row.description, row.purpose) if t),
            }
        columns: dict[int, list[str]] = {}
        for c in conn.execute(
            select(Column.dataset_id, Column.name, Column.label)
            .where(Column.dataset_id.in_(chunk))
            .order_by(Column.dataset_id, Column.position)
        ):
            columns.setdefault(c.dataset_id, []).append(f"{_spaced(c.name)} {c.label or ''}".strip())
        tags: dict[int, set[str]] = {}
        for t in conn.execute(select(Tag.dataset_id, Tag.tag).where(Tag.dataset_id.in_(chunk))):
            tags.setdefault(t.dataset_id, set()).add(t.tag)
        for ds_id in chunk:
            if ds_id in docs:
                docs[ds_id]["columns"] = " | ".join(columns.get(ds_id, []))
                docs[ds_id]["tags"] = " ".join(f"{t} {_spaced(t)}" for t in sorted(tags.get(ds_id, ())))
    return docs


def reindex(conn: Connection, ids: Iterable[int]) -> None:
    """Rewrite the documents of datasets `ids` (removing those of datasets that are gone)."""
    ids = sorted(set(ids))
    if not ids:
        return
    sqlite = conn.dialect.name == "sqlite"
    docs = documents(conn, ids)
    for chunk in _chunks(ids):
        conn.execute(delete(SearchDocument).where(SearchDocument.dataset_id.in_(chunk)))
        if sqlite:
            marks = ",".join(str(int(i)) for i in chunk)
            for table in FTS_TABLES:
                conn.execute(text(f"DELETE FROM {table} WHERE rowid IN ({marks})"))
    if not docs:
        return
    rows = [{"dataset_id": ds_id, **doc} for ds_id, doc in sorted(docs.items())]
    conn.execute(insert(SearchDocument), rows)
    if sqlite:
        for table in FTS_TABLES:
            conn.execute(
                text(
                    f"INSERT INTO {table} (rowid, names, columns, tags, description) "
                    "VALUES (:dataset_id, :names, :columns, :tags, :description)"
                ),
                rows,
            )
    _add_terms(conn, (w for doc in docs.values() for f in FIELDS for w in words(doc[f])))


def _add_terms(conn: Connection, found: Iterable[str]) -> None:
    terms = {w for w in found if len(w) >= MIN_TYPO_LENGTH - 1 and not w.isdigit() and len(w) <= 60}
    if not terms:
        return
    known: set[str] = set()
    for chunk in _chunks(sorted(terms)):
        known |= set(
            conn.scalars(
                select(SearchTerm.term).where(SearchTerm.variant.in_(chunk), SearchTerm.term == SearchTerm.variant)
            )
        )
    rows = [
        {"variant": v, "term": t}
        for t in sorted(terms - known)
        for v in sorted({t} | (deletions(t) if len(t) >= MIN_TYPO_LENGTH else set()))
    ]
    for start in range(0, len(rows), 5000):
        batch = rows[start : start + 5000]
        if conn.dialect.name == "sqlite":
            conn.execute(insert(SearchTerm).prefix_with("OR IGNORE"), batch)
        else:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            conn.execute(pg_insert(SearchTerm).on_conflict_do_nothing(), batch)


def rebuild(conn: Connection) -> int:
    """Rewrite the whole index from the metadata (deterministic: same metadata, same index). Returns
    the number of documents."""
    conn.execute(delete(SearchTerm))
    if conn.dialect.name == "sqlite":
        for table in FTS_TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
    conn.execute(delete(SearchDocument))
    ids = list(conn.scalars(select(Dataset.id).order_by(Dataset.id)))
    for chunk in _chunks(ids):
        reindex(conn, chunk)
    return len(ids)


def _chunks(ids: list[Any], size: int = 900) -> Iterator[list[Any]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


# --- keeping the index in step with the session's writes --------------------------------------------

_PENDING = "search_index_pending"


def _note(session: Session, ids: Iterable[int | None]) -> None:
    session.info.setdefault(_PENDING, set()).update(i for i in ids if i is not None)


def _after_flush(session: Session, _context: Any) -> None:
    touched: set[int | None] = set()
    domains: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Dataset):
            touched.add(obj.id)
        elif isinstance(obj, Column | Tag | SearchDocument):
            touched.add(obj.dataset_id)
        elif isinstance(obj, Domain) and obj.id is not None and obj in session.dirty:
            domains.add(obj.id)
    if domains:
        touched |= set(session.execute(select(Dataset.id).where(Dataset.domain_id.in_(domains))).scalars())
    _note(session, touched)


def _do_orm_execute(state: Any) -> None:
    """Bulk `update`/`delete` statements on datasets, columns or tags bypass the flush: find their rows first."""
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if table is None or name not in ("datasets", "columns", "tags"):
        return
    key = table.c.id if name == "datasets" else table.c.dataset_id
    where = state.statement.whereclause
    found = state.session.execute(select(key).where(where) if where is not None else select(key)).scalars()
    _note(state.session, found)


def _before_commit(session: Session) -> None:
    session.flush()
    pending = session.info.pop(_PENDING, set())
    if pending:
        reindex(session.connection(), pending)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def keep_in_step(sessions: sessionmaker[Session]) -> None:
    """Attach the index upkeep to every session `sessions` makes."""
    event.listen(sessions, "after_flush", _after_flush)
    event.listen(sessions, "do_orm_execute", _do_orm_execute)
    event.listen(sessions, "before_commit", _before_commit)
    event.listen(sessions, "after_soft_rollback", lambda s, _t: _after_rollback(s))


def engine_owned(name: str | None, type_: str) -> bool:
    """The index's engine-specific objects (FTS5 tables and their shadow tables, PostgreSQL GIN indexes),
    which the migration creates and the models do not declare: schema comparisons leave them out."""
    if name is None:
        return False
    if type_ == "table":
        return name.startswith(FTS_TABLES)
    return type_ == "index" and name.startswith("ix_search_documents_")
