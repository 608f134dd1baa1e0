"""The glossary's service: a shared vocabulary that is written by anyone and in force only once reviewed.

A term belongs to a domain. Anyone signed in proposes a new term or an edit of one (`glossary.propose`);
the proposal is a revision, `draft` while its author writes and `in_review` once submitted. Owners of the
term's domain and the governance group review it (`glossary.review`, never the revision's own author):
they see the change against the text in force, field by field, and approve it (it is then in force; the
previous one is `superseded`) or reject it with a reason (the approved text stays in force). A term has at
most one open revision. Links say which datasets, columns and insights a term names (`glossary.link`);
a link to data a reader may not know exists is not shown to them.

Who sees what: every signed-in person sees approved terms; an open revision is seen by its author and
those who may review it. Every function takes the acting person and asks the decision point first.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from threshold import events
from threshold.access import DatasetRef, TermLinkRef, TermRef, find_dataset, knowable, known_ref, may, refs, require
from threshold.errors import Conflict, InvalidInput, NotFound
from threshold.glossary.models import OPEN, GlossaryLink, GlossaryRevision, GlossaryTerm
from threshold.identity.service import Person
from threshold.insights.models import Insight
from threshold.insights.service import viewable
from threshold.platform import Platform
from threshold.store.models import Column, Dataset, Domain, User

MAX_TITLE = 200
MAX_DEFINITION = 10_000
MAX_SYNONYMS = 30
MAX_SYNONYM = 100
MAX_NOTE = 2_000
_SPACE = re.compile(r"\s+")


def term_key(title: str) -> str:
    """The key a term is found by: lower case, single spaces ("Scrap  Rate" -> "scrap rate")."""
    return _SPACE.sub(" ", title.strip().lower())


# --- what the service returns -------------------------------------------------------------------------


@dataclass
class RevisionView:
    number: int
    status: str
    title: str
    definition: str
    synonyms: list[str]
    author: str | None
    note: str
    reviewer: str | None
    review_note: str
    created_at: str
    submitted_at: str | None
    reviewed_at: str | None


@dataclass
class LinkView:
    kind: str
    """`dataset`, `column` or `insight`."""
    target: str
    """`domain.dataset`, `domain.dataset.column`, or the insight's id."""
    label: str


@dataclass
class FieldChange:
    field: str
    before: str
    after: str
    words: list[tuple[str, str]]
    """The change word by word: ("=", text) kept, ("-", text) removed, ("+", text) added."""


@dataclass
class TermView:
    key: str
    title: str
    domain: str
    status: str
    """`approved` (in force), or the status of its only revision when none was ever approved."""
    definition: str
    """The text in force; before the first approval, the proposal (for those who may see it)."""
    synonyms: list[str]
    links: list[LinkView]
    pending: RevisionView | None
    """The open revision (a draft or one in review), for its author and those who may review it."""
    changes: list[FieldChange]
    """The open revision against the text in force."""
    may_review: bool
    history: list[RevisionView] = field(default_factory=list)


@dataclass
class TermCard:
    key: str
    title: str
    domain: str
    status: str
    definition: str
    synonyms: list[str]
    pending: str | None
    """The status of an open revision the viewer may see (`draft`, `in_review`), else None."""


@dataclass
class TermList:
    total: int
    terms: list[TermCard]


# --- proposing and reviewing -------------------------------------------------------------------------------


def propose(
    platform: Platform,
    person: Person,
    title: str,
    *,
    definition: str,
    domain: str | None = None,
    synonyms: list[str] | tuple[str, ...] | None = None,
    note: str = "",
    submit: bool = True,
) -> TermView:
    """A new term, or an edit of an existing one, as a revision: in review (`submit`) or a draft.

    A new term needs its domain (default: the person's first domain). An edit keeps the term's domain and
    fails while someone else's revision of it is open; its author may propose again to replace their own.
    `synonyms=None` keeps an existing term's synonyms (none for a new term)."""
    require(person, "glossary.propose")
    with platform.store.session() as s:
        key = propose_in(
            s, person, title, definition=definition, domain=domain, synonyms=synonyms, note=note, submit=submit
        )
    if submit:
        events.publish(platform, events.TermProposed(person.id, key, platform.clock()))
        _tell_reviewers(platform, person, key)
    return show(platform, person, key)


def propose_in(
    s: Session,
    person: Person,
    title: str,
    *,
    definition: str,
    domain: str | None,
    synonyms: list[str] | tuple[str, ...] | None,
    note: str,
    submit: bool,
) -> str:
    """`propose` inside the caller's transaction (a bulk import proposes every row in one). Returns the key.
    `synonyms=None` keeps an existing term's approved synonyms."""
    key = term_key(title)
    now = datetime.now(UTC)
    term = s.scalars(select(GlossaryTerm).where(GlossaryTerm.key == key)).one_or_none()
    if synonyms is None:
        current = _approved(s, term.id) if term is not None else None
        synonyms = list(current.synonyms or []) if current else []
    text = checked(title, definition, synonyms, note)
    if term is None:
        home = (domain or person.domain or "").strip().lower()
        if not home:
            raise InvalidInput("a new term needs its domain (--domain): whose vocabulary is it?")
        dom = s.scalars(select(Domain).where(Domain.name == home)).one_or_none()
        if dom is None:
            raise NotFound(f"no domain {home[:60]!r}")
        term = GlossaryTerm(key=key, domain_id=dom.id, created_by_id=person.id, created_at=now)
        s.add(term)
        s.flush()
    elif domain and domain.strip().lower() != _domain_name(s, term):
        raise InvalidInput(
            f"{text['title']!r} belongs to {_domain_name(s, term)}; an edit keeps its domain "
            "(propose a differently named term for another domain)"
        )
    open_one = _open(s, term.id)
    if open_one is not None:
        if open_one.author_id != person.id:
            raise Conflict(
                f"an edit of {text['title']!r} by {_user_name(s, open_one.author_id)} is "
                f"{open_one.status.replace('_', ' ')}: it is reviewed first"
            )
        s.delete(open_one)  # the author replaces their own open proposal
        s.flush()
    number = (s.scalar(select(func.max(GlossaryRevision.number)).where(GlossaryRevision.term_id == term.id)) or 0) + 1
    s.add(
        GlossaryRevision(
            term_id=term.id,
            number=number,
            status="in_review" if submit else "draft",
            author_id=person.id,
            submitted_at=now if submit else None,
            created_at=now,
            **text,
        )
    )
    term.updated_at = now
    s.flush()
    return key


def in_force(s: Session, title: str) -> tuple[str, str, list[str]] | None:
    """The approved (title, definition, synonyms) of a term with no open revision, else None."""
    term = s.scalars(select(GlossaryTerm).where(GlossaryTerm.key == term_key(title or ""))).one_or_none()
    if term is None or _open(s, term.id) is not None:
        return None
    rev = s.scalars(
        select(GlossaryRevision).where(GlossaryRevision.term_id == term.id, GlossaryRevision.status == "approved")
    ).first()
    return (rev.title, rev.definition, list(rev.synonyms or [])) if rev else None


def submit(platform: Platform, person: Person, title: str) -> TermView:
    """The author's draft goes to review."""
    with platform.store.session() as s:
        term = _term(s, title)
        rev = _open(s, term.id)
        if rev is None or rev.author_id != person.id:
            raise NotFound(f"no draft of {title[:80]!r} by {person.name}")
        if rev.status == "in_review":
            raise Conflict(f"{rev.title!r} is in review already")
        rev.status = "in_review"
        rev.submitted_at = datetime.now(UTC)
    events.publish(platform, events.TermProposed(person.id, term.key, platform.clock()))
    _tell_reviewers(platform, person, term.key)
    return show(platform, person, term.key)


def review(platform: Platform, person: Person, title: str, *, approve: bool, note: str = "") -> TermView:
    """Approve the revision in review (it is in force, the previous one superseded) or reject it with a
    reason (the text in force stays)."""
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"a review note has at most {MAX_NOTE:,} characters")
    if not approve and not note:
        raise InvalidInput("a rejection needs a reason (--note) its author can act on")
    from threshold.notifications.service import notify

    with platform.store.session() as s:
        term = _seen_term(s, person, title)
        rev = _open(s, term.id)
        if rev is None or rev.status != "in_review":
            raise NotFound(f"no revision of {title[:80]!r} waits for review")
        require(person, "glossary.review", TermRef(term.key, _domain_name(s, term), rev.author_id))
        now = datetime.now(UTC)
        if approve:
            for old in s.scalars(
                select(GlossaryRevision).where(
                    GlossaryRevision.term_id == term.id, GlossaryRevision.status == "approved"
                )
            ):
                old.status = "superseded"
        rev.status = "approved" if approve else "rejected"
        rev.reviewer_id, rev.review_note, rev.reviewed_at = person.id, note, now
        term.updated_at = now
        author, key, shown = rev.author_id, term.key, rev.title
    if author is not None and author != person.id:
        verdict = "approved" if approve else "rejected"
        notify(
            platform,
            [author],
            f"glossary.{verdict}",
            f"Your glossary entry {shown!r} was {verdict} by {person.name}",
            body=note,
            link=f"/glossary/{key}",
        )
    return show(platform, person, key)


def withdraw(platform: Platform, person: Person, title: str) -> TermView | None:
    """The author takes back their open revision; a term never approved is then gone (None)."""
    with platform.store.session() as s:
        term = _term(s, title)
        rev = _open(s, term.id)
        if rev is None or rev.author_id != person.id:
            raise NotFound(f"no open revision of {title[:80]!r} by {person.name}")
        s.delete(rev)
        s.flush()
        key = term.key
        if s.scalar(select(func.count()).where(GlossaryRevision.term_id == term.id)) == 0:
            s.delete(term)
            return None
    return show(platform, person, key)


def tell_reviewers(platform: Platform, person: Person, keys: list[str]) -> None:
    """Tell each term's reviewers that `person` proposed it (after the proposals committed)."""
    for key in keys:
        _tell_reviewers(platform, person, key)


def _tell_reviewers(platform: Platform, person: Person, key: str) -> None:
    from threshold.notifications.service import domain_owners, notify

    with platform.store.session() as s:
        term = _term(s, key)
        domain = _domain_name(s, term)
        rev = _open(s, term.id)
        title = rev.title if rev else key
        governance = list(s.scalars(select(User.id).where(User.is_governance.is_(True))))
    reviewers = [u for u in [*domain_owners(platform, domain), *governance] if u not in (person.id, person.name)]
    if reviewers:
        notify(
            platform,
            reviewers,
            "glossary.review",
            f"{person.name} proposes the glossary entry {title!r} ({domain})",
            body="Review it: approve, or reject with a reason.",
            link=f"/glossary/{key}",
        )


# --- links ------------------------------------------------------------------------------------------------


def link(platform: Platform, person: Person, title: str, target: str) -> TermView:
    """Link the term to `dataset:domain.name`, `column:domain.name.column` or `insight:ID` (a bare
    `domain.name` is a dataset)."""
    kind, dataset_id, column, insight_id = _target(platform, person, title, target)
    with platform.store.session() as s:
        term = _term(s, title)
        exists = s.scalar(
            select(func.count()).where(
                GlossaryLink.term_id == term.id,
                GlossaryLink.kind == kind,
                _is(GlossaryLink.dataset_id, dataset_id),
                _is(GlossaryLink.column_name, column),
                _is(GlossaryLink.insight_id, insight_id),
            )
        )
        if not exists:
            s.add(
                GlossaryLink(
                    term_id=term.id,
                    kind=kind,
                    dataset_id=dataset_id,
                    column_name=column,
                    insight_id=insight_id,
                    created_by_id=person.id,
                )
            )
        key = term.key
    return show(platform, person, key)


def unlink(platform: Platform, person: Person, title: str, target: str) -> TermView:
    kind, dataset_id, column, insight_id = _target(platform, person, title, target)
    with platform.store.session() as s:
        term = _term(s, title)
        found = s.scalars(
            select(GlossaryLink).where(
                GlossaryLink.term_id == term.id,
                GlossaryLink.kind == kind,
                _is(GlossaryLink.dataset_id, dataset_id),
                _is(GlossaryLink.column_name, column),
                _is(GlossaryLink.insight_id, insight_id),
            )
        ).all()
        if not found:
            raise NotFound(f"{term.key!r} is not linked to {target[:120]}")
        for row in found:
            s.delete(row)
        key = term.key
    return show(platform, person, key)


def _is(col: Any, value: Any) -> Any:
    return col.is_(None) if value is None else col == value


def _target(
    platform: Platform, person: Person, title: str, target: str
) -> tuple[str, int | None, str | None, int | None]:
    raw = target.strip()
    kind, _, rest = raw.partition(":") if ":" in raw else ("dataset", "", raw)
    kind, rest = kind.strip().lower(), rest.strip()
    with platform.store.session() as s:
        term = _seen_term(s, person, title)
        term_ref = TermRef(term.key, _domain_name(s, term))
        if kind == "insight":
            if not rest.isdigit() or len(rest) > 18:
                raise InvalidInput(f"an insight is linked by its number: insight:ID, not {raw[:80]!r}")
            insight = s.get(Insight, int(rest))
            if insight is None or insight.archived_at is not None or not viewable(s, person, [insight]):
                raise NotFound(f"no insight {rest}")
            require(person, "glossary.link", TermLinkRef(term_ref, None))
            return "insight", None, None, insight.id
        if kind not in ("dataset", "column"):
            raise InvalidInput(f"link to dataset:NAME, column:NAME.COLUMN or insight:ID, not {raw[:80]!r}")
        name, column = rest, None
        if kind == "column":
            name, _, column = rest.rpartition(".")
            if not name or not column:
                raise InvalidInput(f"a column is named domain.dataset.column, not {rest[:80]!r}")
        ds = find_dataset(s, person, name)
        ref: DatasetRef = refs(s, person, [ds.id])[ds.id]
        require(person, "glossary.link", TermLinkRef(term_ref, ref))
        if column is not None:
            col = s.scalar(select(Column.name).where(Column.dataset_id == ds.id, Column.name == column.strip().lower()))
            if col is None:
                raise NotFound(f"{ds.full_name} has no column {column[:80]!r}")
            column = col
        return kind, ds.id, column, None


# --- reading ----------------------------------------------------------------------------------------------


def show(platform: Platform, person: Person, title: str) -> TermView:
    """One term as `person` may see it (a term with no approved text is seen by its author and reviewers)."""
    with platform.store.session() as s:
        term = _term(s, title)
        domain = _domain_name(s, term)
        revs = list(
            s.scalars(
                select(GlossaryRevision)
                .where(GlossaryRevision.term_id == term.id)
                .order_by(GlossaryRevision.number.desc())
            )
        )
        approved = next((r for r in revs if r.status == "approved"), None)
        open_one = next((r for r in revs if r.status in OPEN), None)
        reviewer = may(person, "glossary.review", TermRef(term.key, domain))
        sees_open = open_one is not None and (open_one.author_id == person.id or bool(reviewer) or person.is_admin)
        if approved is None and not sees_open:
            raise NotFound(f"no glossary term {title[:80]!r}")
        names = _names(s, {r.author_id for r in revs} | {r.reviewer_id for r in revs})
        shown = approved or open_one
        assert shown is not None
        may_review = bool(
            sees_open
            and open_one is not None
            and open_one.status == "in_review"
            and may(person, "glossary.review", TermRef(term.key, domain, open_one.author_id))
        )
        history = [_revision(r, names) for r in revs if r.status not in OPEN or (sees_open and r is open_one)]
        return TermView(
            key=term.key,
            title=shown.title,
            domain=domain,
            status="approved" if approved else shown.status,
            definition=shown.definition,
            synonyms=list(shown.synonyms or []),
            links=_links(s, person, [term.id]).get(term.id, []),
            pending=_revision(open_one, names) if sees_open and open_one is not None else None,
            changes=_changes(approved, open_one) if sees_open and open_one is not None else [],
            may_review=may_review,
            history=history,
        )


def listing(
    platform: Platform,
    person: Person,
    *,
    search: str | None = None,
    domain: str | None = None,
    status: str | None = None,
    dataset: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> TermList:
    """Terms `person` may see, by title; `status`: `approved`, or `in_review` / `draft` (open revisions they
    may see: the review queue); `dataset`: terms linked to it or its columns."""
    if status not in (None, "approved", "in_review", "draft"):
        raise InvalidInput("status is one of approved, in_review, draft")
    with platform.store.session() as s:
        q = select(GlossaryTerm, Domain.name).join(Domain, Domain.id == GlossaryTerm.domain_id)
        if domain:
            q = q.where(Domain.name == domain.strip().lower())
        if dataset:
            ds = known_ref(platform, person, dataset)  # kept per metadata version: a page looked it up already
            q = q.where(GlossaryTerm.id.in_(select(GlossaryLink.term_id).where(GlossaryLink.dataset_id == ds.id)))
        rows = s.execute(q.order_by(GlossaryTerm.key)).all()
        ids = [t.id for t, _ in rows]
        revs: dict[int, list[GlossaryRevision]] = {}
        for r in (
            s.scalars(
                select(GlossaryRevision)
                .where(GlossaryRevision.term_id.in_(ids), GlossaryRevision.status.in_(("approved", *OPEN)))
                .order_by(GlossaryRevision.number)
            )
            if ids
            else []
        ):
            revs.setdefault(r.term_id, []).append(r)
        needle = term_key(search) if search else None
        cards: list[TermCard] = []
        for term, dom in rows:
            mine = revs.get(term.id, [])
            approved = next((r for r in mine if r.status == "approved"), None)
            open_one = next((r for r in mine if r.status in OPEN), None)
            sees_open = open_one is not None and (
                open_one.author_id == person.id
                or person.is_admin
                or bool(may(person, "glossary.review", TermRef(term.key, dom)))
            )
            shown = approved or (open_one if sees_open else None)
            if shown is None:
                continue
            pending = open_one.status if sees_open and open_one is not None else None
            if status == "approved" and approved is None:
                continue
            if status in OPEN and pending != status:
                continue
            if needle and not _found(needle, shown):
                continue
            cards.append(
                TermCard(
                    key=term.key,
                    title=shown.title,
                    domain=dom,
                    status="approved" if approved else shown.status,
                    definition=shown.definition,
                    synonyms=list(shown.synonyms or []),
                    pending=pending,
                )
            )
        return TermList(total=len(cards), terms=cards[offset : offset + limit])


def terms_of_dataset(platform: Platform, person: Person, dataset: str) -> list[TermCard]:
    """Approved terms linked to a dataset or its columns (the dataset page's vocabulary)."""
    return list(listing(platform, person, dataset=dataset, status="approved").terms)


def _found(needle: str, rev: GlossaryRevision) -> bool:
    hay = " ".join([rev.title, rev.definition, *(rev.synonyms or [])]).lower()
    return needle in hay


# --- helpers ----------------------------------------------------------------------------------------------


def checked(title: str, definition: str, synonyms: Any, note: str) -> dict[str, Any]:
    title = _SPACE.sub(" ", (title or "").strip())
    definition = (definition or "").strip()
    if not title:
        raise InvalidInput("a term needs its name")
    if "/" in title:
        raise InvalidInput(f"a term's name cannot hold '/' (it names the term in links): {title[:60]!r}")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"a term's name has at most {MAX_TITLE} characters")
    if not definition:
        raise InvalidInput(f"{title!r} needs a definition: what does the organisation mean by it?")
    if len(definition) > MAX_DEFINITION:
        raise InvalidInput(f"a definition has at most {MAX_DEFINITION:,} characters")
    if isinstance(synonyms, str):
        raise InvalidInput("synonyms are a list of words or phrases")
    clean: list[str] = []
    for raw in synonyms or ():
        word = _SPACE.sub(" ", str(raw).strip())
        if not word:
            continue
        if len(word) > MAX_SYNONYM:
            raise InvalidInput(f"a synonym has at most {MAX_SYNONYM} characters: {word[:40]!r}…")
        if term_key(word) != term_key(title) and term_key(word) not in {term_key(c) for c in clean}:
            clean.append(word)
    if len(clean) > MAX_SYNONYMS:
        raise InvalidInput(f"a term has at most {MAX_SYNONYMS} synonyms")
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"a note has at most {MAX_NOTE:,} characters")
    return {"title": title, "definition": definition, "synonyms": clean, "note": note.strip()}


def _term(s: Session, title: str) -> GlossaryTerm:
    term = s.scalars(select(GlossaryTerm).where(GlossaryTerm.key == term_key(title or ""))).one_or_none()
    if term is None:
        raise NotFound(f"no glossary term {title[:80]!r}")
    return term


def _seen_term(s: Session, person: Person, title: str) -> GlossaryTerm:
    """The term, if `person` may know it exists (as `show` answers): approved, or its open revision is
    theirs or theirs to review; a term never approved is "no glossary term" for everyone else."""
    term = _term(s, title)
    if _approved(s, term.id) is not None:
        return term
    rev = _open(s, term.id)
    if rev is not None and (
        rev.author_id == person.id
        or person.is_admin
        or may(person, "glossary.review", TermRef(term.key, _domain_name(s, term)))
    ):
        return term
    raise NotFound(f"no glossary term {title[:80]!r}")


def _approved(s: Session, term_id: int) -> GlossaryRevision | None:
    return s.scalars(
        select(GlossaryRevision).where(GlossaryRevision.term_id == term_id, GlossaryRevision.status == "approved")
    ).first()


def _open(s: Session, term_id: int) -> GlossaryRevision | None:
    return s.scalars(
        select(GlossaryRevision).where(GlossaryRevision.term_id == term_id, GlossaryRevision.status.in_(OPEN))
    ).first()


def _domain_name(s: Session, term: GlossaryTerm) -> str:
    return str(s.scalar(select(Domain.name).where(Domain.id == term.domain_id)))


def _user_name(s: Session, uid: int | None) -> str:
    return str(s.scalar(select(User.name).where(User.id == uid))) if uid is not None else "someone"


def _names(s: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {int(uid): str(name) for uid, name in s.execute(select(User.id, User.name).where(User.id.in_(wanted))).all()}


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat(timespec="seconds")


def _revision(r: GlossaryRevision, names: dict[int, str]) -> RevisionView:
    return RevisionView(
        number=r.number,
        status=r.status,
        title=r.title,
        definition=r.definition,
        synonyms=list(r.synonyms or []),
        author=names.get(r.author_id) if r.author_id is not None else None,
        note=r.note,
        reviewer=names.get(r.reviewer_id) if r.reviewer_id is not None else None,
        review_note=r.review_note,
        created_at=_iso(r.created_at) or "",
        submitted_at=_iso(r.submitted_at),
        reviewed_at=_iso(r.reviewed_at),
    )


def _changes(before: GlossaryRevision | None, after: GlossaryRevision) -> list[FieldChange]:
    """What the open revision changes against the text in force (everything, for a new term)."""
    out: list[FieldChange] = []
    fields = (
        ("title", before.title if before else "", after.title),
        ("definition", before.definition if before else "", after.definition),
        ("synonyms", ", ".join(before.synonyms or []) if before else "", ", ".join(after.synonyms or [])),
    )
    for name, old, new in fields:
        if old != new:
            out.append(FieldChange(name, old, new, _word_diff(old, new)))
    return out


def _word_diff(old: str, new: str) -> list[tuple[str, str]]:
    a, b = old.split(), new.split()
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("=", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("-", " ".join(a[i1:i2])))
        if j2 > j1:
            out.append(("+", " ".join(b[j1:j2])))
    return out


def _links(s: Session, person: Person, term_ids: list[int]) -> dict[int, list[LinkView]]:
    """Each term's links that `person` may see: data they may know exists, insights they may view."""
    out: dict[int, list[LinkView]] = {}
    rows = s.execute(
        select(GlossaryLink, Dataset.full_name, Dataset.title)
        .outerjoin(Dataset, Dataset.id == GlossaryLink.dataset_id)
        .where(GlossaryLink.term_id.in_(term_ids), or_(GlossaryLink.dataset_id.is_(None), knowable(person)))
        .order_by(GlossaryLink.kind, Dataset.full_name, GlossaryLink.column_name, GlossaryLink.insight_id)
    ).all()
    insight_ids = [lk.insight_id for lk, _, _ in rows if lk.insight_id is not None]
    insights = {i.id: i for i in s.scalars(select(Insight).where(Insight.id.in_(insight_ids)))} if insight_ids else {}
    seen = {i.id for i in viewable(s, person, [i for i in insights.values() if i.archived_at is None])}
    for lk, full_name, title in rows:
        if lk.kind == "insight":
            if lk.insight_id not in seen:
                continue
            view = LinkView("insight", str(lk.insight_id), insights[lk.insight_id].title)
        elif lk.kind == "column":
            view = LinkView("column", f"{full_name}.{lk.column_name}", f"{title or full_name} · {lk.column_name}")
        else:
            view = LinkView("dataset", str(full_name), title or str(full_name))
        out.setdefault(lk.term_id, []).append(view)
    return out
