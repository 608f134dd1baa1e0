"""Benchmark: the maturity model at scale — a full snapshot, and the dashboard read back from snapshots.

    .venv/bin/python benchmarks/bench_maturity.py [--events 10000000] [--datasets 10000] [--domains 50]
                                                  [--people 2000] [--weeks 26] [--runs 5] [--reuse]
                                                  [--real-rollup]

The home holds 50 domains, 2,000 people (a home domain each), 10,000 datasets (200 per domain, a share each,
some described, some products with an owner, contract and freshness SLO, checks, incidents, access requests,
insights and their views) and 10M usage events over 26 weeks with one read each, popularity skewed to a
few datasets. Everything is BULK INSERTED with SQL (`INSERT … SELECT` over a recursive counter in SQLite):
going through the gateway for 10M queries would take days.

The usage rollups the usage signals read (`usage_weekly`, `usage_domain_weekly`; kept current incrementally
by `products.rollup` as events arrive) are aggregated from the log with one SQL statement each, and the
rollup state is marked current; `--real-rollup` builds them with `products.rollup.refresh` instead (the
first count of a 10M-event log takes minutes; `benchmarks/bench_consumption.py` measures that part).

Measured, after a warm-up, as the median and the worst of `--runs` runs:
- a full snapshot (`maturity.snapshots.take`: every signal of every domain, stored) — target <= 2 s;
- the dashboard from snapshots (`maturity.service.dashboard`, and `GET /api/v1/maturity` over the ASGI app
  with a token) with `--runs` snapshots of history — target <= 300 ms;
- a domain's page (`maturity.service.standing`: stored scores plus the live actions).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

RUNS_DIR = Path(__file__).parent / ".data" / "runs" / "maturity"
TARGET_SNAPSHOT_MS = 2000.0
TARGET_DASHBOARD_MS = 300.0
FMT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=10_000_000)
    p.add_argument("--datasets", type=int, default=10_000)
    p.add_argument("--domains", type=int, default=50)
    p.add_argument("--people", type=int, default=2_000)
    p.add_argument("--weeks", type=int, default=26)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--reuse", action="store_true", help="reuse the home of an earlier run with the same sizes")
    p.add_argument("--real-rollup", action="store_true", help="build the rollups with products.rollup.refresh")
    return p.parse_args()


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    fn()  # warm-up
    spent = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        spent.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(spent), 1), round(max(spent), 1)


def build(platform: Any, args: argparse.Namespace, now: datetime, log: Callable[[str], None]) -> None:
    from threshold.identity.service import ensure_admin

    platform.init()
    ensure_admin(platform)
    conn = platform.store.engine.raw_connection()
    cur = conn.cursor()
    cur.execute("PRAGMA synchronous = OFF")  # a benchmark's home: rebuilt when a run dies
    cur.execute("PRAGMA cache_size = -262144")
    start = now - timedelta(weeks=args.weeks)
    t0 = start.strftime(FMT)
    span = int((now - start).total_seconds()) - 60
    n_ds, n_dom, n_people = args.datasets, args.domains, args.people
    counter = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) "

    def at(expr: str) -> str:
        return f"strftime('%Y-%m-%d %H:%M:%f', '{start.strftime('%Y-%m-%d %H:%M:%S')}', '+' || ({expr}) || ' seconds')"

    steps = [
        (
            "domains",
            counter.format(n_dom) + "INSERT INTO domains (id, name, title, description, default_visibility, "
            f"created_at) SELECT i + 1000, 'domain_' || i, 'Domain ' || i, '', 'open', '{t0}' FROM n",
        ),
        (
            "people",
            counter.format(n_people) + "INSERT INTO users (id, name, display_name, is_admin, is_governance, "
            f"attributes, created_at) SELECT i + 1000, 'person_' || i, 'Person ' || i, 0, 0, '{{}}', '{t0}' FROM n",
        ),
        (
            "memberships",
            f"INSERT INTO memberships (user_id, domain_id, role) SELECT id, 1000 + ((id - 1000) % {n_dom}) "
            "+ 1, CASE WHEN id - 1000 <= " + str(n_dom) + " THEN 'owner' ELSE 'member' END FROM users WHERE id > 1000",
        ),
        # Domain k's datasets: maturity rises with k (description, owner, contract, checks more often).
        (
            "datasets",
            counter.format(n_ds) + "INSERT INTO datasets (id, domain_id, name, full_name, title, description, "
            "purpose, stage, allowed_purposes, snapshot_id, row_count, size_bytes, created_at, updated_at) "
            f"SELECT i, 1000 + ((i - 1) % {n_dom}) + 1, 't' || i, "
            f"'domain_' || (((i - 1) % {n_dom}) + 1) || '.t' || i, "
            f"'', CASE WHEN (i * 7) % 100 < (((i - 1) % {n_dom}) + 1) * 100 / {n_dom} THEN 'described' "
            "ELSE '' END, '', "
            f"'shared', '[]', 1, 100, 1000, {at(f'(i * 31) % {span // 2}')}, '{t0}' FROM n",
        ),
        (
            "shares",
            f"INSERT INTO shares (dataset_id, snapshot_id, mode, at, rows_added, rows_total, source_name, "
            f"source_format, notes, column_tags, column_scopes) SELECT id, 1, 'create', {at(f'(id * 97) % {span}')}, "
            "100, 100, '', 'csv', '[]', '{}', '{}' FROM datasets",
        ),
        (
            "products",
            "INSERT INTO products (dataset_id, owner_id, description, version, freshness_hours, status, "
            f"deprecation_reason, created_at) SELECT id, 1000 + ((id - 1) % {n_dom}) + 1, '', '1.0.0', 168, "
            "'active', '', "
            f"'{t0}' FROM datasets WHERE (id * 13) % 100 < ((id - 1) % {n_dom}) * 100 / {n_dom}",
        ),
        (
            "contracts",
            "INSERT INTO contracts (dataset_id, product_id, version, document, rules, created_at) "
            f"SELECT dataset_id, id, '1.0.0', '{{}}', '[]', '{t0}' FROM products WHERE id % 2 = 0",
        ),
        (
            "checks",
            "INSERT INTO quality_checks (dataset_id, name, kind, options, blocking, source, active, "
            f"created_at, updated_at, last_status) SELECT id, 'rows', 'row_count', '{{}}', 0, 'manual', 1, '{t0}', "
            f"'{t0}', CASE WHEN id % 5 = 0 THEN 'fail' ELSE 'pass' END FROM datasets WHERE id % 3 <> 0",
        ),
        (
            "incidents",
            "INSERT INTO incidents (kind, title, description, dataset_id, query, routed_domain_id, routing, "
            "status, occurrences, reopened, opened_at, last_seen_at, acknowledged_at, fixed_at, updated_at) "
            "SELECT 'check', 't', '', "
            f"id, '', domain_id, '{{}}', 'open', 1, 0, {at(f'{span} - (id * 3607) % (86400 * 80)')}, '{t0}', "
            f"{at(f'{span} - (id * 3607) % (86400 * 80) + (id % 7) * 20000')}, NULL, '{t0}' FROM datasets "
            "WHERE id % 5 = 0",
        ),
        (
            "requests",
            "INSERT INTO access_requests (requester_id, dataset_id, columns, purpose, days, justification, "
            "status, created_at, decided_at, decision_reason) SELECT 1000 + 1 + (id * 17) % " + str(n_people) + ", id, "
            f"'[]', 'reporting', 90, '', 'approved', {at(f'{span} - (id * 7919) % (86400 * 80)')}, "
            f"{at(f'{span} - (id * 7919) % (86400 * 80) + (id % 9) * 14400')}, '' FROM datasets WHERE id % 2 = 0",
        ),
        (
            "insights",
            "INSERT INTO insights (owner_id, audience, purpose, version, title, archived_at, created_at, "
            f"updated_at) SELECT id, 'everyone', '', 1, 'insight', NULL, '{t0}', '{t0}' FROM users WHERE id % 4 = 0",
        ),
        (
            "insight views",
            "INSERT INTO insight_runs (insight_id, version, at, trigger, user_id, parameters, status, "
            f"rows, duration_ms, snapshots) SELECT id, 1, {at(f'{span} - (id * 611) % (86400 * 20)')}, 'view', "
            "1000 + 1 + (id * 31) % " + str(n_people) + ", '{}', 'ok', 1, 1.0, '{}' FROM insights",
        ),
        (
            f"{args.events:,} usage events",
            counter.format(args.events) + "INSERT INTO usage_events (id, at, user_id, "
            "interface, purpose, fingerprint, query_text, rows, duration_ms, status, kind) SELECT i, "
            f"{at(f'(i - 1) * {span} / {args.events}')}, 1000 + 1 + (i * 7919) % {n_people}, 'sql', NULL, 'f', '', 1, "
            "1.0, "
            "'ok', 'consumption' FROM n",
        ),
        # Popularity skewed: the square of a uniform draw picks low ids far more often.
        (
            "their reads",
            "INSERT INTO usage_reads (event_id, dataset_id, columns, snapshot_id) SELECT id, "
            f"1 + (((id * 40503) % {n_ds}) * ((id * 40503) % {n_ds})) / {n_ds}, '[]', 1 FROM usage_events",
        ),
    ]
    # The log's secondary indexes are built once at the end (a sort) rather than row by row; events come in
    # time order, as the gateway appends them.
    indexes = [
        sql
        for (sql,) in cur.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('usage_events', 'usage_reads')"
        )
    ]
    for sql in indexes:
        cur.execute("DROP INDEX " + sql.split()[2])
    for label, sql in steps + [("the log's indexes", ";".join(indexes))]:
        t = time.perf_counter()
        cur.executescript(sql) if label == "the log's indexes" else cur.execute(sql)
        conn.commit()
        log(f"  {label}: {time.perf_counter() - t:.1f} s")
    conn.close()


def rollups_by_sql(platform: Any, log: Callable[[str], None]) -> None:
    """The two rollups the usage signals read, aggregated from the log in SQL; the rollup state marked current."""
    from threshold.products import rollup, signals

    week = "date(e.at, 'weekday 0', '-6 days')"
    conn = platform.store.engine.raw_connection()
    cur = conn.cursor()
    for label, sql in (
        (
            "usage_weekly",
            "INSERT INTO usage_weekly (dataset_id, user_id, week, purpose, domain_id, queries, denied, "
            f"last_at) SELECT r.dataset_id, e.user_id, {week}, '', d.domain_id, count(*), 0, max(e.at) "
            "FROM usage_events e "
            "JOIN usage_reads r ON r.event_id = e.id JOIN datasets d ON d.id = r.dataset_id "
            f"GROUP BY r.dataset_id, e.user_id, {week}, d.domain_id",
        ),
        (
            "usage_domain_weekly",
            "INSERT INTO usage_domain_weekly (user_id, domain_id, week, queries) "
            "SELECT user_id, domain_id, week, sum(queries) FROM usage_weekly GROUP BY user_id, domain_id, week",
        ),
    ):
        t = time.perf_counter()
        cur.execute(sql)
        conn.commit()
        log(f"  {label}: {time.perf_counter() - t:.1f} s")
    top = cur.execute("SELECT max(id) FROM usage_events").fetchone()[0]
    cur.execute("DELETE FROM usage_rollup_state")
    cur.execute(
        "INSERT INTO usage_rollup_state (id, watermark, dirty, settings_key, signals_key) VALUES (1, ?, 0, ?, ?)",
        (top, rollup._settings_key(platform), signals.key(platform)),
    )
    conn.commit()
    conn.close()


def main() -> None:
    args = parse()
    from threshold.identity.service import ADMIN, add_user, create_token, get_person
    from threshold.maturity import service, snapshots
    from threshold.platform import Platform
    from threshold.products import rollup

    log = print
    home = RUNS_DIR / f"e{args.events}-d{args.datasets}-m{args.domains}-p{args.people}-w{args.weeks}"
    marker = home / "built.json"
    if args.reuse and marker.exists():
        now = datetime.fromisoformat(json.loads(marker.read_text())["now"])
        platform = Platform.open(home)
        log(f"reusing {home}")
    else:
        shutil.rmtree(home, ignore_errors=True)
        platform = Platform.open(home, must_exist=False)
        now = datetime.now(UTC).replace(microsecond=0)
        log(f"building {args.domains} domains, {args.datasets:,} datasets, {args.events:,} usage events (SQL bulk) …")
        t = time.perf_counter()
        build(platform, args, now, log)
        if args.real_rollup:
            t2 = time.perf_counter()
            log(
                f"  rollups (products.rollup.refresh): {rollup.refresh(platform):,} events in "
                f"{time.perf_counter() - t2:.0f} s"
            )
        else:
            rollups_by_sql(platform, log)
        add_user(platform, "governor", governance=True)
        log(f"  built in {time.perf_counter() - t:.0f} s")
        marker.write_text(json.dumps({"now": now.isoformat()}))
    platform.clock = lambda: now
    gov = get_person(platform, "governor")
    admin = get_person(platform, ADMIN)

    snap_med, snap_worst = timed(lambda: snapshots.take(platform, gov), args.runs)
    log(f"full snapshot ({args.domains} domains x 7 dimensions): median {snap_med} ms, worst {snap_worst} ms")
    board_med, board_worst = timed(lambda: service.dashboard(platform, gov), max(args.runs, 10))
    log(f"dashboard from snapshots (service): median {board_med} ms, worst {board_worst} ms")
    page_med, page_worst = timed(lambda: service.standing(platform, admin, "domain_25"), max(args.runs, 10))
    log(f"a domain's page (service, live actions): median {page_med} ms, worst {page_worst} ms")

    import httpx

    from threshold.api.app import create_app

    token = create_token(platform, "governor")[1]
    app = create_app(platform)

    async def over_http() -> tuple[float, float]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as c:
            spent = []
            for k in range(max(args.runs, 10) + 1):
                t = time.perf_counter()
                r = await c.get("/api/v1/maturity", headers={"Authorization": f"Bearer {token}"})
                assert r.status_code == 200, r.text[:200]
                if k:
                    spent.append((time.perf_counter() - t) * 1000)
            return round(statistics.median(spent), 1), round(max(spent), 1)

    api_med, api_worst = asyncio.run(over_http())
    log(f"dashboard over the API (GET /api/v1/maturity): median {api_med} ms, worst {api_worst} ms")
    log("")
    log(
        f"snapshot: median {snap_med} ms (target {TARGET_SNAPSHOT_MS:.0f} ms) -> "
        f"{'OK' if snap_med <= TARGET_SNAPSHOT_MS else 'MISSED'}"
    )
    log(
        f"dashboard: median {max(board_med, api_med)} ms (target {TARGET_DASHBOARD_MS:.0f} ms) -> "
        f"{'OK' if max(board_med, api_med) <= TARGET_DASHBOARD_MS else 'MISSED'}"
    )
    platform.close()


if __name__ == "__main__":
    main()
