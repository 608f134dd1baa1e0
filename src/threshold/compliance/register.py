"""The collection register: why personal data was collected, on which legal basis, about whom, for how long.

An entry is recorded with the share that publishes the dataset (`record_at_share`, in the publishing
transaction: a share refused for a missing field leaves no table, no staging file and no catalog row),
edited by the dataset's owners with every change kept (`set_record`, `history`), and listed or exported
for the data protection officer (`register`, `export`), filtered by the decision point.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from threshold.access import dataset_ref, knowable, known_ref, require
from threshold.compliance.bases import (
    LEGAL_BASIS_LABELS,
    SPECIAL_CONDITION_LABELS,
    LegalBasis,
    SpecialCondition,
    is_personal,
    is_special,
    legal_basis,
    retention_days,
    special_condition,
)
from threshold.compliance.models import RegisterChange, RegisterEntry
from threshold.errors import InvalidInput
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.store.models import Column, Dataset, Domain, Tag, User, utcnow

FIELDS = (
    "purpose",
    "legal_basis",
    "special_condition",
    "subjects",
    "retention",
    "retention_column",
    "source_system",
    "controller",
)
"""What an entry records, in the order people read it."""

REQUIRED = ("purpose", "legal_basis", "subjects", "retention", "retention_column", "source_system", "controller")
"""Fields a dataset holding personal data must have where `compliance.register_required` is on."""

_WORDS = {f: f.replace("_", " ") for f in FIELDS} | {"special_condition": "Art. 9(2) condition"}
_MAX = {"purpose": 1000, "source_system": 200, "controller": 320, "retention_column": 127, "retention": 20}
DATE_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE")


@dataclass(frozen=True)
class CollectionRecord:
    """A dataset's entry in the register (`recorded` False: it holds personal data and has none yet)."""

    dataset_id: int
    dataset: str
    domain: str
    recorded: bool
    purpose: str = ""
    legal_basis: str | None = None
    legal_basis_label: str | None = None
    special_condition: str | None = None
    special_condition_label: str | None = None
    subjects: tuple[str, ...] = ()
    retention: str | None = None
    retention_days: int | None = None
    retention_column: str | None = None
    source_system: str = ""
    controller: str = ""
    personal_columns: tuple[str, ...] = ()
    special_columns: tuple[str, ...] = ()
    updated_at: datetime | None = None
    updated_by: str | None = None

    @property
    def missing(self) -> list[str]:
        """Required fields still empty (an Art. 9(2) condition when a column is of a special category)."""
        out = [_WORDS[f] for f in REQUIRED if not getattr(self, f)]
        if self.special_columns and not self.special_condition:
            out.append(_WORDS["special_condition"])
        return out

    def to_json(self) -> dict[str, Any]:
        """The entry as the API, the pages' `.json` twins and the CLI send it: the export's columns (tuples as
        lists, times as ISO text), `missing` included."""
        d = asdict(self)
        out = {k: d[k] for k in EXPORT_COLUMNS if k in d}
        out = {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}
        out["updated_at"] = self.updated_at.isoformat() if self.updated_at else None
        out["missing"] = self.missing
        return out


@dataclass(frozen=True)
class RegisterChangeView:
    at: datetime
    by: str | None
    note: str
    changes: dict[str, list[Any]] = field(default_factory=dict)
    """{field: [old, new]}."""


# --- reading ---------------------------------------------------------------------------------------------


def personal_columns(s: Session, dataset_id: int) -> tuple[list[str], list[str]]:
    """(personal columns, special-category columns) of a dataset, by its tags (detected or manual)."""
    personal: set[str] = set()
    special: set[str] = set()
    for column, tag in s.execute(select(Tag.column_name, Tag.tag).where(Tag.dataset_id == dataset_id)):
        if column is None:
            continue
        if is_personal(tag):
            personal.add(column)
        if is_special(tag):
            special.add(column)
    return sorted(personal), sorted(special)


def record_of(session: Session, dataset_id: int) -> CollectionRecord | None:
    """The register entry of a dataset, or None when it has none (no permission check: the caller decides)."""
    row = session.execute(
        select(Dataset.full_name, Domain.name)
        .join(Domain, Domain.id == Dataset.domain_id)
        .where(Dataset.id == dataset_id)
    ).one_or_none()
    if row is None:
        return None
    entry = session.scalars(select(RegisterEntry).where(RegisterEntry.dataset_id == dataset_id)).one_or_none()
    if entry is None:
        return None
    return _record(session, dataset_id, row[0], row[1], entry)


def _record(s: Session, dataset_id: int, name: str, domain: str, entry: RegisterEntry | None) -> CollectionRecord:
    personal, special = personal_columns(s, dataset_id)
    if entry is None:
        return CollectionRecord(
            dataset_id, name, domain, False, personal_columns=tuple(personal), special_columns=tuple(special)
        )
    by = s.get(User, entry.updated_by_id) if entry.updated_by_id else None
    return CollectionRecord(
        dataset_id=dataset_id,
        dataset=name,
        domain=domain,
        recorded=True,
        purpose=entry.purpose,
        legal_basis=entry.legal_basis,
        legal_basis_label=LEGAL_BASIS_LABELS[LegalBasis(entry.legal_basis)] if entry.legal_basis else None,
        special_condition=entry.special_condition,
        special_condition_label=(
            SPECIAL_CONDITION_LABELS[SpecialCondition(entry.special_condition)] if entry.special_condition else None
        ),
        subjects=tuple(entry.subjects or ()),
        retention=entry.retention,
        retention_days=entry.retention_days,
        retention_column=entry.retention_column,
        source_system=entry.source_system,
        controller=entry.controller,
        personal_columns=tuple(personal),
        special_columns=tuple(special),
        updated_at=entry.updated_at,
        updated_by=by.name if by else None,
    )


def show(platform: Platform, person: Person, dataset: str) -> CollectionRecord:
    """The entry of a dataset the person may know (not recorded yet: `recorded` False)."""
    ref = known_ref(platform, person, dataset)
    with platform.store.session() as s:
        entry = s.scalars(select(RegisterEntry).where(RegisterEntry.dataset_id == ref.id)).one_or_none()
        return _record(s, ref.id, ref.name, ref.domain, entry)


def register(
    platform: Platform,
    person: Person,
    *,
    legal_basis_filter: str | None = None,
    domain: str | None = None,
    missing_only: bool = False,
    limit: int = 10_000,
) -> list[CollectionRecord]:
    """Every entry, and every dataset holding personal data without one, that the person may know exists."""
    wanted = legal_basis(legal_basis_filter).value if legal_basis_filter else None
    with platform.store.session() as s:
        recorded = select(RegisterEntry.dataset_id)
        personal = select(Tag.dataset_id).where(Tag.column_name.is_not(None))
        q = (
            select(Dataset.id, Dataset.full_name, Domain.name)
            .join(Domain, Domain.id == Dataset.domain_id)
            .where(knowable(person), Dataset.id.in_(recorded) | Dataset.id.in_(personal))
            .order_by(Dataset.full_name)
        )
        if domain:
            q = q.where(Domain.name == domain.strip().lower())
        out = []
        for ds_id, name, dom in s.execute(q):
            entry = s.scalars(select(RegisterEntry).where(RegisterEntry.dataset_id == ds_id)).one_or_none()
            rec = _record(s, ds_id, name, dom, entry)
            if not rec.recorded and not rec.personal_columns:
                continue  # tagged, but nothing personal
            if wanted and rec.legal_basis != wanted:
                continue
            if missing_only and not rec.missing:
                continue
            out.append(rec)
            if len(out) >= limit:
                break
        return out


def history(platform: Platform, person: Person, dataset: str) -> list[RegisterChangeView]:
    """Changes to a dataset's entry, newest first."""
    ref = known_ref(platform, person, dataset)
    with platform.store.session() as s:
        rows = s.execute(
            select(RegisterChange, User.name)
            .outerjoin(User, User.id == RegisterChange.user_id)
            .where(RegisterChange.dataset_id == ref.id)
            .order_by(RegisterChange.changed_at.desc(), RegisterChange.id.desc())
        ).all()
        return [RegisterChangeView(c.changed_at, who, c.note, dict(c.changes)) for c, who in rows]


EXPORT_COLUMNS = (
    "dataset",
    "domain",
    "recorded",
    "purpose",
    "legal_basis",
    "legal_basis_label",
    "special_condition",
    "special_condition_label",
    "subjects",
    "retention",
    "retention_days",
    "retention_column",
    "source_system",
    "controller",
    "personal_columns",
    "special_columns",
    "updated_at",
    "updated_by",
    "missing",
)


def export(platform: Platform, person: Person, fmt: str = "csv", **filters: Any) -> str:
    """The register as CSV or JSON text (what the person may know; lists joined with '; ' in CSV)."""
    if fmt not in ("csv", "json"):
        raise InvalidInput("export format must be csv or json")
    rows = [r.to_json() for r in register(platform, person, **filters)]
    if fmt == "json":
        return json.dumps(rows, indent=2, default=str)
    buf = io.StringIO()
    w = csv.DictWriter(buf, EXPORT_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "; ".join(v) if isinstance(v, list) else ("" if v is None else v) for k, v in r.items()})
    return buf.getvalue()


# --- writing ---------------------------------------------------------------------------------------------


def parse(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Given fields checked and normalised; a field left out (None) is absent, "" clears a text one."""
    out: dict[str, Any] = {}
    unknown = sorted(set(values or {}) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"unknown register field {unknown[0]!r}; the fields are {', '.join(FIELDS)}")
    for key, value in (values or {}).items():
        if value is None:
            continue
        if key == "subjects":
            items = value.split(",") if isinstance(value, str) else list(value)
            subjects = [" ".join(str(v).split()) for v in items if str(v).strip()]
            if len(subjects) > 50 or any(len(v) > 100 for v in subjects):
                raise InvalidInput("subjects: at most 50 categories of at most 100 characters each")
            out[key] = subjects
            continue
        text = " ".join(str(value).split()) if key != "purpose" else str(value).strip()
        if len(text) > _MAX.get(key, 100):
            raise InvalidInput(f"{_WORDS[key]} is longer than {_MAX.get(key, 100)} characters")
        if not text:
            out[key] = None if key in ("legal_basis", "special_condition", "retention", "retention_column") else ""
        elif key == "legal_basis":
            out[key] = legal_basis(text).value
        elif key == "special_condition":
            out[key] = special_condition(text).value
        elif key == "retention":
            retention_days(text)
            out[key] = text.replace(" ", "").lower()
        elif key == "retention_column":
            out[key] = text.lower()
        else:
            out[key] = text
    return out


def _values(entry: RegisterEntry) -> dict[str, Any]:
    return {f: (list(entry.subjects or []) if f == "subjects" else getattr(entry, f)) for f in FIELDS}


def _apply(
    s: Session,
    ds: Dataset,
    entry: RegisterEntry | None,
    given: dict[str, Any],
    user_id: int | None,
    note: str,
    *,
    required: bool,
) -> RegisterEntry | None:
    """Merge `given` into the entry (made when missing), check it, record the change; None: nothing to record."""
    personal, special = personal_columns(s, ds.id)
    if entry is None and "purpose" not in given and ds.purpose:
        given = given | {"purpose": ds.purpose}  # a new entry starts from the purpose given with the share
    before = _values(entry) if entry is not None else dict.fromkeys(FIELDS)
    after = before | given
    if after.get("retention_column"):
        col = s.scalars(
            select(Column).where(Column.dataset_id == ds.id, Column.name == after["retention_column"])
        ).one_or_none()
        if col is None:
            raise InvalidInput(f"retention column {after['retention_column']!r} is not a column of {ds.full_name}")
        if col.type.upper() not in DATE_TYPES:
            raise InvalidInput(f"retention column {col.name!r} is {col.type.lower()}, not a date or timestamp")
    if required and personal:
        missing = [_WORDS[f] for f in REQUIRED if not after.get(f)]
        if special and not after.get("special_condition"):
            missing.append(f"{_WORDS['special_condition']} (special category: {', '.join(special[:5])})")
        if missing:
            raise InvalidInput(
                f"{ds.full_name} holds personal data ({', '.join(personal[:5])}): the collection register "
                f"needs {', '.join(missing)} before it is published"
            )
    changes = {f: [before.get(f), after.get(f)] for f in FIELDS if (before.get(f) or None) != (after.get(f) or None)}
    if not changes:
        return entry
    if entry is None:
        entry = RegisterEntry(dataset_id=ds.id)
        s.add(entry)
    for f in FIELDS:
        if f in given:
            setattr(entry, f, given[f])
    entry.retention_days = retention_days(entry.retention) if entry.retention else None
    entry.updated_by_id = user_id
    entry.updated_at = utcnow()
    s.add(RegisterChange(dataset_id=ds.id, user_id=user_id, changes=changes, note=note))
    s.flush()
    return entry


def record_at_share(
    platform: Platform, s: Session, ds: Dataset, user: Person, collection: Mapping[str, Any] | None
) -> None:
    """Inside the publishing transaction: record what the share gave; refuse (rolling the share back) when
    the organisation requires the register and a dataset holding personal data would lack a field."""
    given = parse(collection)
    if "purpose" not in given and ds.purpose:
        given["purpose"] = ds.purpose
    entry = s.scalars(select(RegisterEntry).where(RegisterEntry.dataset_id == ds.id)).one_or_none()
    required = platform.settings.compliance.register_required
    if not collection and entry is None and not (required and personal_columns(s, ds.id)[0]):
        return  # nothing given, and nothing required: no entry (a dataset without personal data needs none)
    if not collection and entry is not None:
        given = {}  # an append without register options keeps the entry as it is
    _apply(s, ds, entry, given, user.id, "recorded at share", required=required)


def set_record(platform: Platform, person: Person, dataset: str, **values: Any) -> CollectionRecord:
    """Change a dataset's entry (its owners, the governance group, administrators); each change is kept."""
    given = parse(values)
    with platform.store.session() as s:
        ref = dataset_ref(s, person, dataset)
        require(person, "compliance.register.edit", ref)
        ds = s.get(Dataset, ref.id)
        assert ds is not None
        entry = s.scalars(select(RegisterEntry).where(RegisterEntry.dataset_id == ds.id)).one_or_none()
        entry = _apply(
            s, ds, entry, given, person.id, "edited", required=platform.settings.compliance.register_required
        )
        return _record(s, ref.id, ref.name, ref.domain, entry)


def contract_properties(rec: CollectionRecord | None) -> list[dict[str, Any]]:
    """The collection register's entry as ODCS custom properties (camelCase names, lists as lists)."""
    if rec is None:
        return []
    values = {
        "collectionPurpose": rec.purpose,
        "legalBasis": rec.legal_basis_label,
        "specialCategoryCondition": rec.special_condition_label,
        "dataSubjects": list(rec.subjects),
        "retention": rec.retention,
        "retentionColumn": rec.retention_column,
        "sourceSystem": rec.source_system,
        "controller": rec.controller,
    }
    return [{"property": k, "value": v} for k, v in values.items() if v]
