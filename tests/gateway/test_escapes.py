"""Escape attempts against the gateway, read from `tests/fixtures/gateway/escapes.sql` (format in its header).

Every case runs through `gateway.service.query` as ben. Besides the case's own expectation, every case
checks that nothing protected leaks: no file-system secret (first line of /etc/passwd, the warehouse and
home paths) in the result, the error or the usage log; no string literal of the query in the usage log;
no new file in the home; exactly one usage event recorded.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from threshold.errors import Denied, InvalidInput, NotFound, ThresholdError
from threshold.gateway.service import query
from threshold.store.models import UsageEvent

FIXTURE = Path(__file__).parent.parent / "fixtures" / "gateway" / "escapes.sql"
_HEADER = re.compile(r"^--\s*(expect|rows|row_count):\s*(.*?)\s*$")
_LITERAL = re.compile(r"'((?:[^']|'')*)'")
_VOLATILE = ("threshold.db-wal", "threshold.db-shm", "threshold.db-journal")
"""Besides these, the engine's spill folder and the usage journal (events on their way to the store) change."""


@dataclass
class Case:
    name: str
    line: int
    expect: str = ""  # "ok", "refused" or "not found"
    fragment: str | None = None
    rows: list[Any] | None = None
    row_count: int | None = None
    sql_lines: list[str] = field(default_factory=list)

    @property
    def sql(self) -> str:
        lines = list(self.sql_lines)
        while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("--")):
            lines.pop()  # section comments between cases belong to no case
        return "\n".join(lines).strip()


def load_cases(path: Path = FIXTURE) -> list[Case]:
    cases: list[Case] = []
    in_header = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("-- name:"):
            cases.append(Case(line.split(":", 1)[1].strip(), number))
            in_header = True
            continue
        if not cases:
            continue
        header = _HEADER.match(line) if in_header else None
        if header is None:
            in_header = False
            cases[-1].sql_lines.append(line)
            continue
        key, value = header.groups()
        case = cases[-1]
        if key == "expect":
            kind, _, fragment = value.partition(":")
            case.expect, case.fragment = kind.strip(), fragment.strip() or None
        elif key == "rows":
            case.rows = json.loads(value)
        else:
            case.row_count = int(value)
    return cases


CASES = load_cases()


@pytest.fixture(scope="module")
def escape_org(module_org: Any) -> Any:
    """module_org after one ordinary read, so files a first read creates lazily (keys) exist already."""
    query(module_org.platform, "SELECT * FROM manufacturing.plant_kpis", user=module_org.ben)
    return module_org


def test_the_fixture_file_is_well_formed() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    for c in CASES:
        assert c.expect in ("ok", "refused", "not found"), f"{c.name} (line {c.line}): expect is {c.expect!r}"
        assert c.sql, f"{c.name} (line {c.line}) has no SQL"
        assert c.expect == "ok" or (c.rows is None and c.row_count is None), f"{c.name}: rows on a refusal"
    assert sum(c.expect != "ok" for c in CASES) >= 60
    assert sum(c.expect == "ok" for c in CASES) >= 15


def _normal(value: Any) -> Any:
    """Result values as the fixture writes them: dates as ISO text, floats rounded."""
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    return value


def _files(home: Path) -> set[str]:
    return {
        str(p.relative_to(home))
        for p in home.rglob("*")
        if p.name not in _VOLATILE and not {"spill", "journal"} & set(p.relative_to(home).parts)
    }


def _secrets(org: Any) -> dict[str, str]:
    settings = org.platform.settings
    out = {"warehouse path": str(settings.warehouse_dir), "home path": str(settings.home_dir)}
    passwd = Path("/etc/passwd")
    if passwd.exists():
        first = passwd.read_text(errors="replace").splitlines()[0].strip()
        if first:
            out["first line of /etc/passwd"] = first
    return out


def _fill(sql: str, org: Any) -> str:
    platform = org.platform
    settings = platform.settings
    with platform.store.session() as s:
        from threshold.store.models import Dataset

        snapshot = s.scalars(select(Dataset.snapshot_id).where(Dataset.full_name == "manufacturing.plant_kpis")).one()
    data_file = platform.lake.plan("manufacturing.plant_kpis", snapshot).files[0]
    return (
        sql.replace("{warehouse}", str(settings.warehouse_dir))
        .replace("{home}", str(settings.home_dir))
        .replace("{file}", data_file)
        .replace("{snapshot}", str(snapshot))
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_escape_case(case: Case, escape_org: Any) -> None:
    org = escape_org
    platform = org.platform
    sql = _fill(case.sql, org)
    where = f"{case.name} (escapes.sql line {case.line})"
    home = platform.settings.home_dir
    files_before = _files(home)
    with platform.store.session() as s:
        last_event = s.scalar(select(UsageEvent.id).order_by(UsageEvent.id.desc()).limit(1)) or 0

    outputs: list[str] = []
    error: ThresholdError | None = None
    try:
        result = query(platform, sql, user=org.ben)
    except ThresholdError as e:
        error = e
    else:
        outputs.append(repr(result.table.column_names))
        outputs.append(repr(result.table.to_pylist()))

    # The case's own expectation.
    if case.expect == "ok":
        assert error is None, f"{where}: expected rows, got {type(error).__name__}: {error}"
        got = _normal([list(r) for r in zip(*(c.to_pylist() for c in result.table.columns), strict=True)])
        assert result.table.num_rows >= 1, f"{where}: no rows"
        if case.rows is not None:
            assert got == _normal(case.rows), f"{where}: rows differ"
        if case.row_count is not None:
            assert result.table.num_rows == case.row_count, f"{where}: row count"
    else:
        assert error is not None, f"{where}: expected a refusal, the query ran and returned {outputs[-1][:300]}"
        kinds = (NotFound,) if case.expect == "not found" else (InvalidInput, Denied)
        assert isinstance(error, kinds), f"{where}: {type(error).__name__}: {error}"
        message = str(error)
        assert message and "\n" not in message, f"{where}: the message must be one line"
        if case.fragment:
            assert case.fragment.lower() in message.lower(), f"{where}: {message!r} lacks {case.fragment!r}"
        outputs.append(message)

    # Nothing protected leaks: not in the result or the error (unless the query itself typed it) ...
    secrets = _secrets(org)
    for what, secret in secrets.items():
        if secret in sql:
            continue
        for text in outputs:
            assert secret not in text, f"{where}: the {what} leaked: {text[:300]}"

    # ... nor into the usage log, which holds one event for this query and none of its literals.
    with platform.store.session() as s:
        events = list(s.scalars(select(UsageEvent).where(UsageEvent.id > last_event).order_by(UsageEvent.id)))
    assert len(events) == 1, f"{where}: {len(events)} usage events recorded"
    event = events[0]
    assert event.user_id == org.ben.id
    assert event.status == ("ok" if error is None else "denied" if isinstance(error, Denied) else "error")
    logged = f"{event.query_text}\n{event.error or ''}"
    for what, secret in secrets.items():
        assert secret in sql or secret not in logged, f"{where}: the {what} is in the usage log: {logged!r}"
    outside_literals = _LITERAL.sub("''", sql).lower()
    for literal in _LITERAL.findall(sql):
        value = literal.replace("''", "'")
        if len(value) >= 3 and value.lower() not in outside_literals:
            assert value not in event.query_text, f"{where}: literal {value!r} stored: {event.query_text!r}"

    # ... and nothing was written anywhere.
    assert _files(home) == files_before, f"{where}: files changed: {_files(home) ^ files_before}"
    assert not Path("/tmp/threshold_escape_copy.csv").exists()
