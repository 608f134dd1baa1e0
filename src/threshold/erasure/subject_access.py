"""The subject access report: everything held about one data subject across the lake, for the subject.

For each dataset where the subject was found (tagged columns, and datasets derived from them): the columns
searched, how many rows hold the subject and the rows themselves (it is the subject's own data), the purpose
recorded when it was shared, and the legal basis when the collection register has registered its lookup
(`legal_basis`). Exported as JSON or CSV.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from threshold.access import require
from threshold.erasure.legal_basis import legal_basis
from threshold.erasure.locate import find, predicate
from threshold.erasure.subjects import parse
from threshold.identity.service import Person
from threshold.platform import Platform
from threshold.store.models import Dataset

NOT_RECORDED = "not recorded"


@dataclass
class Holding:
    dataset: str
    columns: list[str]
    via: str
    rows: int
    purpose: str
    """Why the data was collected, as recorded when it was shared."""
    legal_basis: str
    values: list[dict[str, Any]] = field(default_factory=list)
    """The rows themselves (at most `ErasureSettings.report_rows`)."""
    truncated: bool = False


@dataclass
class Report:
    subjects: list[str]
    """The tags asked for."""
    generated_at: str
    datasets_searched: int
    holdings: list[Holding]

    def as_json(self) -> str:
        return json.dumps(asdict(self), default=str, ensure_ascii=False, indent=2)

    def as_csv(self) -> str:
        """One line per value held: dataset, purpose, legal basis, row number, column, value."""
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["dataset", "purpose", "legal_basis", "row", "column", "value"])
        for h in self.holdings:
            for n, row in enumerate(h.values, start=1):
                for column, value in row.items():
                    w.writerow([h.dataset, h.purpose, h.legal_basis, n, column, "" if value is None else str(value)])
        return out.getvalue()


def report(platform: Platform, person: Person, texts: list[str]) -> Report:
    """Everything held about the subjects `TAG=VALUE` (the governance group)."""
    require(person, "subject.access")
    subjects = parse(texts)
    places = find(platform, subjects)
    cap = platform.settings.erasure.report_rows
    holdings = []
    with platform.store.session() as s:
        for place in places:
            if not place.rows:
                continue
            ds = s.scalars(select(Dataset).where(Dataset.id == place.dataset_id)).one()
            table = platform.lake.load(place.dataset)
            rows = (
                table.scan(row_filter=predicate(table, subjects, place), snapshot_id=place.snapshot_id, limit=cap)
                .to_arrow()
                .to_pylist()
            )
            holdings.append(
                Holding(
                    dataset=place.dataset,
                    columns=place.column_names(),
                    via=place.via,
                    rows=place.rows,
                    purpose=ds.purpose or "",
                    legal_basis=legal_basis(s, place.dataset_id) or NOT_RECORDED,
                    values=rows,
                    truncated=place.rows > len(rows),
                )
            )
    from threshold.governance import audit

    audit.append(
        platform,
        person,
        "subject.access",
        detail={
            "subjects": [{"tag": sub.tag, "hash": sub.keyed(platform.settings)} for sub in subjects],
            "datasets": [h.dataset for h in holdings],
        },
    )
    return Report(
        [sub.tag for sub in subjects],
        datetime.now(UTC).isoformat(timespec="seconds"),
        len(places),
        holdings,
    )
