"""Catalog search: finds what people mean, not only the letters they typed.

Each word of the query is looked for in four fields of the search index (`store/search_index.py`):
names, columns (names and labels), tags, description. A word matches by its stem ("rates" finds
"rate", porter), as a prefix ("scra"), corrected when no dataset the reader may see has it ("scarp" ->
"scrap", one edit; two for long words), by a synonym from the thesaurus ("revenue" -> "sales", English and
German business words), and, only when nothing else matched, as part of a word ("stelle" in
"Kostenstelle", trigrams). Datasets that match every word come first; when none does, those
matching the most words. An exact name match always leads. Each result says why it matched.

Who may know what is the platform's one filter (`threshold.access.knowable`): the index holds text
only, and every match passes that filter before anything is decided from it (how a word matched, how many
words must match) and before it is counted, ranked or named.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, bindparam, func, literal_column, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, selectinload

from threshold.access import knowable, viewer_key
from threshold.catalog.results import DatasetRecord
from threshold.catalog.service import describe, summary_of
from threshold.errors import InvalidInput, NotFound
from threshold.events import SearchDone, publish
from threshold.identity.service import Person
from threshold.kept import Kept, kept_on
from threshold.platform import Platform
from threshold.store.models import Dataset, Domain, SearchTerm
from threshold.store.search_index import FIELDS, MIN_TYPO_LENGTH, deletions, fold, words

MAX_WORDS = 8
"""Longer queries are cut to their first eight words (every word costs index lookups)."""

STOP_WORDS = frozenset(
    "a an and at by for from in of on or per the to with "  # English
    "am an auf aus bei das der die für im in je mit nach pro und von vom zu zum zur".split()  # German
)
"""Words a query may hold that say nothing about a dataset ("turnover by region"), like single letters
("e-mail"); kept when they are all a query has."""

_FIELD_WEIGHT = {"names": 8.0, "columns": 4.0, "tags": 3.0, "description": 1.0}
_KIND_WEIGHT = {"word": 1.0, "typo": 0.7, "synonym": 0.6, "part": 0.4}
_FIELD_LABEL = {"names": "name", "columns": "column", "tags": "tag", "description": "description"}
_THESAURUS = Path(__file__).with_name("thesaurus.txt")


SynonymSource = Callable[[Connection, list[str]], dict[str, list[str]]]
"""Synonyms beyond the thesaurus file: query words -> other words or phrases for the same thing (the
glossary registers its approved terms)."""
_SOURCES: list[SynonymSource] = []


def add_synonyms(source: SynonymSource) -> None:
    """Let `source` add synonyms to every search (idempotent)."""
    if source not in _SOURCES:
        _SOURCES.append(source)


@dataclass(frozen=True)
class Index:
    """A set of search documents: its FTS5 tables (SQLite), its table with stored vectors (PostgreSQL), the
    key of a document and its fields, most telling first."""

    fts: str
    trigram: str
    table: str
    key: str
    fields: tuple[str, ...]


DATASETS = Index("search_fts", "search_trigram", "search_documents", "dataset_id", FIELDS)
INSIGHTS = Index("insight_fts", "insight_trigram", "insight_search_documents", "insight_id", ("names", "description"))
"""Saved insights: title (names) and narrative (description), analysed like datasets' documents."""


@dataclass
class SearchPage:
    total: int
    page: int
    per_page: int
    results: list[dict[str, Any]]


@dataclass(frozen=True)
class Reason:
    """Why a dataset matched one query word: in which field, how (`word`, `typo`, `synonym`, `part`)
    and through which indexed word."""

    word: str
    field: str
    kind: str
    term: str
    others: tuple[str, ...] = ()
    """The alternatives looked for together with `term` (typos, synonyms): which one a dataset has is
    settled for the results shown (`_settled`), not for every match."""

    @property
    def score(self) -> float:
        return _FIELD_WEIGHT[self.field] * _KIND_WEIGHT[self.kind]

    def says(self) -> str:
        where = _FIELD_LABEL[self.field]
        if self.kind == "typo":
            return f"{where} “{self.term}” (for “{self.word}”)"
        if self.kind == "synonym":
            return f"{where} “{self.term}” (same meaning as “{self.word}”)"
        if self.kind == "part":
            return f"{where} containing “{self.word}”"
        return f"{where} “{self.word}”"


@dataclass
class _Hit:
    """How a dataset matched: for each query word, the best reason."""

    reasons: dict[str, Reason] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return sum(r.score for r in self.reasons.values())


def search(
    platform: Platform,
    text_: str | None = None,
    *,
    page: int = 1,
    per_page: int = 50,
    viewer: Person | None = None,
    announce: bool = True,
) -> SearchPage:
    """Datasets matching `text_`, best first; every match counted and reachable page by page.

    A person's search by words announces `SearchDone` (literacy listens); `announce=False` for the
    platform's own lookups on a person's behalf (suggestions after a mistyped name)."""
    if page < 1 or not 1 <= per_page <= 1000:
        raise InvalidInput("page starts at 1 and per_page is between 1 and 1000")
    raw = (text_ or "").strip()
    with platform.store.session() as s:
        opts = (
            selectinload(Dataset.domain),
            selectinload(Dataset.columns),
            selectinload(Dataset.tags),
            selectinload(Dataset.created_by),
        )
        visible = select(Dataset).join(Domain, Domain.id == Dataset.domain_id).where(knowable(viewer))
        if not raw:
            total = s.scalar(select(func.count()).select_from(visible.with_only_columns(Dataset.id).subquery())) or 0
            rows = s.scalars(
                visible.options(*opts).order_by(Dataset.full_name).offset((page - 1) * per_page).limit(per_page)
            ).all()
            return SearchPage(total, page, per_page, [summary_of(d).to_json() | {"match": None} for d in rows])
        query_words = _query_words(raw)
        conn = s.connection()
        exact = _exact_names(conn, raw, query_words)
        # Only what the viewer may know counts, for everything decided from the matches: how a word matched,
        # how many words must match (a hidden dataset that has them all must not make the visible ones that
        # have half of them disappear).
        known: dict[int, str] = {}
        asked: set[int] = set()

        def may_know(ids: set[int]) -> set[int]:
            if new := ids - asked:
                known.update(_visible_names(s, viewer, new))
                asked.update(new)
            return {i for i in ids if i in known}

        labels, best = _hits(conn, query_words, visible=may_know) if query_words else ([], {})
        exact = may_know(exact) if exact else exact
        # Every word matched, else (no dataset has them all) at least half of them.
        need = len(query_words) if any(len(m) == len(query_words) for m in best.values()) else -(-len(query_words) // 2)
        candidates = {i for i, m in best.items() if len(m) >= need} | exact
        if not candidates:
            return SearchPage(0, page, per_page, [])
        names = {i: known[i] for i in candidates}

        def rank(ds_id: int) -> tuple[int, int, float, str]:
            m = best.get(ds_id, {})
            return (0 if ds_id in exact else 1, -len(m), -sum(labels[n].score for n in m.values()), names[ds_id])

        ordered = sorted(names, key=rank)
        start = (page - 1) * per_page
        page_ids = ordered[start : start + per_page]
        loaded = {d.id: d for d in s.scalars(select(Dataset).where(Dataset.id.in_(page_ids)).options(*opts))}
        results = [
            _result(loaded[i], _Hit({w: labels[n] for w, n in best.get(i, {}).items()}), i in exact) for i in page_ids
        ]
    if announce and viewer is not None and page == 1:
        publish(platform, SearchDone(viewer.id, raw[:200], len(ordered), platform.clock()))
    return SearchPage(len(ordered), page, per_page, results)


def _visible_names(s: Session, viewer: Person | None, ids: set[int]) -> dict[int, str]:
    """The full names of the datasets among `ids` that `viewer` may know exist (one statement; the ids as one
    parameter, the filter is `threshold.access.knowable`)."""
    listed = json.dumps(sorted(ids))
    if s.get_bind().dialect.name == "sqlite":
        among = Dataset.id.in_(select(literal_column("value")).select_from(func.json_each(bindparam("ids", listed))))
    else:
        from sqlalchemy.dialects.postgresql import JSONB  # here: the dialect costs ~0.1 s to import on SQLite homes

        among = Dataset.id.in_(
            select(func.jsonb_array_elements_text(func.cast(bindparam("ids", listed), JSONB)).cast(Integer))
        )
    rows = s.execute(
        select(Dataset.id, Dataset.full_name)
        .join(Domain, Domain.id == Dataset.domain_id)
        .where(knowable(viewer), among)
    )
    return {int(i): n for i, n in rows}


def _settled(d: Dataset, r: Reason) -> Reason:
    """`r` naming the alternative `d` really has (the first synonym or correction found in its field)."""
    if not r.others:
        return r
    if r.field == "names":
        text = f"{d.full_name} {d.title} {d.domain.title}"
    elif r.field == "columns":
        text = " ".join(f"{c.name} {c.label}" for c in d.columns)
    elif r.field == "tags":
        text = " ".join(t.tag for t in d.tags)
    else:
        text = f"{d.description} {d.purpose}"
    return settled(r, text)


def settled(r: Reason, text: str) -> Reason:
    """`r` naming the alternative that `text` (the matched field's text) really has: a reason never names
    a word of another document."""
    if not r.others:
        return r
    has = set(words(text))
    for term in (r.term, *r.others):
        if any(_alike(term, w) for w in has):
            return Reason(r.word, r.field, r.kind, term)
    return Reason(r.word, r.field, r.kind, r.term)


def _result(d: Dataset, hit: _Hit, exact: bool) -> dict[str, Any]:
    reasons = [_settled(d, r) for r in hit.reasons.values()]
    terms = {fold(r.term) for r in reasons} | {r.word for r in reasons}
    columns = [
        c.name
        for c in d.columns
        if any(_alike(w, t) for w in words(f"{c.name} {c.label}") for t in terms)
        and any(r.field == "columns" for r in reasons)
    ]
    # The tags that share the most words with the query ("personal.email": not `personal.name`).
    shared = {t.tag: sum(any(_alike(w, x) for x in terms) for w in words(t.tag)) for t in d.tags}
    tags = sorted(t for t, n in shared.items() if n and n == max(shared.values()))
    why = "; ".join(dict.fromkeys(r.says() for r in sorted(reasons, key=lambda r: -r.score)))
    return summary_of(d).to_json() | {
        "match": "dataset name" if exact else why,
        "why": [{"word": r.word, "field": r.field, "kind": r.kind, "term": r.term} for r in reasons],
        "matched_columns": columns[:10],
        "matched_tags": tags if any(r.field == "tags" for r in reasons) else [],
    }


def _alike(a: str, b: str) -> bool:
    """Two words that are the same word give or take an English ending ("rates", "rate")."""
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 3 and long_.startswith(short) and len(long_) - len(short) <= 3


def _exact_names(conn: Connection, raw: str, query_words: list[str]) -> set[int]:
    """Datasets named exactly what was typed (`sales.orders`, `orders`, `plant kpis` for `plant_kpis`)."""
    typed = {raw.lower(), "_".join(query_words)}
    found = conn.execute(select(Dataset.id).where(Dataset.full_name.in_(typed) | Dataset.name.in_(typed))).scalars()
    return set(found)


# --- one word, many ways to match ---------------------------------------------------------------------


def matching(
    conn: Connection, text_: str, index: Index, visible: Callable[[set[int]], set[int]] | None = None
) -> dict[int, list[Reason]]:
    """The documents of `index` that match every word of `text_` (else, when none does, at least half of
    them), each with the best reason per word. Text only: `visible` (the caller's, through the decision point)
    keeps the documents the reader may know of, before anything is decided from the matches."""
    typed = list(dict.fromkeys(words(text_)))
    query_words = ([w for w in typed if w not in STOP_WORDS and len(w) > 1] or typed)[:MAX_WORDS]
    if not query_words:
        return {}
    labels, best = _hits(conn, query_words, index, visible)
    need = len(query_words) if any(len(m) == len(query_words) for m in best.values()) else -(-len(query_words) // 2)
    return {i: [labels[n] for n in m.values()] for i, m in best.items() if len(m) >= need}


def _hits(
    conn: Connection,
    query_words: list[str],
    index: Index = DATASETS,
    visible: Callable[[set[int]], set[int]] | None = None,
) -> tuple[list[Reason], dict[int, dict[str, int]]]:
    """Every way each word matches (`labels`), and per document, per word, the best one (an index in `labels`).

    `visible` keeps the documents the reader may know of (None: all). It is applied to every match before
    anything is decided from the matches, so a document the reader may not know never changes what else is
    found: whether a word counts as typed or as a typo, which correction is nearest, whether parts of words
    are looked for. Plain ints and dicts: a common word matches thousands of datasets, and this runs on every
    search."""
    corrections, indexed = _corrections(conn, query_words)
    thesaurus = _thesaurus()
    extra = _from_sources(conn, query_words)
    alternatives: list[tuple[str, str, list[str]]] = []  # (word, kind, terms)
    for w in query_words:
        alternatives.append((w, "word", [w]))
        if w not in indexed:  # no document has it: its corrections in the same statement
            alternatives += [(w, "typo", terms) for _, terms in corrections.get(w, [])]
        if synonyms := sorted((thesaurus.get(w, set()) | extra.get(w, set())) - {w}):
            alternatives.append((w, "synonym", synonyms))
    labels, found = _match(conn, alternatives, index=index)
    found = _only(found, visible)
    matched_by = {(labels[n].word, labels[n].kind) for n in found}
    # A word some document has, but none the reader may see: corrected as if no document had it (a second
    # statement, only then).
    late = [(w, "typo", terms) for w in query_words if w in indexed and (w, "word") not in matched_by
            for _, terms in corrections.get(w, [])]  # fmt: skip
    if late:
        more, found_more = _match(conn, late, first=len(labels), index=index)
        found_more = _only(found_more, visible)
        labels += more
        found |= found_more
        matched_by |= {(labels[n].word, labels[n].kind) for n in found_more}
    nearest = _nearest_typos(labels, found, corrections)
    # Parts of words only for the words that found nothing whole (a second, rarer statement).
    unmatched = [w for w in query_words if len(w) >= 3 and not {(w, "word"), (w, "typo")} & matched_by]
    if unmatched:
        more, found_more = _match(conn, [(w, "part", [w]) for w in unmatched], first=len(labels), index=index)
        found_more = _only(found_more, visible)
        labels += more
        found |= found_more
        matched_by |= {(labels[n].word, labels[n].kind) for n in found_more}
    best: dict[int, dict[str, int]] = {}
    for n in sorted(found, key=lambda n: -labels[n].score):  # best first: the first reason a word gets stays
        w, kind = labels[n].word, labels[n].kind
        if kind == "typo" and ((w, "word") in matched_by or n not in nearest):
            continue  # the word as typed is in what the reader may see: not a typo; or a nearer one found
        if kind == "part" and ((w, "word") in matched_by or (w, "typo") in matched_by):
            continue  # parts of words only when the whole word found nothing
        for ds_id in found[n]:
            per = best.get(ds_id)
            if per is None:
                best[ds_id] = {w: n}
            elif w not in per:
                per[w] = n
    return labels, best


def _only(found: dict[int, list[int]], visible: Callable[[set[int]], set[int]] | None) -> dict[int, list[int]]:
    """`found` (label -> documents) less the documents `visible` does not keep, and labels left with none."""
    if visible is None or not found:
        return found
    keep = visible({i for ids in found.values() for i in ids})
    kept = {n: [i for i in ids if i in keep] for n, ids in found.items()}
    return {n: ids for n, ids in kept.items() if ids}


def _nearest_typos(
    labels: list[Reason], found: dict[int, list[int]], corrections: dict[str, list[tuple[int, list[str]]]]
) -> set[int]:
    """The typo labels that found something at the smallest edit distance of their word's."""
    distance = {(w, terms[0]): d for w, groups in corrections.items() for d, terms in groups}
    at = {n: distance[labels[n].word, labels[n].term] for n in found if labels[n].kind == "typo"}
    nearest: dict[str, int] = {}
    for n, d in at.items():
        nearest[labels[n].word] = min(nearest.get(labels[n].word, d), d)
    return {n for n, d in at.items() if d == nearest[labels[n].word]}


def _from_sources(conn: Connection, query_words: list[str]) -> dict[str, set[str]]:
    """The synonyms the registered sources (`add_synonyms`: the glossary's approved terms) add to the words."""
    extra: dict[str, set[str]] = {}
    for source in _SOURCES:
        for w, names in source(conn, query_words).items():
            extra.setdefault(w, set()).update(names)
    return extra


def _query_words(raw: str) -> list[str]:
    """The words of a search that count (stop words and single letters dropped unless nothing else is left)."""
    typed = list(dict.fromkeys(words(raw)))
    return ([w for w in typed if w not in STOP_WORDS and len(w) > 1] or typed)[:MAX_WORDS]


def _match(
    conn: Connection, alternatives: list[tuple[str, str, list[str]]], first: int = 0, index: Index = DATASETS
) -> tuple[list[Reason], dict[int, list[int]]]:
    """One statement: for every (word, kind) and field, the datasets whose field matches its terms.
    Returns the reasons (one per field and alternative) and, per reason's index, the datasets."""
    sqlite = conn.dialect.name == "sqlite"
    mark = (lambda n: f":p{n}") if sqlite else (lambda n: f"%(p{n})s")
    parts: list[str] = []
    params: dict[str, str] = {}
    labels: list[Reason] = []
    for w, kind, terms in alternatives:
        for f in index.fields:
            n = first + len(labels)
            if sqlite:
                if kind == "part":
                    parts.append(f"SELECT rowid, {n} FROM {index.trigram} WHERE {index.trigram} MATCH {mark(n)}")
                    params[f"p{n}"] = f'{{{f}}} : "{w}"'
                else:
                    alts = " OR ".join(
                        f'"{t}"' + (f' OR "{t}"*' if kind == "word" and len(t) >= 3 else "") for t in terms
                    )
                    parts.append(f"SELECT rowid, {n} FROM {index.fts} WHERE {index.fts} MATCH {mark(n)}")
                    params[f"p{n}"] = f"{{{f}}} : ({alts})"
            elif kind == "part":
                parts.append(f"SELECT {index.key}, {n} FROM {index.table} WHERE {f} ILIKE {mark(n)}")
                params[f"p{n}"] = f"%{w}%"
            else:
                alts = " | ".join(
                    (f"({' <-> '.join(t.split())})" if " " in t else t)
                    + (f" | {t}:*" if kind == "word" and len(t) >= 3 else "")
                    for t in terms
                )
                parts.append(
                    f"SELECT {index.key}, {n} FROM {index.table} WHERE {f}_tsv @@ to_tsquery('english', {mark(n)})"
                )
                params[f"p{n}"] = alts
            labels.append(Reason(w, f, kind, terms[0], tuple(terms[1:])))
    found: dict[int, list[int]] = {}
    if not parts:
        return labels, found
    # The driver's own cursor: thousands of (id, label) pairs, no row objects needed.
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(" UNION ALL ".join(parts), params)
        for ds_id, n in cursor.fetchall():
            found.setdefault(n, []).append(ds_id)
    finally:
        cursor.close()
    return labels, found


MAX_CORRECTIONS = 24
"""Indexed words looked for in place of one mistyped word, nearest first (bounds the statement)."""


def _corrections(conn: Connection, query_words: list[str]) -> tuple[dict[str, list[tuple[int, list[str]]]], set[str]]:
    """For each word, the indexed words one edit away (two for long words), grouped by edit distance, nearest
    first; and which words the index holds as they are. Corrections also for those: the index holds every
    document's words, and whether the reader may see one that has the word is settled on the matches
    (`_hits`), so that a hidden dataset's words never change how a reader's search is corrected."""
    asked = {w: {w} | deletions(w) for w in query_words if len(w) >= MIN_TYPO_LENGTH and not w.isdigit()}
    if not asked:
        return {}, set()
    variants = sorted(set().union(*asked.values()))
    rows = conn.execute(select(SearchTerm.variant, SearchTerm.term).where(SearchTerm.variant.in_(variants))).all()
    by_variant: dict[str, set[str]] = {}
    for variant, term in rows:
        by_variant.setdefault(variant, set()).add(term)
    out: dict[str, list[tuple[int, list[str]]]] = {}
    indexed = {w for w in asked if w in by_variant.get(w, ())}
    for w, mine in asked.items():
        limit = 2 if len(w) >= 8 else 1
        near = {t for v in mine for t in by_variant.get(v, ()) if t != w}
        scored = sorted((d, t) for t in near if (d := _distance(w, t)) <= limit)[:MAX_CORRECTIONS]
        groups: dict[int, list[str]] = {}
        for d, t in scored:
            groups.setdefault(d, []).append(t)
        if groups:
            out[w] = sorted(groups.items())
    return out, indexed


def _distance(a: str, b: str) -> int:
    """Edits between two words: insert, delete, substitute, swap two neighbours (optimal string alignment)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


@cache
def _thesaurus() -> dict[str, frozenset[str]]:
    """Words that mean the same in business talk, English and German (`thesaurus.txt`, one group a line)."""
    groups: dict[str, set[str]] = {}
    for line in _THESAURUS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0]
        group = {w for item in line.split(",") for w in words(item)}
        for w in group:
            groups.setdefault(w, set()).update(group)
    return {w: frozenset(g) for w, g in groups.items()}


MAX_SUGGESTIONS_KEPT = 2048
"""`did_you_mean` answers kept per platform (least recently used dropped first)."""


def did_you_mean(platform: Platform, typed: str, *, viewer: Person | None, limit: int = 3) -> list[str]:
    """Datasets `viewer` may see whose names are near `typed` (a misspelt or half-remembered name): the
    search's best matches, through the same visibility filter, so a suggestion never reveals a dataset.

    Every refusal of a missing (or hidden) dataset asks this, so the answer is kept per (store metadata
    version, viewer, text, the synonyms the glossary adds to its words): the index, its typo terms and the
    visibility filter change only with a change the version counts (datasets, columns, tags, domains, people,
    memberships), and the glossary's synonyms are read each time (one small query) and are part of the key."""
    version = platform.store.metadata_version()  # before the reads: a later change moves it past this key
    if version is None:
        return _did_you_mean(platform, typed[:200], viewer, limit)
    text_ = typed[:200]  # names are far shorter: what is past this cannot be near one
    query_words = _query_words(text_.strip())
    with platform.store.session() as s:
        extra = _from_sources(s.connection(), query_words) if query_words else {}
    synonyms = tuple(sorted((w, tuple(sorted(names))) for w, names in extra.items()))
    kept: Kept[list[str]] = kept_on(platform, "_suggestions", lambda: Kept(MAX_SUGGESTIONS_KEPT))
    key = (version, viewer_key(viewer), text_, limit, synonyms)
    return list(kept.get_or_make(key, lambda: _did_you_mean(platform, text_, viewer, limit)))


def _did_you_mean(platform: Platform, text_: str, viewer: Person | None, limit: int) -> list[str]:
    found = search(platform, text_, per_page=limit, viewer=viewer, announce=False).results
    return [r["name"] for r in found if r["name"] != text_.lower()]


def describe_or_suggest(platform: Platform, full_name: str, *, viewer: Person | None) -> DatasetRecord:
    """A dataset's record (`service.describe`); when the viewer knows no such dataset, the refusal names
    the ones they probably meant."""
    try:
        return describe(platform, full_name, viewer=viewer)
    except NotFound as e:
        raise NotFound(str(e), suggestions=did_you_mean(platform, full_name, viewer=viewer)) from e
