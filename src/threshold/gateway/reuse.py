"""Results shown again: a result the gateway computed is reused only for readers of the same decision.

A saved question (an insight) is read by many people; running it in the engine for each page view would
cost a query each. Its result may be kept and shown again, but only under the key `read_key` returns:
the query, the snapshot each dataset is read at, and *this reader's decision* on each (allowed, which
columns are masked and how, which row filters apply, for which purpose). Two readers with equal keys get
equal results from the engine, so a masked reader never sees what an unmasked one computed.

`read_key` decides exactly as a query would (a refusal is recorded and raised as a query's is), without
running anything. `record_reuse` records a result shown again as a usage event with its decisions' audit
rows: reused or not, every read is governed, audited and counted.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from threshold.access.reading import Decision, decide
from threshold.errors import Denied, InvalidInput, ThresholdError
from threshold.gateway.columns import columns_read_cached
from threshold.gateway.fingerprint import fingerprint, strip_literals
from threshold.gateway.service import INTERFACES, _audit_rows, _mask_notes, _record_failure, _resolve
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.sql.check import check, render
from threshold.usage.service import KINDS, UsageRecord, record


@dataclass(frozen=True)
class ReadKey:
    """What a reader's read of a query would be, decided but not run."""

    digest: str
    """Equal for readers whose results would be equal (same query, snapshots and decisions)."""
    decision: str
    """As `digest`, snapshots left out: equal for readers who see the same rows of the same snapshots."""
    datasets: list[str]
    snapshots: dict[str, int | None]
    notes: list[str]
    """What the reader's decision does to the result: masked columns (and why), filtered rows."""
    purpose: str | None
    fingerprint: str = ""
    text: str = ""
    reads: list[tuple[int, list[str], int | None]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    """The dataset name of each of `reads`."""
    audit: list[Decision] = field(default_factory=list)
    columns_read: dict[str, list[str]] | None = None


def read_key(platform: Platform, sql: str, *, user: Person, purpose: str | None, interface: str) -> ReadKey:
    """Decide `user`'s read of `sql` as the gateway would; refused (and recorded) as a query would be."""
    started = time.perf_counter()
    purpose = (purpose or "").strip()[:200] or None
    checked = check(sql)
    original = checked.tree.copy()
    bound: dict[str, Any] = {}
    decisions: list[Decision] = []
    try:
        if interface not in INTERFACES:
            raise InvalidInput(f"unknown interface {interface!r}")
        with platform.store.session() as s:
            bound = _resolve(platform, s, checked, user)
            decisions = decide(platform, user, sorted(bound), purpose, session=s)
        denied = [d for d in decisions if not d.allowed]
        if denied:
            d = denied[0]
            raise Denied(f"{user.name} may not read {d.dataset} (rule {d.rule}): {d.reason}")
    except ThresholdError as e:
        _record_failure(platform, user, interface, purpose, original, bound, decisions, started, e)
        raise
    if purpose is None:
        inferred = {d.purpose for d in decisions if d.purpose}
        purpose = inferred.pop() if len(inferred) == 1 else None
    fp, text = fingerprint(strip_literals(original))
    schemas = {b.full_name: b.columns for b in bound.values()}
    read = columns_read_cached(fp, original, schemas) if schemas else {}
    by_name = {d.dataset: d for d in decisions}
    shape: list[Any] = [render(original), purpose]
    for name in sorted(bound):
        d = by_name[name]
        shape.append(
            [name, d.purpose, sorted((c.name, c.visible, c.mask or "") for c in d.columns), sorted(d.row_filters)]
        )
    if any(ref.time_travel is not None for ref in checked.references):
        shape.append(["reader", user.id])  # an old version is decided on its own tags: per reader
    decision = hashlib.sha256(json.dumps(shape, default=str).encode()).hexdigest()
    snapshots = {b.full_name: b.snapshot_id for b in bound.values()}
    digest = hashlib.sha256(json.dumps([decision, sorted(snapshots.items())]).encode()).hexdigest()
    reads = [
        (b.id, (read or {}).get(b.full_name, b.columns) if read is not None else b.columns, b.snapshot_id)
        for b in bound.values()
    ]
    return ReadKey(
        digest=digest,
        decision=decision,
        datasets=sorted(bound),
        snapshots=snapshots,
        notes=_mask_notes(decisions, read),
        purpose=purpose,
        fingerprint=fp,
        text=text,
        reads=reads,
        names=[b.full_name for b in bound.values()],
        audit=decisions,
        columns_read=read,
    )


def record_reuse(
    platform: Platform,
    key: ReadKey,
    *,
    user: Person,
    interface: str,
    rows: int,
    kind: str = "consumption",
    snapshots: dict[str, int | None] | None = None,
) -> int:
    """Record a result shown again to `user` as a governed read (usage event and audit rows); `snapshots`
    are those the result was computed on (default: the current ones)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of read {kind!r}")
    return record(
        platform,
        UsageRecord(
            user_id=user.id,
            interface=interface,
            purpose=key.purpose,
            fingerprint=key.fingerprint,
            query_text=key.text,
            rows=rows,
            duration_ms=0.0,
            status="ok",
            kind=kind,
            reads=[
                (d, cols, (snapshots or {}).get(name, snap))
                for (d, cols, snap), name in zip(key.reads, key.names, strict=True)
            ],
        ),
        audit=_audit_rows(user, key.purpose, list(key.audit), key.columns_read),
    )
