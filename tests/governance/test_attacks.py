"""An outsider's attempts to read what governance protects, from `tests/fixtures/governance/attacks.sql`
(format in its header), plus hypothesis-generated queries from a small grammar.

Every query runs through `gateway.service.query` as ben (finance) on the `governed` fixture: finance
reads only Berlin rows, personal columns are redacted, `energy_kwh` is a keyed hash. Whatever a case
expects, the same property is checked: no raw protected value in the result, the error, the notes,
the usage events or the audit entries of that query; and an `ok` result equals what plain DuckDB
returns for the same SQL over a hand-built masked copy of ben's rows.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from threshold.errors import Denied, InvalidInput, ThresholdError
from threshold.gateway.service import query
from threshold.governance.policies import PERSONAL_GUARDRAIL
from threshold.store.models import AuditEntry, UsageEvent, UsageRead

FIXTURE = Path(__file__).parent.parent / "fixtures" / "governance" / "attacks.sql"
PURPOSES = [None, "energy cost forecast"]
COLUMNS = ["plant", "operator_name", "e_mail", "scrap_rate", "energy_kwh", "day"]
_HEADER = re.compile(r"^--\s*(expect|rows|row_count|compare):\s*(.*?)\s*$")
_LITERAL = re.compile(r"'((?:[^']|'')*)'")
_HASHED = re.compile(r"^h_[0-9a-f]{16}$")
POLICY_RULES = {PERSONAL_GUARDRAIL, "manufacturing.finance-sees-berlin", "manufacturing.energy-hashed"}


# --- the fixture file -------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    line: int
    expect: str = ""
    fragment: str | None = None
    rows: list[Any] | None = None
    row_count: int | None = None
    compare: bool = True
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
        elif key == "row_count":
            case.row_count = int(value)
        else:
            case.compare = not value.startswith("no")
    return cases


CASES = load_cases()


def test_the_fixture_file_is_well_formed() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    for c in CASES:
        assert c.expect in ("ok", "refused"), f"{c.name} (line {c.line}): expect is {c.expect!r}"
        assert c.sql, f"{c.name} (line {c.line}) has no SQL"
        assert c.expect == "ok" or (c.rows is None and c.row_count is None and c.compare), (
            f"{c.name}: rows or compare on a refusal"
        )
    assert len(CASES) >= 60


# --- running a query and checking that nothing protected leaks ----------------------------------------


def _normal(value: Any) -> Any:
    """Result values as the fixture writes them: dates as ISO text, floats rounded, maps as objects."""
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, list) and value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        return {str(k): _normal(v) for k, v in value}  # a MAP, as pyarrow lists it
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    return value


def _rows(table: pa.Table) -> list[list[Any]]:
    return _normal([list(r) for r in zip(*(c.to_pylist() for c in table.columns), strict=True)])


def _multiset(rows: list[list[Any]]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)


def _typed(sql: str) -> tuple[str, str]:
    """(the whole query, the query without its string literals): what the person typed themselves."""
    return sql, _LITERAL.sub("''", sql)


@dataclass
class Outcome:
    result: Any
    error: ThresholdError | None
    logs: str
    audit: list[AuditEntry]
    events: list[UsageEvent]


def _run(org: Any, sql: str, purpose: str | None) -> Outcome:
    platform = org.platform
    with platform.store.session() as s:
        last_event = s.scalar(select(UsageEvent.id).order_by(UsageEvent.id.desc()).limit(1)) or 0
        last_audit = s.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)) or 0
    result, error = None, None
    try:
        result = query(platform, sql, user=org.ben, purpose=purpose)
    except ThresholdError as e:
        error = e
    with platform.store.session() as s:
        events = list(s.scalars(select(UsageEvent).where(UsageEvent.id > last_event).order_by(UsageEvent.id)))
        reads = list(s.scalars(select(UsageRead).where(UsageRead.event_id > last_event)))
        audit = list(s.scalars(select(AuditEntry).where(AuditEntry.id > last_audit).order_by(AuditEntry.id)))
        s.expunge_all()
    logs = json.dumps(
        {
            "events": [
                [e.user_id, e.interface, e.purpose, e.fingerprint, e.query_text, e.status, e.error] for e in events
            ],
            "reads": [[r.dataset_id, r.columns, r.snapshot_id] for r in reads],
            "audit": [[a.action, a.purpose, a.rules, a.detail] for a in audit],
        },
        default=str,
        ensure_ascii=False,
    )
    return Outcome(result, error, logs, audit, events)


def _assert_no_leak(org: Any, sql: str, out: Outcome, where: str) -> None:
    whole, outside_literals = _typed(sql)
    protected = org.protected
    typed = [v for v in (protected.values | protected.variants).values() if v.lower() in whole.lower()]
    typed_outside = [v for v in typed if v.lower() in outside_literals.lower()]
    shown: dict[str, str] = {}
    if out.result is not None:
        shown["result"] = json.dumps(
            [out.result.table.column_names, _rows(out.result.table)], default=str, ensure_ascii=False
        )
        shown["notes"] = "\n".join(out.result.notes)
    if out.error is not None:
        shown["error"] = str(out.error)
    for what, text in shown.items():
        hits = protected.found_in(text, allowed=typed)
        assert not hits, f"{where}: {', '.join(hits)} leaked into the {what}: {text[:400]}"
    hits = protected.found_in(out.logs, allowed=typed_outside)
    assert not hits, f"{where}: {', '.join(hits)} leaked into the usage events or audit log: {out.logs[:600]}"
    assert len(out.events) == 1, f"{where}: {len(out.events)} usage events recorded"
    assert out.events[0].user_id == org.ben.id


# --- plain DuckDB over a hand-built masked copy of what ben may see ------------------------------------


def _masked_copy(all_rows: list[tuple[Any, ...]], key: str) -> duckdb.DuckDBPyConnection:
    """manufacturing.plant_kpis as ben must see it, built by hand: Berlin rows, '***' for personal
    columns, 'h_' + the first 16 hex digits of sha256(key || value) for energy_kwh."""
    berlin = [r for r in all_rows if r[0] == "Berlin"]
    raw = pa.table(
        {
            name: pa.array([r[i] for r in berlin], type=typ)
            for i, (name, typ) in enumerate(
                zip(
                    COLUMNS,
                    [pa.string(), pa.string(), pa.string(), pa.float64(), pa.float64(), pa.string()],
                    strict=True,
                )
            )
        }
    )
    con = duckdb.connect()
    # DuckDB 2.0's common_subplan optimizer answers `A JOIN A ... UNION A JOIN A ...` over tables wrongly
    # (it merges the two join subplans even when they project different sides); the reference must be right.
    con.execute("SET disabled_optimizers = 'common_subplan'")
    con.register("raw_rows", raw)
    con.execute("CREATE SCHEMA manufacturing")
    con.execute(
        "CREATE TABLE manufacturing.plant_kpis AS SELECT plant, "
        "CASE WHEN operator_name IS NULL THEN NULL ELSE '***' END AS operator_name, "
        "CASE WHEN e_mail IS NULL THEN NULL ELSE '***' END AS e_mail, scrap_rate, "
        f"'h_' || left(sha256('{key}' || CAST(energy_kwh AS VARCHAR)), 16) AS energy_kwh, "
        "CAST(day AS DATE) AS day FROM raw_rows"
    )
    con.unregister("raw_rows")
    return con


@pytest.fixture(scope="module")
def masked(governed: Any) -> Any:
    con = _masked_copy(governed.all_rows, governed.energy_key)
    yield con
    con.close()


def _plain(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[list[Any]] | None, str | None]:
    try:
        relation = con.cursor().sql(sql)
        return (_rows(relation.to_arrow_table()) if relation is not None else []), None
    except duckdb.Error as e:
        return None, str(e).splitlines()[0]


# --- the fixture cases ------------------------------------------------------------------------------------


def _fill(sql: str, org: Any) -> str:
    return sql.replace("{first_snapshot}", str(org.first_snapshot)).replace(
        "{current_snapshot}", str(org.current_snapshot)
    )


@pytest.mark.parametrize("purpose", PURPOSES, ids=["no-purpose", "energy-cost-forecast"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_attack(case: Case, purpose: str | None, governed: Any, masked: Any) -> None:
    org = governed
    sql = _fill(case.sql, org)
    where = f"{case.name} (attacks.sql line {case.line})"
    out = _run(org, sql, purpose)

    # Nothing protected leaks, whatever happened.
    _assert_no_leak(org, sql, out, where)

    if case.expect == "refused":
        assert out.error is not None, (
            f"{where}: expected a refusal, the query ran and returned {_rows(out.result.table)[:5]}"
        )
        assert isinstance(out.error, (InvalidInput, Denied)), f"{where}: {type(out.error).__name__}: {out.error}"
        message = str(out.error)
        assert message and "\n" not in message, f"{where}: the message must be one line: {message!r}"
        if case.fragment:
            assert case.fragment.lower() in message.lower(), f"{where}: {message!r} lacks {case.fragment!r}"
        return

    assert out.error is None, f"{where}: expected rows, got {type(out.error).__name__}: {out.error}"
    got = _rows(out.result.table)
    if case.rows is not None:
        assert got == _normal(case.rows), f"{where}: rows differ: {got}"
    if case.row_count is not None:
        assert len(got) == case.row_count, f"{where}: {len(got)} rows: {got}"
    if case.compare:
        expected, failure = _plain(masked, sql)
        assert failure is None, f"{where}: plain DuckDB over the masked copy failed: {failure}"
        assert _multiset(got) == _multiset(expected), (
            f"{where}: the gateway's answer differs from the masked copy's:\n gateway {got}\n masked  {expected}"
        )
    # The read is in the audit log, with the rules that shaped it.
    if out.result.datasets:
        assert out.audit, f"{where}: nothing in the audit log"
        for entry in out.audit:
            assert entry.action == "query.masked+filtered", f"{where}: audit action {entry.action}"
            assert POLICY_RULES <= set(entry.rules), f"{where}: audit rules {entry.rules}"
            assert entry.detail["event"] == out.events[0].id


# --- hypothesis: random queries from a small grammar ----------------------------------------------------

TEXT_COLUMNS = ["plant", "operator_name", "e_mail", "energy_kwh"]
PROBES = [  # raw values to guess, masked values, prefixes
    "anna.schmidt@example.com",
    "max.mueller@example.de",
    "zoe.weber@example.de",
    "jean.dupont@example.fr",
    "Anna Schmidt",
    "Max Müller",
    "Zoe Weber",
    "Ana Silva",
    "Lyon",
    "Porto",
    "Berlin",
    "***",
    "h_",
    "a",
    "m",
    "z",
    "1520.5",
    "1800.0",
]
PATTERNS = ["anna%", "%@example.%", "%.de", "Max%", "%Weber", "***", "*%", "%", "B%", "L%", "h\\_%", "_%"]


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


@st.composite
def predicates(draw: Any, q: str, depth: int = 0) -> str:
    col = f"{q}{draw(st.sampled_from(TEXT_COLUMNS))}"
    kind = draw(st.sampled_from(["like", "eq", "lt", "in", "len", "scrap", "day", "not", "and", "or"]))
    if depth >= 2 and kind in ("not", "and", "or"):
        kind = "eq"
    if kind == "like":
        return f"{col} LIKE {_lit(draw(st.sampled_from(PATTERNS)))}"
    if kind == "eq":
        return f"{col} = {_lit(draw(st.sampled_from(PROBES)))}"
    if kind == "lt":
        return f"{col} {draw(st.sampled_from(['<', '>', '<=', '<>']))} {_lit(draw(st.sampled_from(PROBES)))}"
    if kind == "in":
        values = draw(st.lists(st.sampled_from(PROBES), min_size=1, max_size=3))
        return f"{col} IN ({', '.join(_lit(v) for v in values)})"
    if kind == "len":
        return f"length({col}) {draw(st.sampled_from(['>', '=', '<']))} {draw(st.integers(0, 25))}"
    if kind == "scrap":
        return f"{q}scrap_rate {draw(st.sampled_from(['<', '>=']))} {draw(st.sampled_from([0.06, 0.1, 0.13, 0.16]))}"
    if kind == "day":
        return f"{q}day {draw(st.sampled_from(['=', '<>', '<']))} DATE '2026-01-0{draw(st.integers(3, 7))}'"
    if kind == "not":
        return f"NOT ({draw(predicates(q, depth + 1))})"
    left, right = draw(predicates(q, depth + 1)), draw(predicates(q, depth + 1))
    return f"({left}) {kind.upper()} ({right})"


@st.composite
def selects(draw: Any) -> str:
    """One SELECT over the dataset: plain, grouped, windowed, a self-join, or with an IN subquery."""
    shape = draw(st.sampled_from(["plain", "grouped", "window", "self_join", "in_subquery"]))
    n = draw(st.integers(1, 3))
    cols = draw(st.lists(st.sampled_from(COLUMNS), min_size=n, max_size=n))
    where = draw(st.one_of(st.none(), predicates("t.")))
    where_sql = f" WHERE {where}" if where else ""
    table = "manufacturing.plant_kpis AS t"
    if shape == "plain":
        return f"SELECT {', '.join(f't.{c}' for c in cols)} FROM {table}{where_sql}"
    if shape == "grouped":
        g = cols[0]
        aggs = [f"t.{g}"] + [
            draw(st.sampled_from([f"min(t.{c})", f"max(t.{c})", f"count(DISTINCT t.{c})", "count(*)"]))
            for c in cols[1:]
        ]
        having = draw(st.sampled_from(["", " HAVING count(*) > 0", f" HAVING max(t.{g}) LIKE 'a%'"]))
        return f"SELECT {', '.join(aggs)} FROM {table}{where_sql} GROUP BY t.{g}{having}"
    if shape == "window":
        part, order = draw(st.sampled_from(COLUMNS)), draw(st.sampled_from(COLUMNS))
        rest = [f"t.{c}" for c in cols[1:]]
        return (
            f"SELECT {', '.join([f'count(*) OVER (PARTITION BY t.{part} ORDER BY t.{order})', *rest])}"
            f" FROM {table}{where_sql}"
        )
    if shape == "self_join":
        on = draw(st.sampled_from(COLUMNS))
        b_where = draw(st.one_of(st.none(), predicates("b.")))
        picked = [f"{draw(st.sampled_from(['t', 'b']))}.{c}" for c in cols]
        conds = [c for c in (where, b_where) if c]
        cond = f" WHERE {' AND '.join(f'({c})' for c in conds)}" if conds else ""
        return f"SELECT {', '.join(picked)} FROM {table} JOIN manufacturing.plant_kpis AS b ON t.{on} = b.{on}{cond}"
    inner = draw(st.sampled_from(COLUMNS))
    sub_where = draw(st.one_of(st.none(), predicates("s.")))
    sub = f"SELECT s.{inner} FROM manufacturing.plant_kpis AS s" + (f" WHERE {sub_where}" if sub_where else "")
    return f"SELECT {', '.join(f't.{c}' for c in cols)} FROM {table} WHERE t.{inner} IN ({sub})"


KINDS = {"text": ["plant", "operator_name", "e_mail", "energy_kwh"], "number": ["scrap_rate"], "date": ["day"]}


@st.composite
def branches(draw: Any, kinds: list[str], alias: str) -> str:
    """One side of a set operation: columns of the given kinds, from the dataset or a self-join."""
    cols = [f"t.{draw(st.sampled_from(KINDS[k]))}" for k in kinds]
    where = draw(st.one_of(st.none(), predicates("t.")))
    source = "manufacturing.plant_kpis AS t"
    if draw(st.booleans()):
        on = draw(st.sampled_from(COLUMNS))
        source += f" JOIN manufacturing.plant_kpis AS {alias} ON t.{on} = {alias}.{on}"
        cols = [c.replace("t.", f"{alias}.") if draw(st.booleans()) else c for c in cols]
    return f"SELECT {', '.join(cols)} FROM {source}" + (f" WHERE {where}" if where else "")


@st.composite
def queries(draw: Any) -> tuple[str, bool]:
    """(SQL, whether its output columns are the dataset's columns, so their values can be checked one by one)."""
    if draw(st.booleans()):
        kinds = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=3))
        op = draw(st.sampled_from(["UNION", "UNION ALL", "INTERSECT", "EXCEPT", "INTERSECT ALL", "EXCEPT ALL"]))
        return f"{draw(branches(kinds, 'b'))} {op} {draw(branches(kinds, 'c'))}", False
    sql = draw(selects())
    return sql, sql.startswith("SELECT t.") and " GROUP BY " not in sql


def _masked_values_only(table: pa.Table) -> list[str]:
    """Output columns named like a protected column whose values are not what ben may see."""
    bad = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        for v in column.to_pylist():
            if v is None:
                continue
            if name in ("e_mail", "operator_name") and v != "***":
                bad.append(f"{name}={v!r}")
            elif name == "energy_kwh" and not _HASHED.match(str(v)):
                bad.append(f"{name}={v!r}")
            elif name == "plant" and v != "Berlin":
                bad.append(f"{name}={v!r}")
    return bad


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(generated=queries(), purpose=st.sampled_from(PURPOSES))
def test_generated_queries_see_only_the_masked_filtered_rows(
    generated: tuple[str, bool], purpose: str | None, governed: Any, masked: Any
) -> None:
    sql, checkable = generated
    out = _run(governed, sql, purpose)
    _assert_no_leak(governed, sql, out, sql)
    expected, failure = _plain(masked, sql)
    if out.error is not None:
        assert failure is not None, f"{sql}: the gateway refused ({out.error}) what the masked copy answers"
        assert "\n" not in str(out.error)
        return
    assert failure is None, f"{sql}: the masked copy fails ({failure}) where the gateway answers"
    got = _rows(out.result.table)
    assert _multiset(got) == _multiset(expected), f"{sql}:\n gateway {got}\n masked  {expected}"
    if checkable:
        bad = _masked_values_only(out.result.table)
        assert not bad, f"{sql}: raw values in masked columns: {bad}"


# --- error probes against row filters of every shape -----------------------------------------------------------

FILTER_SHAPES = [
    "plant = 'Berlin'",
    "lower(plant) = 'berlin'",
    "plant LIKE 'Ber%'",
    "regexp_matches(plant, '^Berlin$')",
    "length(plant) = 6 AND plant <> 'Lisboa'",
    "scrap_rate >= 0.12",
    "CASE WHEN plant = 'Berlin' THEN true ELSE false END",
    "plant || '' = 'Berlin'",
]
ERROR_PROBES = [
    "SELECT plant FROM manufacturing.plant_kpis WHERE error(plant) IS NULL",
    "SELECT plant FROM manufacturing.plant_kpis WHERE scrap_rate < 0.1 AND error(plant || ' ' || e_mail) IS NULL",
    "SELECT plant FROM manufacturing.plant_kpis WHERE error(plant) IS NULL AND length(plant) > 0",
    "SELECT plant FROM manufacturing.plant_kpis WHERE plant <> 'Berlin' AND error(plant) IS NULL",
    "SELECT plant FROM manufacturing.plant_kpis WHERE CASE WHEN plant = 'Berlin' THEN true ELSE error(plant) END",
    "SELECT plant FROM manufacturing.plant_kpis WHERE plant = 'Lyon' OR error(operator_name) IS NULL",
    "SELECT count(*) FILTER (WHERE error(plant) IS NULL) FROM manufacturing.plant_kpis",
    "SELECT plant FROM manufacturing.plant_kpis WHERE scrap_rate < 0.1 AND CAST(plant AS INTEGER) = 1",
]
HIDDEN = ("Lyon", "Porto", "Jean Dupont", "Ana Silva", "Claire Martin", "jean.dupont", "ana.silva", "claire.martin")


def test_error_probes_never_run_on_rows_a_filter_hides(org: Any) -> None:
    """`error(x)` echoes x unquoted: if the engine evaluated a person's predicate on rows the owner's filter
    removes, before that filter, the message would carry their values. Whatever the filter's shape."""
    from threshold.governance.policies import apply

    leaks = []
    for where in FILTER_SHAPES:
        policy = (
            "domain: manufacturing\npolicies:\n"
            f'  - {{id: berlin, kind: row_filter, datasets: [plant_kpis], where: "{where}"}}\n'
        )
        apply(org.platform, org.anna, policy)
        for sql in ERROR_PROBES:
            try:
                out = repr(query(org.platform, sql, user=org.ben).table.to_pylist())
            except ThresholdError as e:
                out = str(e)
            leaks += [f"{where} | {sql} -> {out[:200]}" for hidden in HIDDEN if hidden in out]
    assert not leaks, "\n".join(leaks)
