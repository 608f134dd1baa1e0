"""Erasure of data subjects: plan (what will be removed), erase (delete, expire, remove files), verify, certify.

Per table, under its writer lock and the home's deletion lock (a running backup is never cut short):
1. one pyiceberg transaction deletes the rows (copy-on-write: files holding them are rewritten without
   them) and ends with an empty append, so the published snapshot's manifests no longer list the removed
   files (a manifest of removed files keeps their column bounds); the snapshot is published in the
   metadata store over the one it was built on;
2. every other snapshot is expired and every file no snapshot references is removed (the one expiry,
   `operations.maintenance.expire_snapshots`); time travel to before the erasure is no longer possible,
   and the dataset's history says why (`erasure <certificate id>`).
Tables are erased one after the other; the certificate is updated after each, so an erasure stopped
half-way says which tables are erased and which remain. Then `verify` decodes everything left.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from pyiceberg.expressions import AlwaysFalse
from sqlalchemy import select

from threshold import cleanup, locks
from threshold.access import require
from threshold.erasure import verify
from threshold.erasure.locate import Place, count, find, predicate
from threshold.erasure.models import ErasureCertificate
from threshold.erasure.subjects import Subject, parse
from threshold.errors import Conflict, InvalidInput, NotFound, ThresholdError
from threshold.identity.service import Person
from threshold.operations import record
from threshold.operations.maintenance import expire_snapshots
from threshold.platform import Platform
from threshold.store.models import Dataset, User


@dataclass
class PlanItem:
    dataset: str
    columns: list[str]
    via: str
    """`tag` (its columns carry the tag), `lineage` (derived: column lineage) or `same type` (derived, no
    column lineage: every column of the tagged column's type was searched)."""
    rows: int
    total_rows: int
    snapshot_id: int | None
    in_history: bool = False
    """An earlier snapshot still holds the subject (the rows were replaced since): it will be expired."""


@dataclass
class Plan:
    subjects: list[str]
    """The tags asked for (never the values)."""
    items: list[PlanItem]
    """Every dataset searched; those with rows > 0 will be erased."""
    token: str
    """Confirms this plan: an erasure run with it refuses when what it would remove changed since."""

    @property
    def to_erase(self) -> list[PlanItem]:
        return [i for i in self.items if i.rows or i.in_history]

    @property
    def rows(self) -> int:
        return sum(i.rows for i in self.items)


@dataclass
class TableResult:
    dataset: str
    columns: list[str]
    rows_removed: int = 0
    snapshot_before: int | None = None
    snapshot_after: int | None = None
    expired: list[str] = field(default_factory=list)
    bytes_rewritten: int = 0
    files_removed: int = 0
    bytes_removed: int = 0
    done: bool = False


@dataclass
class Certificate:
    id: int
    status: str
    reason: str
    requested_by: str | None
    started_at: str
    finished_at: str | None
    subjects: list[dict[str, str]]
    """[{tag, hash}]: HMAC-SHA256 of `tag=value` under the home's erasure key."""
    searched: list[dict[str, Any]]
    tables: list[dict[str, Any]]
    verification: dict[str, Any]
    error: str | None

    @property
    def remaining(self) -> list[str]:
        return [t["dataset"] for t in self.tables if not t.get("done")]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"remaining": self.remaining}


def _token(platform: Platform, subjects: list[Subject], places: list[Place]) -> str:
    body = json.dumps(
        [
            [s.keyed(platform.settings) for s in subjects],
            [[p.dataset, p.snapshot_id, p.rows, p.in_history] for p in places],
        ]
    )
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def _places(platform: Platform, person: Person, texts: list[str]) -> tuple[list[Subject], list[Place]]:
    require(person, "subject.erase")
    subjects = parse(texts)
    return subjects, find(platform, subjects)


def plan(platform: Platform, person: Person, texts: list[str]) -> Plan:
    """What an erasure of the subjects `TAG=VALUE` would remove (a dry run: nothing changes)."""
    subjects, places = _places(platform, person, texts)
    return _plan_of(platform, subjects, places)


def _plan_of(platform: Platform, subjects: list[Subject], places: list[Place]) -> Plan:
    return Plan(
        [s.tag for s in subjects],
        [
            PlanItem(p.dataset, p.column_names(), p.via, p.rows, p.total_rows, p.snapshot_id, p.in_history)
            for p in places
        ],
        _token(platform, subjects, places),
    )


Fault = Callable[[str], None]
"""Called before each table is erased (tests inject a failure between tables)."""


def erase(
    platform: Platform,
    person: Person,
    texts: list[str],
    *,
    reason: str,
    confirm: str | None = None,
    before_table: Fault | None = None,
) -> Certificate:
    """Erase the subjects everywhere the plan found them, verify, and return the certificate.

    `confirm`: the token of the plan the person saw; refused when the plan changed since. Raises when a value
    remains somewhere it cannot be removed (the certificate, status `failed`, says where) or when a table
    could not be erased (status `incomplete`: the tables already erased stay erased)."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("say why: an erasure needs a reason (e.g. the request's reference)")
    if len(reason) > 2000:
        raise InvalidInput("the reason is at most 2000 characters")
    subjects, places = _places(platform, person, texts)
    current = _plan_of(platform, subjects, places)
    if confirm is not None and confirm != current.token:
        raise Conflict("what the erasure would remove changed since the plan was shown; plan it again")
    targets = [p for p in places if p.holds]
    results = [TableResult(p.dataset, p.column_names(), snapshot_before=p.snapshot_id) for p in targets]
    with platform.store.session() as s:
        cert = ErasureCertificate(
            requested_by_id=person.id,
            reason=reason,
            status="running",
            subjects=[{"tag": sub.tag, "hash": sub.keyed(platform.settings)} for sub in subjects],
            searched=[asdict(i) for i in current.items],
            tables=[asdict(r) for r in results],
            verification={},
        )
        s.add(cert)
        s.flush()
        cert_id = int(cert.id)
    for place, result in zip(targets, results, strict=True):
        try:
            if before_table is not None:
                before_table(place.dataset)
            _erase_table(platform, person, subjects, place, result, cert_id)
        except (ThresholdError, OSError) as e:
            _update(platform, cert_id, results, status="incomplete", error=f"stopped at {place.dataset}: {e}")
            remaining = ", ".join(r.dataset for r in results if not r.done)
            raise ThresholdError(
                f"erasure {cert_id} stopped at {place.dataset}: {e}; tables already erased stay erased, "
                f"still to erase: {remaining} (certificate {cert_id})"
            ) from e
        _update(platform, cert_id, results, status="running")
    checked = verify.Verification()
    verify.scrub_copies(platform, subjects, {p.dataset_id for p in places}, checked)
    for place in places:
        verify.lake_table(platform, place.dataset, platform.lake.load(place.dataset), subjects, checked)
    verify.elsewhere(platform, subjects, {p.dataset_id for p in places}, checked)
    status = "failed" if checked.found else "completed"
    error = f"a value remains in: {'; '.join(checked.found[:20])}" if checked.found else None
    _update(platform, cert_id, results, status=status, error=error, verification=checked.as_dict())
    if checked.found:
        raise ThresholdError(f"erasure {cert_id} could not be verified: {error}")
    return certificate(platform, person, cert_id)


def _erase_table(
    platform: Platform, person: Person, subjects: list[Subject], place: Place, result: TableResult, cert_id: int
) -> None:
    ident = place.dataset
    with locks.dataset_lock(platform, ident), locks.deletions(platform):
        cleanup.sweep_dataset(platform, ident, locked=True, orphans=False)
        with platform.store.session() as s:
            ds = s.scalars(select(Dataset).where(Dataset.full_name == ident)).one()
            before, rows_before = ds.snapshot_id, int(ds.row_count)
        place.snapshot_id = before
        count(platform, subjects, place)  # as published now, under the lock
        lake = platform.lake
        table = lake.load(ident)
        expr = predicate(table, subjects, place)
        result.snapshot_before = before
        if not place.holds:  # erased meanwhile (another erasure of the same subject): nothing to expire
            result.snapshot_after, result.done = before, True
            return
        if place.rows and not isinstance(expr, AlwaysFalse):
            props = {"threshold.user": person.name, "threshold.mode": "erasure", "threshold.erasure": str(cert_id)}
            tx = table.transaction()
            known = {snap.snapshot_id for snap in table.snapshots()}
            try:
                with lake.writing(ident), warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # pyiceberg warns when a delete matched nothing
                    tx.delete(expr, snapshot_properties=props)
                    # An empty append drops the manifest that lists the removed files (with their bounds).
                    with tx.update_snapshot(snapshot_properties=props).fast_append():
                        pass
                    tx.commit_transaction()
                table = table.refresh()
                after = table.current_snapshot()
                assert after is not None
                for snap in table.snapshots():
                    if snap.snapshot_id not in known and snap.summary is not None:
                        result.bytes_rewritten += int(snap.summary.additional_properties.get("added-files-size", 0))
                total = after.summary.additional_properties if after.summary else {}
                rows_after = int(total.get("total-records", rows_before - place.rows))
                record.publish(
                    platform,
                    person,
                    ident,
                    kind="erasure",
                    snapshot_id=after.snapshot_id,
                    previous=before,
                    rows_before=rows_before,
                    rows_after=rows_after,
                    size_bytes=int(total.get("total-files-size", 0)) or None,
                    detail={
                        "summary": f"erasure {cert_id}",
                        "certificate": cert_id,
                        "rows_removed": rows_before - rows_after,
                    },
                )
            except BaseException:
                cleanup.discard_failed(platform, ident, [])
                raise
            result.rows_removed = rows_before - rows_after
            result.snapshot_after = after.snapshot_id
        else:
            result.snapshot_after = before
        table = lake.load(ident)
        current = table.current_snapshot()
        doomed = sorted(
            snap.snapshot_id for snap in table.snapshots() if current and snap.snapshot_id != current.snapshot_id
        )
        if doomed:
            result.files_removed, result.bytes_removed = expire_snapshots(platform, ident, table, doomed)
            result.expired = [str(i) for i in doomed]
        table = lake.load(ident)
        referenced = {p.resolve() for p in _referenced(platform, table)}
        for path in cleanup_unreferenced(platform, ident, referenced):
            result.files_removed += 1
            result.bytes_removed += path[1]
        lake.forget(ident)
        result.done = True


def _referenced(platform: Platform, table: Any) -> set[Any]:
    from threshold.lakefiles import inventory

    return inventory(platform.lake, table).paths()


def cleanup_unreferenced(platform: Platform, ident: str, referenced: set[Any]) -> list[tuple[Any, int]]:
    """Remove every file in the table's folder no snapshot references (we hold its writer lock: no write is
    in flight, so none of them is a file about to be committed). Returns (path, size) of each."""
    from threshold.lakefiles import held_files

    gone = []
    for path in held_files(platform.lake, ident):
        if path.resolve() in referenced:
            continue
        st = platform.lake.files.stat(path)
        if st is None:
            continue
        platform.lake.files.remove(path)
        gone.append((path, st[0]))
    return gone


def _update(
    platform: Platform,
    cert_id: int,
    results: list[TableResult],
    *,
    status: str,
    error: str | None = None,
    verification: dict[str, Any] | None = None,
) -> None:
    with platform.store.session() as s:
        cert = s.get(ErasureCertificate, cert_id)
        assert cert is not None
        cert.tables = [asdict(r) for r in results]
        cert.status = status
        cert.error = error
        if verification is not None:
            cert.verification = verification
        if status != "running":
            cert.finished_at = datetime.now(UTC)


def _view(cert: ErasureCertificate, who: str | None) -> Certificate:
    return Certificate(
        id=int(cert.id),
        status=cert.status,
        reason=cert.reason,
        requested_by=who,
        started_at=_iso(cert.started_at),
        finished_at=_iso(cert.finished_at) if cert.finished_at else None,
        subjects=list(cert.subjects),
        searched=list(cert.searched),
        tables=list(cert.tables),
        verification=dict(cert.verification),
        error=cert.error,
    )


def _iso(d: datetime) -> str:
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).isoformat(timespec="seconds")


def certificate(platform: Platform, person: Person, cert_id: int) -> Certificate:
    require(person, "subject.erase")
    with platform.store.session() as s:
        row = s.execute(
            select(ErasureCertificate, User.name)
            .outerjoin(User, User.id == ErasureCertificate.requested_by_id)
            .where(ErasureCertificate.id == cert_id)
        ).one_or_none()
        if row is None:
            raise NotFound(f"no erasure certificate {cert_id}")
        return _view(row[0], row[1])


def certificates(platform: Platform, person: Person, *, limit: int = 200) -> list[Certificate]:
    """Newest first."""
    require(person, "subject.erase")
    with platform.store.session() as s:
        rows = s.execute(
            select(ErasureCertificate, User.name)
            .outerjoin(User, User.id == ErasureCertificate.requested_by_id)
            .order_by(ErasureCertificate.id.desc())
            .limit(max(1, min(limit, 1000)))
        ).all()
        return [_view(c, who) for c, who in rows]


def matches(platform: Platform, person: Person, cert_id: int, text: str) -> bool:
    """Whether the certificate is about the subject `TAG=VALUE` (its keyed hash is among the certificate's)."""
    cert = certificate(platform, person, cert_id)
    subject = parse([text])[0]
    return any(s["tag"] == subject.tag and s["hash"] == subject.keyed(platform.settings) for s in cert.subjects)
