"""Big queries on Daft on a local 2-node Ray cluster: the same answers as DuckDB on the 22 TPC-H queries, the
same governance (masks, row filters, the walls), the same bounds, and the engine named in usage and audit.

The cluster (a head and a second node, one CPU and a small object store each) and the home (the small
organisation plus TPC-H at SF 0.01 shared as `tpch.<table>`) are built once for the module.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from threshold.engines.daft import NotOnDaft, compile_sql, sha256_udf
from threshold.errors import InvalidInput, LimitExceeded
from threshold.gateway.service import open_query, query
from threshold.governance.policies import apply
from threshold.identity.service import add_domain, get_person
from threshold.sharing.service import share
from threshold.store.models import AuditEntry, UsageEvent

pytest.importorskip("daft", reason="the `scale` extra (pip install 'threshold[scale]')")
ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow

QUERIES = Path(__file__).resolve().parents[2] / "benchmarks" / "tpch" / "queries"
TABLES = ("region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem")

NATIVE_ON_DAFT = {f"q{n:02d}" for n in range(1, 23)} - {"q01", "q08", "q09", "q14", "q21"}
"""The TPC-H queries Daft 0.7.26 answers itself; the others it cannot plan or run as DuckDB would (decimal
products beyond 38 digits, a CASE mixing DECIMAL and integer results, Q21's correlated EXISTS)."""

POLICY = """\
domain: manufacturing
policies:
  - id: finance-sees-berlin
    kind: row_filter
    datasets: [plant_kpis]
    where: "plant = 'Berlin'"
    readers: {domains: [finance]}
  - id: plant-hashed
    kind: mask
    datasets: [plant_kpis]
    columns: [plant]
    mask: hash
    readers: {domains: [finance]}
  - id: energy-redacted
    kind: mask
    datasets: [plant_kpis]
    columns: [energy_kwh]
    mask: redact
"""
RAW = ("Anna Schmidt", "Max Müller", "anna.schmidt", "max.mueller", "1520.5", "1610.0", "Berlin", "Lyon", "Porto")


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    from ray.cluster_utils import Cluster

    # The cluster's workers inherit these: no progress bars in the output, and no telemetry calls from each
    # worker's import of Daft (what the engine sets for itself, `engines.daft._no_telemetry`).
    os.environ.setdefault("DAFT_PROGRESS_BAR", "0")
    os.environ.setdefault("DAFT_ANALYTICS_ENABLED", "0")
    # Only the processes Daft needs: no autoscaler monitor (the cluster is fixed), no log monitor (the
    # workers' output is not forwarded here).
    small = {"num_cpus": 1, "object_store_memory": 80 * 1024 * 1024, "include_log_monitor": False}
    cluster = Cluster(initialize_head=True, head_node_args={**small, "include_dashboard": False, "no_monitor": True})
    cluster.add_node(**small)
    cluster.wait_for_nodes()
    try:
        yield cluster.address
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.fixture(scope="module")
def lake(module_org: Any, ray_address: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The module's organisation with TPC-H SF 0.01 in domain `tpch` and POLICY on plant_kpis; its Daft on Ray."""
    org = module_org
    folder = tmp_path_factory.mktemp("tpch")
    tpchgen = Path(sys.executable).parent / "tpchgen-cli"
    subprocess.run([str(tpchgen if tpchgen.exists() else shutil.which("tpchgen-cli")), "parquet", "-s", "0.01",
                    "-o", str(folder), "--quiet"], check=True)  # fmt: skip
    add_domain(org.platform, "tpch", owners=("anna",))
    org.anna = get_person(org.platform, "anna")  # now an owner of tpch too
    for table in TABLES:
        path = folder / f"{table}.parquet"
        data = pq.read_table(path)  # tpchgen writes string views; shared files hold plain strings
        pq.write_table(data.cast(pa.schema([f.with_type(_plain(f.type)) for f in data.schema])), path)
        share(org.platform, path, domain="tpch", name=table, user=org.anna)
    apply(org.platform, org.anna, POLICY)
    org.platform.settings.engine.ray_address = ray_address
    return org


def _plain(t: pa.DataType) -> pa.DataType:
    return pa.string() if t == pa.string_view() else t


def _tpch() -> Any:
    sys.path.insert(0, str(QUERIES.parents[1]))
    try:
        import tpch
    finally:
        sys.path.pop(0)
    return tpch


def _engine_of(platform: Any, event_id: int | None) -> str:
    with platform.store.session() as s:
        return str(s.execute(select(UsageEvent.engine).where(UsageEvent.id == event_id)).scalar_one())


@pytest.fixture
def settings(lake: Any) -> Iterator[Any]:
    """The engine settings of the module's platform, put back after the test."""
    engine = lake.platform.settings.engine
    before = engine.model_copy()
    yield engine
    engine.daft_above_bytes, engine.fallback = before.daft_above_bytes, before.fallback


# -- the same answers --------------------------------------------------------------------------------------


def test_the_22_tpch_queries_answer_the_same_on_daft_on_ray_as_on_duckdb(lake: Any) -> None:
    tpch = _tpch()
    native, differences = set(), []
    for name, sql in tpch.load_queries().items():
        duck = query(lake.platform, sql, user=lake.anna, engine="duckdb")
        scaled = query(lake.platform, sql, user=lake.anna, engine="daft")
        why = tpch.difference(duck.table, scaled.table)
        if why:
            differences.append(f"{name}: {why}")
        answered = _engine_of(lake.platform, scaled.event_id)
        if answered == "daft":
            native.add(name)
            assert not [n for n in scaled.notes if n.startswith("answered by DuckDB")]
        else:  # fell back: the person is told why, in one line naming the construct
            (note,) = [n for n in scaled.notes if n.startswith("answered by DuckDB: Daft cannot run this query: ")]
            assert "\n" not in note and "/" not in note
        assert scaled.table.column_names == duck.table.column_names
    assert differences == []
    assert native == NATIVE_ON_DAFT


def test_ordered_results_keep_their_order_and_decimals_their_values(lake: Any) -> None:
    sql = (
        "SELECT o_orderpriority, count(*) AS n, sum(o_totalprice) AS total FROM tpch.orders "
        "GROUP BY o_orderpriority ORDER BY n DESC, o_orderpriority"
    )
    duck = query(lake.platform, sql, user=lake.anna, engine="duckdb").table.to_pylist()
    scaled = query(lake.platform, sql, user=lake.anna, engine="daft").table.to_pylist()
    assert [r["o_orderpriority"] for r in scaled] == [r["o_orderpriority"] for r in duck]
    assert [(r["n"], float(r["total"])) for r in scaled] == [(r["n"], float(r["total"])) for r in duck]


def test_an_unsupported_construct_without_fallback_is_one_line_naming_it(lake: Any, settings: Any) -> None:
    settings.fallback = False
    sql = (QUERIES / "q01.sql").read_text().strip().rstrip(";")
    with pytest.raises(NotOnDaft) as e:
        query(lake.platform, sql, user=lake.anna, engine="daft")
    assert str(e.value) == (
        "Daft cannot run this query: decimal multiply whose result needs more than 38 digits of precision"
    )


# -- chosen by configuration or by the person -------------------------------------------------------------


def test_a_planned_scan_above_the_setting_goes_to_daft(lake: Any, settings: Any) -> None:
    sql = "SELECT count(*) AS n FROM tpch.lineitem"
    settings.daft_above_bytes = 10**12
    small = query(lake.platform, sql, user=lake.anna)
    assert _engine_of(lake.platform, small.event_id) == "duckdb"
    settings.daft_above_bytes = 1000  # lineitem's files at SF 0.01 are far larger
    big = query(lake.platform, sql, user=lake.anna)
    assert _engine_of(lake.platform, big.event_id) == "daft"
    assert big.table.to_pylist() == small.table.to_pylist() == [{"n": 60175}]
    # the person may still ask for DuckDB
    asked = query(lake.platform, sql, user=lake.anna, engine="duckdb")
    assert _engine_of(lake.platform, asked.event_id) == "duckdb"


def test_an_unknown_engine_is_refused(lake: Any) -> None:
    with pytest.raises(InvalidInput, match="unknown engine 'spark'; one of auto, duckdb, daft"):
        query(lake.platform, "SELECT 1 AS x FROM tpch.region", user=lake.anna, engine="spark")


# -- the same governance ----------------------------------------------------------------------------------


def test_masks_and_row_filters_hold_on_daft_exactly_as_on_duckdb(lake: Any) -> None:
    sql = "SELECT * FROM manufacturing.plant_kpis ORDER BY day"
    duck = query(lake.platform, sql, user=lake.ben, engine="duckdb")
    scaled = query(lake.platform, sql, user=lake.ben, engine="daft")
    assert _engine_of(lake.platform, scaled.event_id) == "daft", scaled.notes
    rows = scaled.table.to_pylist()
    assert rows == duck.table.to_pylist()
    assert len(rows) == 2  # the Berlin rows only
    assert {r["plant"] for r in rows} == {duck.table.to_pylist()[0]["plant"]} and rows[0]["plant"].startswith("h_")
    assert {r["energy_kwh"] for r in rows} == {None}
    assert {r["operator_name"] for r in rows} == {"***"}  # the personal-data guardrail
    text = repr(rows)
    assert [raw for raw in RAW if raw in text] == []
    assert "manufacturing.plant_kpis: rows filtered by manufacturing.finance-sees-berlin" in scaled.notes


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count(*) AS n FROM manufacturing.plant_kpis WHERE plant <> 'Berlin'",
        "SELECT count(*) AS n FROM manufacturing.plant_kpis p JOIN manufacturing.plant_kpis q ON p.day = q.day",
        "SELECT max(energy_kwh) AS n FROM manufacturing.plant_kpis",
        "SELECT count(*) AS n FROM (SELECT * FROM manufacturing.plant_kpis UNION ALL SELECT * FROM "
        "manufacturing.plant_kpis) AS u WHERE operator_name LIKE 'Jean%'",
        "WITH raw AS (SELECT * FROM manufacturing.plant_kpis) SELECT count(*) AS n FROM raw WHERE e_mail LIKE '%@%'",
    ],
)
def test_no_expression_reaches_around_the_view_on_daft(lake: Any, sql: str) -> None:
    duck = query(lake.platform, sql, user=lake.ben, engine="duckdb").table.to_pylist()
    scaled = query(lake.platform, sql, user=lake.ben, engine="daft")
    assert _engine_of(lake.platform, scaled.event_id) == "daft"
    assert scaled.table.to_pylist() == duck


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_parquet('/etc/passwd')",
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM tpch.no_such_table",
        "SELECT * FROM __thr.v_0123456789abcdef0123456789abcdef",
        "SELECT url_download('http://example.com') AS x FROM tpch.region",
    ],
)
def test_files_urls_and_unknown_tables_are_refused_before_daft(lake: Any, sql: str) -> None:
    with pytest.raises(InvalidInput):
        query(lake.platform, sql, user=lake.ben, engine="daft")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * FROM read_parquet('/etc/passwd')", "only datasets of the catalog can be read"),
        ('SELECT * FROM "/etc/passwd"', "only datasets of the catalog can be read"),
        ("SELECT * FROM raw_0011", "only datasets of the catalog can be read"),
        ("SELECT * FROM other.v_1", "only datasets of the catalog can be read"),
        ("SELECT url_download(x) AS y FROM v_1", "the function url_download is not available"),
        ("SELECT * FROM v_1 JOIN read_csv('/tmp/x.csv') ON true", "only datasets of the catalog can be read"),
    ],
)
def test_the_third_wall_alone_admits_only_the_bound_views(sql: str, message: str) -> None:
    """What reaches Daft names only the frames bound for that call, whatever got past the parser."""
    with pytest.raises(InvalidInput, match=message):
        compile_sql(sql, {"v_1"})
    assert compile_sql("SELECT a || b AS c FROM __thr.v_1 WHERE x BETWEEN 0.05 AND 0.07", {"v_1"}) == (
        "SELECT CONCAT(a, b) AS c FROM v_1 WHERE x BETWEEN CAST('0.05' AS DECIMAL(2, 2)) AND "
        "CAST('0.07' AS DECIMAL(2, 2))"
    )


def test_a_table_function_the_parser_admits_answers_on_duckdb(lake: Any) -> None:
    sql = "SELECT count(*) AS n FROM range(3) AS t(x) CROSS JOIN tpch.region"
    result = query(lake.platform, sql, user=lake.anna, engine="daft")
    assert result.table.to_pylist() == [{"n": 15}]
    assert "answered by DuckDB: Daft cannot run this query: the table function generate_series" in result.notes
    assert _engine_of(lake.platform, result.event_id) == "duckdb"


def test_a_mask_daft_cannot_compute_identically_falls_back_or_is_refused(lake: Any, settings: Any) -> None:
    apply(
        lake.platform,
        lake.anna,
        POLICY.replace("columns: [energy_kwh]\n    mask: redact", "columns: [energy_kwh]\n    mask: hash"),
    )
    try:
        sql = "SELECT energy_kwh FROM manufacturing.plant_kpis ORDER BY energy_kwh"
        result = query(lake.platform, sql, user=lake.ben, engine="daft")
        assert _engine_of(lake.platform, result.event_id) == "duckdb"
        assert "answered by DuckDB: Daft cannot run this query: the hash mask on a DOUBLE column" in result.notes
        assert all(v.startswith("h_") for v in result.table.column("energy_kwh").to_pylist())
        settings.fallback = False
        with pytest.raises(NotOnDaft, match="^Daft cannot run this query: the hash mask on a DOUBLE column$"):
            query(lake.platform, sql, user=lake.ben, engine="daft")
    finally:
        apply(lake.platform, lake.anna, POLICY)


def test_the_hash_mask_reaches_the_ray_workers_without_threshold() -> None:
    """Daft ships the `hash` mask's function to its workers by value: a Ray cluster needs Daft, not Threshold,
    and its workers do not import this package to compute the digest."""
    import daft
    import duckdb
    from daft.pickle.pickle import dumps

    looked_up = []

    class Recording(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            looked_up.append(module)
            return super().find_class(module, name)

    digest = Recording(io.BytesIO(dumps(sha256_udf(daft)))).load()
    assert [m for m in looked_up if m.partition(".")[0] == "threshold"] == []
    assert digest("Berlin") == duckdb.sql("SELECT sha256('Berlin')").fetchall()[0][0]
    assert digest(None) is None


def test_daft_reports_to_no_outside_service_unless_the_operator_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """Daft's telemetry (its import and every query, sent to two outside services) is off on a server."""
    from daft.scarf_telemetry import opted_out

    from threshold.engines.daft import available

    for name in ("DAFT_ANALYTICS_ENABLED", "SCARF_NO_ANALYTICS", "DO_NOT_TRACK"):
        monkeypatch.delenv(name, raising=False)
    assert available() and opted_out()
    monkeypatch.setenv("DAFT_ANALYTICS_ENABLED", "true")
    assert available() and not opted_out()


# -- usage, audit and bounds ------------------------------------------------------------------------------


def test_usage_and_audit_name_the_engine(lake: Any) -> None:
    result = query(lake.platform, "SELECT plant FROM manufacturing.plant_kpis", user=lake.ben, engine="daft")
    with lake.platform.store.session() as s:
        event = s.execute(select(UsageEvent).where(UsageEvent.id == result.event_id)).scalar_one()
        audits = [a.detail for a in s.execute(select(AuditEntry)).scalars() if a.detail.get("event") == event.id]
    assert (event.engine, event.status, event.rows) == ("daft", "ok", 2)
    assert [a["engine"] for a in audits] == ["daft"]


# -- every interface can ask for it -----------------------------------------------------------------------


def test_the_rest_api_query_body_asks_for_daft(lake: Any) -> None:
    from threshold.api.app import create_app
    from threshold.identity.service import create_token

    app, token = create_app(lake.platform), create_token(lake.platform, "ben")[1]

    async def post(body: dict[str, Any]) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://threshold.test") as client:
            return await client.post("/api/v1/query", json=body, headers={"Authorization": f"Bearer {token}"})

    sql = "SELECT count(*) AS n FROM manufacturing.plant_kpis"
    r = asyncio.run(post({"sql": sql, "engine": "daft"}))
    assert r.status_code == 200 and r.json()["rows"] == [{"n": 2}]
    with lake.platform.store.session() as s:
        last = s.execute(select(UsageEvent.engine).order_by(UsageEvent.id.desc()).limit(1)).scalar_one()
    assert last == "daft"
    bad = asyncio.run(post({"sql": sql, "engine": "spark"}))
    assert bad.status_code == 422


def test_the_cli_and_the_python_client_ask_for_daft(
    lake: Any, ray_address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inprocess
    from threshold.client import connect, notes

    home = lake.platform.settings.home_dir
    env = {"THRESHOLD_ENGINE__RAY_ADDRESS": ray_address, "THRESHOLD_RESIDENT": "false"}
    sql = "SELECT count(*) AS n FROM tpch.region"
    done = inprocess.threshold("query", sql, "--engine", "daft", "--as", "anna", "--format", "json", home=home, env=env)
    assert (done.returncode, json.loads(done.stdout)) == (0, [{"n": 5}]), done.stderr
    with lake.platform.store.session() as s:
        interface, engine = s.execute(
            select(UsageEvent.interface, UsageEvent.engine).order_by(UsageEvent.id.desc()).limit(1)
        ).one()
    assert (interface, engine) == ("cli", "daft")
    monkeypatch.setenv("THRESHOLD_ENGINE__RAY_ADDRESS", ray_address)
    client = connect(home=home, user="anna")
    try:
        table = client.sql((QUERIES / "q01.sql").read_text().strip().rstrip(";"), engine="daft")
    finally:
        client.close()
    assert table.num_rows == 4
    assert notes(table)[0].startswith("answered by DuckDB: Daft cannot run this query: decimal multiply")


# -- stopped queries, last ----------------------------------------------------------------------------------
# Stopping a Daft query on Ray kills its plan runner, and the next query starts a new one (three Ray workers,
# seconds of processor): these tests come last, and the one whose stopped query nothing follows ends the module.


def test_a_cancelled_daft_query_stops_and_the_next_one_runs(lake: Any) -> None:
    sql = "SELECT l_orderkey, l_comment FROM tpch.lineitem ORDER BY l_comment"
    stream = open_query(lake.platform, sql, user=lake.anna, engine="daft")
    assert stream.engine == "daft"
    stream.cancel()
    with pytest.raises(LimitExceeded, match="the query was cancelled"):
        stream.read_all()
    assert stream.status == "cancelled"
    again = query(lake.platform, "SELECT count(*) AS n FROM tpch.nation", user=lake.anna, engine="daft")
    assert again.table.to_pylist() == [{"n": 25}]
    assert _engine_of(lake.platform, again.event_id) == "daft"


def test_a_daft_query_out_of_time_is_stopped_and_recorded_as_a_timeout(lake: Any) -> None:
    sql = "SELECT l_comment, count(*) AS n FROM tpch.lineitem GROUP BY l_comment ORDER BY n DESC"
    with pytest.raises(LimitExceeded) as e:
        query(lake.platform, sql, user=lake.anna, engine="daft", timeout=0.001)
    assert "\n" not in str(e.value)
    with lake.platform.store.session() as s:
        status, engine = s.execute(
            select(UsageEvent.status, UsageEvent.engine).order_by(UsageEvent.id.desc()).limit(1)
        ).one()
    assert (status, engine) == ("timeout", "daft")
    again = query(lake.platform, "SELECT count(*) AS n FROM tpch.region", user=lake.anna, engine="daft")
    assert again.table.to_pylist() == [{"n": 5}]


def test_rows_limit_cuts_a_daft_result(lake: Any) -> None:
    result = query(lake.platform, "SELECT l_orderkey FROM tpch.lineitem", user=lake.anna, engine="daft", max_rows=7)
    assert (result.table.num_rows, result.truncated) == (7, True)
    assert _engine_of(lake.platform, result.event_id) == "daft"
