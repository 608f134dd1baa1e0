"""Proof that a subject's values are gone: decode what remains, never a byte search of compressed files.

- Lake tables: every file left in the table's folder is decoded as what it is: Parquet data files with
  pyarrow (every column whose type can hold the value), manifest lists and manifests with pyiceberg's Avro
  readers (each data file's column lower/upper bounds decoded by the column's type), the table metadata
  JSON parsed. A file of any other kind left in the folder is a finding.
- Elsewhere: failing-row samples of quality checks, kept insight results (Arrow IPC, decoded), column
  profiles (min, max, top values), usage events (query text with literals stripped, error messages) and
  audit entries (which must never hold values).
A finding names the place; the erasure then fails loudly with the list.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.conversions import from_bytes
from pyiceberg.table import Table
from pyiceberg.types import IcebergType, PrimitiveType
from sqlalchemy import select

from threshold.erasure.subjects import Subject
from threshold.erasure.values import tables_hold, typed
from threshold.lakefiles import held_files, inventory, manifest_entries, manifest_list
from threshold.platform import Platform


@dataclass
class Verification:
    checked: list[str] = field(default_factory=list)
    """What was decoded and searched, one line each."""
    found: list[str] = field(default_factory=list)
    """Where a value was still found (empty: verified)."""
    cleared: list[str] = field(default_factory=list)
    """Copies outside the lake that held a value and were removed by the erasure."""

    def as_dict(self) -> dict[str, list[str]]:
        return {"checked": self.checked, "found": self.found, "cleared": self.cleared}


def lake_table(platform: Platform, ident: str, table: Table, subjects: list[Subject], out: Verification) -> None:
    """Decode every file left in `ident`'s folder and note where a subject's value remains."""
    lake = platform.lake
    inv = inventory(lake, table)
    manifests_seen: set[str] = set()
    types: dict[int, IcebergType] = {}
    for schema in table.schemas().values():
        for f in schema.fields:
            types.setdefault(f.field_id, f.field_type)
    n_entries = 0
    for snapshot in table.metadata.snapshots:
        for manifest in manifest_list(table.io, snapshot.manifest_list):
            for summary in manifest.partitions or []:
                for bound in (summary.lower_bound, summary.upper_bound):
                    if bound is not None and any(sub.value.encode() == bytes(bound) for sub in subjects):
                        out.found.append(f"{ident}: manifest list {Path(snapshot.manifest_list).name} partition bound")
            if manifest.manifest_path in manifests_seen:
                continue
            manifests_seen.add(manifest.manifest_path)
            for entry in manifest_entries(table.io, manifest):
                n_entries += 1
                df = entry.data_file
                for kind, bounds in (("lower", df.lower_bounds or {}), ("upper", df.upper_bounds or {})):
                    for field_id, raw in bounds.items():
                        t = types.get(field_id)
                        if not isinstance(t, PrimitiveType):
                            continue
                        try:
                            decoded = from_bytes(t, raw)
                        except (ValueError, TypeError, UnicodeDecodeError):
                            continue
                        for sub in subjects:
                            if decoded == typed(sub.value, t) and decoded is not None:
                                out.found.append(
                                    f"{ident}: manifest {Path(manifest.manifest_path).name}: {kind} bound of "
                                    f"field {field_id} ({Path(df.file_path).name}, {entry.status.name.lower()} entry)"
                                )
    referenced = inv.paths()
    data = metadata = 0
    for path in sorted(held_files(lake, ident)):
        if path.suffix == ".parquet":
            data += 1
            try:
                with lake.files.pin([path]):  # kept from the cache's bound while it is decoded
                    decoded_table = pq.read_table(lake.files.fetch(path))
            except (OSError, pa.ArrowException) as e:
                out.found.append(f"{ident}: data file {path.name} cannot be decoded ({str(e)[:80]})")
                continue
            for column, _sub in tables_hold(decoded_table, subjects):
                out.found.append(f"{ident}: data file {path.name}, column {column}")
        elif path.name.endswith(".metadata.json"):
            metadata += 1
            text = json.dumps(json.loads(lake.files.fetch(path).read_text(encoding="utf-8")))
            if any(_mentions(text, sub.value) for sub in subjects):
                out.found.append(f"{ident}: table metadata {path.name}")
        elif path.suffix == ".avro" and path in referenced:
            continue  # decoded above as a manifest list or manifest
        else:
            out.found.append(f"{ident}: a file no snapshot references remains: {path.name}")
    out.checked.append(
        f"{ident}: {data} data files (pyarrow, every column), {len(manifests_seen)} manifests with "
        f"{n_entries} entries and {len(table.metadata.snapshots)} manifest lists (pyiceberg, column bounds), "
        f"{metadata} metadata files"
    )


def _mentions(text: str, value: str) -> bool:
    """`value` as a whole token of `text` (a short number inside a longer one is not a mention)."""
    return re.search(r"(?<![\w.@-])" + re.escape(value) + r"(?![\w@-])", text) is not None


def scrub_copies(platform: Platform, subjects: list[Subject], dataset_ids: set[int], out: Verification) -> None:
    """Remove the values from copies kept outside the lake: failing-row samples, kept insight results and
    column profiles. A kept result holding a value is dropped (the next reader computes it again)."""
    from threshold.insights.models import InsightResult
    from threshold.insights.results import _table
    from threshold.quality.models import CheckRun
    from threshold.store.models import Column, Dataset

    texts = {sub.value for sub in subjects}
    with platform.store.session() as s:
        for run in s.scalars(select(CheckRun).where(CheckRun.sample.is_not(None))):
            sample = run.sample or {}
            rows = sample.get("rows") or []
            kept = [r for r in rows if not any(str(v) in texts for v in r if v is not None)]
            if len(kept) != len(rows):
                run.sample = {**sample, "rows": kept}
                out.cleared.append(f"quality check run {run.id}: {len(rows) - len(kept)} failing-row sample rows")
        for result in s.scalars(select(InsightResult)):
            if tables_hold(_table(result.arrow), subjects):
                out.cleared.append(f"kept result of insight {result.insight_id} (version {result.version})")
                s.delete(result)
        names = dict(s.execute(select(Dataset.id, Dataset.full_name).where(Dataset.id.in_(sorted(dataset_ids)))).all())
        for col in s.scalars(select(Column).where(Column.dataset_id.in_(sorted(dataset_ids)))):
            changed = False
            if col.min_value in texts:
                col.min_value, changed = None, True
            if col.max_value in texts:
                col.max_value, changed = None, True
            top = [tv for tv in (col.top_values or []) if not (tv and str(tv[0]) in texts)]
            if len(top) != len(col.top_values or []):
                col.top_values, changed = top, True
            if changed:
                out.cleared.append(f"profile of column {names.get(col.dataset_id, col.dataset_id)}.{col.name}")


def elsewhere(platform: Platform, subjects: list[Subject], erased: set[int], out: Verification) -> None:
    """Search every copy outside the lake: samples, kept results, profiles, usage and audit records
    (`erased`: the ids of the datasets the erasure searched)."""
    from threshold.insights.models import InsightResult
    from threshold.insights.results import _table
    from threshold.quality.models import CheckRun
    from threshold.store.models import AuditEntry, Column, Dataset, UsageEvent

    texts = {sub.value for sub in subjects}
    counts = dict.fromkeys(("samples", "results", "profiles", "usage", "audit"), 0)
    with platform.store.session() as s:
        for run_id, sample in s.execute(select(CheckRun.id, CheckRun.sample)):
            counts["samples"] += 1
            if any(str(v) in texts for r in (sample or {}).get("rows") or [] for v in r if v is not None):
                out.found.append(f"quality check run {run_id}: failing-row sample")
        for key, insight_id, blob in s.execute(
            select(InsightResult.key, InsightResult.insight_id, InsightResult.arrow)
        ):
            counts["results"] += 1
            if tables_hold(_table(blob), subjects):
                out.found.append(f"kept result {key[:12]} of insight {insight_id}")
        for ds_id, dataset, name, lo, hi, top in s.execute(
            select(
                Column.dataset_id, Dataset.full_name, Column.name, Column.min_value, Column.max_value, Column.top_values
            ).join(Dataset, Dataset.id == Column.dataset_id)
        ):
            counts["profiles"] += 1
            if lo in texts or hi in texts or any(tv and str(tv[0]) in texts for tv in top or []):
                hint = "" if ds_id in erased else " (no tag or lineage led there: tag the column and erase again)"
                out.found.append(f"profile of column {dataset}.{name}{hint}")
        for event_id, text, error in s.execute(select(UsageEvent.id, UsageEvent.query_text, UsageEvent.error)):
            counts["usage"] += 1
            if any(_mentions(f"{text or ''}\n{error or ''}", v) for v in texts):
                out.found.append(f"usage event {event_id} (query text or error message)")
        for entry_id, detail in s.execute(select(AuditEntry.id, AuditEntry.detail)):
            counts["audit"] += 1
            if any(_mentions(json.dumps(detail or {}, ensure_ascii=False), v) for v in texts):
                out.found.append(f"audit entry {entry_id}")
    out.checked.append(
        f"{counts['samples']} failing-row samples, {counts['results']} kept insight results (Arrow, decoded), "
        f"{counts['profiles']} column profiles, {counts['usage']} usage events, {counts['audit']} audit entries"
    )
    out.checked.append(
        "engine caches: the lake's read plans of erased tables dropped; prepared reads hold plans, not values, "
        "and are invalidated by the metadata change; exports are streamed, none is kept on the server"
    )
