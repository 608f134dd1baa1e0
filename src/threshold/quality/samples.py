"""Failing-row samples as a viewer may see them.

A run stores its sample as the check's author may see the dataset (their masks and row filters, the
guardrail judged against where values come from: `runner.record`), never more. Who will look at it later is
not known when the check runs, so every time a sample is shown, the VIEWER's decision for the dataset
(`access.reading.decide`) is applied to it, in a private in-memory DuckDB (one per process, without file or
network access, a cursor of its own per sample), with exactly the SQL the gateway
uses for the viewer's view: the same masks (redact, hash with the scope's key, partial, year, null) and the
same row filters. So a sample never shows more than the viewer could query.

- A viewer who may not read the dataset sees no rows (and is told why).
- Columns are those of the dataset now: a sampled column the dataset no longer has is left out (its
  classification is unknown now), a column it gained reads empty.
- A custom SQL check's rows are whatever its query computed (an expression may carry a protected value
  under another name), so they are shown only to viewers who read the dataset with no mask and no filter.
"""

from __future__ import annotations

import os
import threading
from datetime import date, datetime
from typing import Any

import duckdb
import pyarrow as pa

from threshold.identity.service import Person
from threshold.lake import _quote_ident
from threshold.platform import Platform
from threshold.quality.results import ViewerSample

_SCALAR_PREFIXES = ("STRUCT", "MAP", "UNION")


def for_viewer(
    platform: Platform,
    viewer: Person,
    dataset: str,
    sample: dict[str, Any] | None,
    *,
    kind: str,
    purpose: str | None = None,
    decisions: dict[str, Any] | None = None,
) -> ViewerSample:
    """The sample as `viewer` may see it (none, with why, when they may not).

    `decisions`: a dict kept by the caller across samples of one page, so the viewer is decided once."""
    from threshold.access.reading import decide, mask_secret

    if not sample or not sample.get("rows"):
        return _hidden(None)
    cache = decisions if decisions is not None else {}
    if dataset not in cache:
        found = decide(platform, viewer, [dataset], purpose)
        cache[dataset] = found[0] if found else None
    d = cache[dataset]
    if d is None:
        return _hidden(f"{dataset} is gone")
    if not d.allowed:
        return _hidden(f"you may not read {dataset} (rule {d.rule}): {d.reason}")
    names = [c["name"] for c in sample["columns"]]
    if kind == "sql":
        if d.masks or d.row_filters:
            return _hidden("a custom query's failing rows are shown only to people who read the dataset unmasked")
        return ViewerSample(columns=sample["columns"], rows=sample["rows"], masked={}, hidden=None, filtered=0)
    raw = pa.table({f"c{i}": pa.array([r[i] for r in sample["rows"]], pa.string()) for i in range(len(names))})
    position = {n: i for i, n in enumerate(names)}
    selects = []
    for c in d.columns:
        i = position.get(c.name)
        if i is None:
            selects.append(f"CAST(NULL AS {c.type}) AS {_quote_ident(c.name)}")
        elif _is_scalar(c.type):
            selects.append(f"TRY_CAST(c{i} AS {c.type}) AS {_quote_ident(c.name)}")
        else:  # nested values were stored as text; masks still apply by the column's type
            selects.append(f"c{i} AS {_quote_ident(c.name)}")
    relation = f"SELECT {', '.join(selects)} FROM sample_raw"
    con = _private_cursor()
    try:
        con.register("sample_raw", raw)
        viewed = con.sql(d.view_sql(relation, mask_secret(platform))).to_arrow_table()
    except duckdb.Error:
        return _hidden("the sample no longer fits the dataset's columns")
    finally:
        con.close()
    rows = [[as_text(v) for v in row.values()] for row in viewed.to_pylist()]
    return ViewerSample(
        columns=[{"name": c.name, "type": c.type} for c in d.columns],
        rows=rows,
        masked={c.name: c.why for c in d.columns if c.mask},
        hidden=None,
        filtered=len(sample["rows"]) - len(rows),
    )


_PRIVATE: dict[str, str | bool | int | float | list[str]] = {
    "python_enable_replacements": False,
    "enable_external_access": False,
    "lock_configuration": True,
}
"""The samples' own in-memory DuckDB: no file, no network, no Python variable can be named, and no query can
change that (the configuration is locked when it opens)."""
_private: tuple[int, duckdb.DuckDBPyConnection] | None = None
_private_lock = threading.Lock()


def _private_cursor() -> duckdb.DuckDBPyConnection:
    """A cursor of this process's private DuckDB for samples: opening a database costs tens of milliseconds
    (once per sample shown, before), a cursor a fraction of one. A cursor's registered table is its own, so
    two samples shown at once never see each other's rows; the caller closes it."""
    global _private
    with _private_lock:
        if _private is None or _private[0] != os.getpid():
            _private = (os.getpid(), duckdb.connect(":memory:", config=_PRIVATE))
        return _private[1].cursor()


def _hidden(why: str | None) -> ViewerSample:
    """No rows to show (`why`: the reason, None when there were none)."""
    return ViewerSample(columns=[], rows=[], masked={}, hidden=why, filtered=0)


def as_text(v: Any) -> str | None:
    """A sampled value as text, as samples are stored (None stays None)."""
    if v is None:
        return None
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.15g}"
    return str(v)


def _is_scalar(typ: str) -> bool:
    upper = typ.upper()
    return not upper.endswith("]") and not upper.startswith(_SCALAR_PREFIXES)
