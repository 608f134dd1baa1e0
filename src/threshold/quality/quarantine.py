"""Quarantine: what a blocking check rejected is kept, for the dataset's owners, under `home/quarantine/`.

The shared file itself is copied (a frame shared from Python has no file: the Parquet the share wrote is
kept instead). Owners see the list, fetch a file, and may release it: share it again in the same mode
with the blocking checks judging but not blocking (failures then open incidents like any other).
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from threshold.access import DatasetRef, DomainRef, find_dataset, knows, may, no_dataset, written_by
from threshold.errors import Conflict, Denied, NotFound
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.quality.models import Quarantine
from threshold.store.models import Dataset, Domain, User

_released: ContextVar[frozenset[str]] = ContextVar("quality_released", default=frozenset())


@contextmanager
def releasing(full_name: str) -> Iterator[None]:
    """Within this block, blocking checks of `full_name` judge a share but do not reject it."""
    token = _released.set(_released.get() | {full_name})
    try:
        yield
    finally:
        _released.reset(token)


def is_released(full_name: str) -> bool:
    return full_name in _released.get()


def keep(
    platform: Platform,
    *,
    dataset_id: int,
    full_name: str,
    files: list[Path],
    name: str,
    user_id: int | None,
    mode: str,
    snapshot_id: int,
    reason: str,
    run_ids: list[int],
) -> int:
    """Copy the rejected file(s) into the quarantine and record them; returns the quarantine id."""
    domain, dataset = full_name.split(".", 1)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    folder = platform.settings.home_dir / "quarantine" / domain / dataset / f"{stamp}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True, exist_ok=True)
    size, digest = 0, hashlib.sha256()
    for f in files:
        dest = folder / (name if len(files) == 1 else f.name)
        shutil.copy2(f, dest)
        size += dest.stat().st_size
        with open(dest, "rb") as fh:
            while chunk := fh.read(4 * 1024 * 1024):
                digest.update(chunk)
    with platform.store.session() as s:
        row = Quarantine(
            dataset_id=dataset_id,
            path=str(folder.relative_to(platform.settings.home_dir)),
            file_name=name[:500],
            size_bytes=size,
            sha256=digest.hexdigest(),
            mode=mode,
            snapshot_id=snapshot_id,
            user_id=user_id,
            reason=reason[:10_000],
            run_ids=run_ids,
            status="held",
        )
        s.add(row)
        s.flush()
        return row.id


def files_of(platform: Platform, q: Quarantine) -> list[Path]:
    return sorted(p for p in (platform.settings.home_dir / q.path).iterdir() if p.is_file())


def _may_manage(s: Any, person: Person, dataset: Dataset, missing: str) -> None:
    """`dataset.write`: members of the dataset's domain see its quarantine; `missing`: the refusal for a
    dataset the person may not know exists (the same as for nothing at all)."""
    ref = DatasetRef.of(dataset)
    if not knows(person, ref):
        raise NotFound(missing)
    answer = may(person, "dataset.write", ref)
    if not answer:
        raise Denied(
            f"{person.name} may not see {dataset.full_name}'s quarantine: only members of {ref.domain} or an admin "
            f"can (rule: {answer.rule})"
        )


@dataclass(frozen=True)
class QuarantinedFile:
    """A file blocking checks rejected, kept for the owners (its JSON form: `to_json`, the API's keys)."""

    id: int
    dataset: str
    file: str
    size_bytes: int
    sha256: str | None
    mode: str
    """The share mode that was refused (`append`, `replace` …), and that a release uses."""
    snapshot_id: int | None
    by: str | None
    at: str | None
    reason: str
    runs: list[int]
    """The check runs that rejected it."""
    status: str
    """`held` or `released`."""
    released_at: str | None
    path: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Released:
    """A quarantined file shared anyway: the snapshot it made."""

    id: int
    dataset: str
    snapshot_id: int | None
    rows_added: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def listing(platform: Platform, person: Person, full_name: str | None = None) -> list[QuarantinedFile]:
    """Quarantined files of one dataset, or of every dataset `person` may manage."""
    with platform.store.session() as s:
        q = (
            select(Quarantine, Dataset.full_name, User.name)
            .join(Dataset, Dataset.id == Quarantine.dataset_id)
            .join(Domain, Domain.id == Dataset.domain_id)
            .outerjoin(User, User.id == Quarantine.user_id)
            .order_by(Quarantine.id.desc())
        )
        if full_name is not None:
            ds = find_dataset(s, person, full_name)
            _may_manage(s, person, ds, str(no_dataset(full_name)))
            q = q.where(Quarantine.dataset_id == ds.id)
        else:
            q = q.where(written_by(person))
        return [_row(platform, r, name, by) for r, name, by in s.execute(q.limit(500))]


def _row(platform: Platform, q: Quarantine, dataset: str, by: str | None) -> QuarantinedFile:
    return QuarantinedFile(
        id=q.id,
        dataset=dataset,
        file=q.file_name,
        size_bytes=q.size_bytes,
        sha256=q.sha256,
        mode=q.mode,
        snapshot_id=q.snapshot_id,
        by=by,
        at=_iso(q.at),
        reason=q.reason,
        runs=q.run_ids,
        status=q.status,
        released_at=_iso(q.released_at),
        path=str(platform.settings.home_dir / q.path),
    )


def get(platform: Platform, person: Person, quarantine_id: int) -> tuple[QuarantinedFile, list[Path]]:
    with platform.store.session() as s:
        q = s.get(Quarantine, quarantine_id)
        ds = s.get(Dataset, q.dataset_id) if q else None
        if q is None or ds is None:
            raise NotFound(f"nothing in quarantine with id {quarantine_id}")
        _may_manage(s, person, ds, f"nothing in quarantine with id {quarantine_id}")
        by = s.scalar(select(User.name).where(User.id == q.user_id)) if q.user_id else None
        return _row(platform, q, ds.full_name, by), files_of(platform, q)


def release(platform: Platform, person: Person, quarantine_id: int) -> Released:
    """Share the kept file again, in the mode that was refused, accepting its failures (owners only)."""
    from threshold.sharing.service import share

    with platform.store.session() as s:
        q = s.get(Quarantine, quarantine_id)
        ds = s.get(Dataset, q.dataset_id) if q else None
        if q is None or ds is None or not knows(person, DatasetRef.of(ds)):
            raise NotFound(f"nothing in quarantine with id {quarantine_id}")
        domain = s.get(Domain, ds.domain_id)
        assert domain is not None
        answer = may(person, "domain.own", DomainRef(domain.name))
        if not answer:
            raise Denied(
                f"{person.name} may not release {ds.full_name}'s quarantine: only owners of "
                f"{domain.name} or an admin can (rule: {answer.rule})"
            )
        if q.status != "held":
            raise Conflict(f"quarantine #{quarantine_id} was {q.status} already")
        full_name, name, mode = ds.full_name, ds.name, q.mode
        files = files_of(platform, q)
    if len(files) != 1:
        raise Conflict(f"quarantine #{quarantine_id} holds {len(files)} files; share them by hand")
    with releasing(full_name):
        results = share(platform, files[0], domain=domain.name, user=person, name=name, mode=mode)
    with platform.store.session() as s:
        row = s.get(Quarantine, quarantine_id)
        assert row is not None
        row.status, row.released_at, row.released_by_id = "released", datetime.now(UTC), person.id
    r = results[0]
    return Released(id=quarantine_id, dataset=r.dataset, snapshot_id=r.snapshot_id, rows_added=r.rows_added)


def _iso(d: datetime | None) -> str | None:
    if d is None:
        return None
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).isoformat(timespec="seconds")
