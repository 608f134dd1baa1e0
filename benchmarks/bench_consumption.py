"""Benchmark 4, consumption at scale: views over 10M usage events, and what recording an event costs.

    .venv/bin/python benchmarks/bench_consumption.py [--events 10000000] [--datasets 10000] [--people 2000]
                                                      [--weeks 8] [--database-url URL] [--reuse]

The home holds the demo generator's company at scale: its 2,000 people (`demo.company.people`) with
their domains and habits, its 10,000 datasets (`demo.catalog.catalog`, site variants included) as
catalog rows, and 10M usage events spread over the weeks. The events are BULK INSERTED straight into
`usage_events` and `usage_reads` (going through the gateway for 10M queries would take days); the
datasets are catalog rows only (their Iceberg data is never read by the views measured here). Who
reads what follows the demo's model: daily, weekly and occasional people, a working set per person
weighted to their own domain, popularity skewed (Zipf) so a few datasets are read by many and a long
tail by few or none, a few query shapes per dataset, one read in seven a join of two datasets.

Measured, each after a warm-up run, as the median and the worst of `--runs` runs:
- building the rollups from the whole log (once) and catching up on 5,000 new events;
- the consumption views: one dataset's consumers (the most and a typically used one), a domain's
  producer view (the largest domain), the organisation's patterns (reuse matrix, rising, long tail),
  the candidates; target <= 500 ms each;
- `usage.service.record` alone, p50/p95/p99 over 5,000 events on the full log (target p95 <= 1 ms);
- a real query through the gateway with and without recording its usage event (a small shared table;
  interleaved; "without" still writes the audit rows of the query's decisions, which the gateway
  commits in the same transaction as the usage event).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from threshold.demo.catalog import DATASETS, catalog  # noqa: E402
from threshold.demo.company import DOMAINS, people  # noqa: E402

RUNS_DIR = Path(__file__).parent / ".data" / "runs" / "consumption"
TARGET_VIEW_MS = 500.0
TARGET_RECORD_P95_MS = 1.0
HABIT_RATE = {"daily": 10.0, "weekly": 2.5, "occasional": 0.5, "never": 0.0}
PURPOSES = ("reporting", "planning", "forecasting", "root cause analysis", "audit", "pricing", "monitoring")


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=10_000_000)
    p.add_argument("--datasets", type=int, default=10_000)
    p.add_argument("--people", type=int, default=2_000)
    p.add_argument("--weeks", type=int, default=8)
    p.add_argument("--runs", type=int, default=7, help="timed runs per view (default 7)")
    p.add_argument("--database-url", default=None, help="PostgreSQL instead of the home's SQLite file")
    p.add_argument("--reuse", action="store_true", help="keep a home built by an earlier run with the same sizes")
    p.add_argument("--seed", type=int, default=42)
    return p.parse_args()


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, float]:
    """(median wall, worst wall, median CPU) time in ms of `runs` calls after one warm-up call. CPU time
    (this process, every thread) moves less than wall time when the machine is busy with other work."""
    fn()
    times, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return ms(statistics.median(times)), ms(max(times)), ms(statistics.median(cpu))


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(math.ceil(q * len(s))) - 1)]


# --- Building the organisation --------------------------------------------------------------------------


def build(platform: Any, args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    """People, domains, datasets (catalog rows) and the usage log, bulk inserted."""
    from sqlalchemy import insert

    from threshold.identity.service import ensure_admin
    from threshold.store.models import Column, Dataset, Domain, Membership, User

    platform.init()
    ensure_admin(platform)
    rng = random.Random(args.seed)
    staff = people(args.people / 40, args.seed)[: args.people]
    members = {d.name: [p.name for p in staff if d.name in p.domains] for d in DOMAINS}
    specs = catalog(args.datasets / len(DATASETS), members, lambda source: True, args.seed)[: args.datasets]
    now = datetime.now(UTC).replace(microsecond=0)
    with platform.store.session() as s:
        s.execute(
            insert(Domain),
            [
                {
                    "id": i + 1,
                    "name": d.name,
                    "title": d.title,
                    "description": d.description,
                    "default_visibility": "open",
                    "created_at": now,
                }
                for i, d in enumerate(DOMAINS)
            ],
        )
        domain_id = {d.name: i + 1 for i, d in enumerate(DOMAINS)}
        s.execute(
            insert(User),
            [
                {
                    "id": 1000 + i,
                    "name": p.name,
                    "display_name": p.display_name,
                    "email": p.email,
                    "is_admin": False,
                    "is_governance": False,
                    "attributes": {},
                    "created_at": now,
                }
                for i, p in enumerate(staff)
            ],
        )
        user_id = {p.name: 1000 + i for i, p in enumerate(staff)}
        s.execute(
            insert(Membership),
            [
                {
                    "user_id": user_id[p.name],
                    "domain_id": domain_id[d],
                    "role": "owner" if p.owner and d == p.domains[0] else "member",
                }
                for p in staff
                for d in p.domains
            ],
        )
        start = now - timedelta(weeks=args.weeks + 3)
        s.execute(
            insert(Dataset),
            [
                {
                    "id": i + 1,
                    "domain_id": domain_id[d.domain],
                    "name": d.name,
                    "full_name": d.full_name,
                    "title": "",
                    "description": d.description,
                    "purpose": d.purpose,
                    "stage": "shared",
                    "visibility": None,
                    "allowed_purposes": [],
                    "snapshot_id": 1,
                    "row_count": 1000,
                    "size_bytes": 0,
                    "created_by_id": user_id[d.sharer],
                    "created_at": start,
                    "updated_at": start,
                }
                for i, d in enumerate(specs)
            ],
        )
        columns = [f"c{k}" for k in range(6)]
        s.execute(
            insert(Column),
            [
                {
                    "dataset_id": i + 1,
                    "position": k,
                    "name": c,
                    "label": c,
                    "type": "VARCHAR",
                    "field_id": k + 1,
                    "nullable": True,
                    "top_values": [],
                }
                for i in range(len(specs))
                for k, c in enumerate(columns)
            ],
        )
    log(f"  {len(DOMAINS)} domains, {len(staff)} people, {len(specs)} datasets")
    events = _insert_events(platform, staff, specs, user_id, domain_id, args, rng, log)
    return {
        "people": len(staff),
        "datasets": len(specs),
        "events": events,
        "user_id": user_id,
        "specs": [d.full_name for d in specs],
    }


def _working_sets(staff: list[Any], specs: list[Any], rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per person: the datasets they read and how often (own domain ~70%, Zipf popularity)."""
    n = len(specs)
    rank = np.arange(1, n + 1)
    popularity = 1.0 / rank**1.1  # catalog order: the demo's base datasets first, variants after
    by_domain: dict[str, np.ndarray] = {}
    for d in DOMAINS:
        by_domain[d.name] = np.array([i for i, s in enumerate(specs) if s.domain == d.name])
    out = []
    for p in staff:
        size = int(min(120, max(3, rng.lognormal(math.log(25), 0.6))))
        own = by_domain[p.domains[0]]
        k_own = max(1, int(size * 0.7))
        w_own = popularity[own] / popularity[own].sum()
        chosen_own = rng.choice(own, size=min(k_own, len(own)), replace=False, p=w_own)
        k_other = size - len(chosen_own)
        chosen_other = (
            rng.choice(n, size=k_other, replace=False, p=popularity / popularity.sum())
            if k_other
            else np.array([], dtype=int)
        )
        chosen = np.unique(np.concatenate([chosen_own, chosen_other.astype(int)]))
        weights = popularity[chosen] * rng.uniform(0.2, 3.0, size=len(chosen))
        out.append((chosen, weights / weights.sum()))
    return out


def _insert_events(
    platform: Any,
    staff: list[Any],
    specs: list[Any],
    user_id: dict[str, int],
    domain_id: dict[str, int],
    args: argparse.Namespace,
    pyrng: random.Random,
    log: Callable[[str], None],
) -> int:
    rng = np.random.default_rng(args.seed)
    sets = _working_sets(staff, specs, rng)
    rates = np.array([HABIT_RATE[p.habit] for p in staff])
    per_person = np.floor(rates / rates.sum() * args.events).astype(int)
    per_person[np.argmax(rates)] += args.events - per_person.sum()  # exactly --events
    now = datetime.now(UTC).replace(microsecond=0)
    first_day = (now - timedelta(days=7 * args.weeks)).date()
    days = [
        first_day + timedelta(days=k) for k in range(7 * args.weeks) if (first_day + timedelta(days=k)).weekday() < 5
    ]
    day_starts = np.array([datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() for d in days])
    purposes = [rng.choice(len(PURPOSES), size=3, replace=False) for _ in specs]
    columns = [f"c{k}" for k in range(6)]
    writer = _Writer(platform)
    next_id = 1
    t0 = time.perf_counter()
    written = 0
    for week in range(args.weeks):
        week_days = [i for i, d in enumerate(days) if (d - first_day).days // 7 == week]
        batch_events: list[tuple[Any, ...]] = []
        batch_reads: list[tuple[Any, ...]] = []
        rows: list[tuple[float, int, int, int, int, int]] = []
        for i, p in enumerate(staff):
            n = int(per_person[i] // args.weeks) + (1 if week < per_person[i] % args.weeks else 0)
            if n == 0:
                continue
            chosen, weights = sets[i]
            ds = rng.choice(chosen, size=n, p=weights)
            second = rng.choice(chosen, size=n, p=weights)
            join = rng.random(n) < 1 / 7
            when = day_starts[rng.choice(week_days, size=n)] + rng.triangular(7.5, 10.5, 18.0, size=n) * 3600
            shape = rng.integers(0, 5, size=n)
            status = rng.random(n)
            uid = user_id[p.name]
            for k in range(n):
                rows.append(
                    (
                        when[k],
                        uid,
                        int(ds[k]),
                        int(second[k]) if join[k] and second[k] != ds[k] else -1,
                        int(shape[k]),
                        0 if status[k] < 0.98 else (1 if status[k] < 0.99 else 2),
                    )
                )
        rows.sort()
        for when, uid, d, d2, kind, st in rows:
            at = datetime.fromtimestamp(min(when, now.timestamp() - 60), UTC)
            fp = f"{d:05d}-{d2:05d}-{kind}"
            text = (
                f"SELECT c{kind}, count(*) FROM {specs[d].full_name}"
                + (f" JOIN {specs[d2].full_name}" if d2 >= 0 else "")
                + " GROUP BY ?"
            )
            purpose = None if kind == 4 else PURPOSES[purposes[d][kind % 3]]
            outcome = ("ok", "error", "denied")[st]
            batch_events.append((next_id, at, uid, "python", purpose, fp, text, 10, 5.0, outcome))
            cols = [columns[kind], columns[(kind + 1) % 6]] if outcome == "ok" else []
            batch_reads.append((next_id, d + 1, json.dumps(cols), 1))
            if d2 >= 0:
                batch_reads.append((next_id, d2 + 1, json.dumps(cols), 1))
            next_id += 1
            if len(batch_events) >= 200_000:
                writer.write(batch_events, batch_reads)
                written += len(batch_events)
                batch_events, batch_reads = [], []
        writer.write(batch_events, batch_reads)
        written += len(batch_events)
        log(f"  week {week + 1} of {args.weeks}: {written:,} events so far ({time.perf_counter() - t0:.0f} s)")
    writer.close()
    return written


class _Writer:
    """Bulk insert into usage_events and usage_reads: executemany on SQLite, COPY on PostgreSQL."""

    EVENT_COLUMNS = "id, at, user_id, interface, purpose, fingerprint, query_text, rows, duration_ms, status"

    def __init__(self, platform: Any) -> None:
        self.conn = platform.store.engine.raw_connection()
        self.pg = platform.store.engine.dialect.name == "postgresql"

    def write(self, events: list[tuple[Any, ...]], reads: list[tuple[Any, ...]]) -> None:
        if not events:
            return
        cur = self.conn.cursor()
        if self.pg:
            with cur.copy(f"COPY usage_events ({self.EVENT_COLUMNS}) FROM STDIN") as copy:
                for row in events:
                    copy.write_row(row)
            with cur.copy("COPY usage_reads (event_id, dataset_id, columns, snapshot_id) FROM STDIN") as copy:
                for row in reads:
                    copy.write_row(row)
        else:
            fmt = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite
            cur.executemany(
                f"INSERT INTO usage_events ({self.EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(e[0], e[1].strftime(fmt), *e[2:]) for e in events],
            )
            cur.executemany(
                "INSERT INTO usage_reads (event_id, dataset_id, columns, snapshot_id) VALUES (?,?,?,?)", reads
            )
        self.conn.commit()
        cur.close()

    def close(self) -> None:
        if self.pg:
            cur = self.conn.cursor()
            cur.execute(
                "SELECT setval(pg_get_serial_sequence('usage_events', 'id'), (SELECT max(id) FROM usage_events))"
            )
            self.conn.commit()
        self.conn.close()


# --- Measuring -----------------------------------------------------------------------------------------------


def measure_views(
    platform: Any, args: argparse.Namespace, built: dict[str, Any], log: Callable[[str], None]
) -> dict[str, Any]:
    from sqlalchemy import func, select

    from threshold.products.candidates import list_candidates
    from threshold.products.consumption import dataset_consumers
    from threshold.products.models import UsageWeekly
    from threshold.products.patterns import org_patterns
    from threshold.products.producers import domain_view

    with platform.store.session() as s:
        by_use = s.execute(
            select(UsageWeekly.dataset_id, func.sum(UsageWeekly.queries))
            .group_by(UsageWeekly.dataset_id)
            .order_by(func.sum(UsageWeekly.queries).desc())
        ).all()
        rows = s.scalar(select(func.count()).select_from(UsageWeekly))
    names = built["specs"]
    top, typical = names[by_use[0][0] - 1], names[by_use[len(by_use) // 2][0] - 1]
    domains: dict[str, int] = {}
    for n in names:
        domains[n.split(".")[0]] = domains.get(n.split(".")[0], 0) + 1
    biggest = max(domains, key=lambda d: domains[d])
    log(f"  usage_weekly rollup rows: {rows:,}; {len(by_use):,} datasets used")
    views = {
        f"consumers of the most used dataset ({top}, {by_use[0][1]:,} reads)": lambda: dataset_consumers(platform, top),
        f"consumers of a typical dataset ({typical}, {by_use[len(by_use) // 2][1]:,} reads)": lambda: dataset_consumers(
            platform, typical
        ),
        f"producer view of the largest domain ({biggest}, {domains[biggest]:,} datasets)": lambda: domain_view(
            platform, biggest
        ),
        "org patterns (reuse matrix, rising/falling, long tail, by domain)": lambda: org_patterns(platform),
        "candidates (scored, with reasons and what promoting needs)": lambda: list_candidates(platform),
    }
    out = {}
    for label, fn in views.items():
        median, worst, cpu = timed(fn, args.runs)
        out[label] = (median, worst)
        log(f"  {label:<86} median {median:>6.1f} ms  worst {worst:>6.1f} ms  cpu {cpu:>6.1f} ms")
    return out


def measure_record(platform: Any, built: dict[str, Any], n: int, log: Callable[[str], None]) -> dict[str, float]:
    """`usage.service.record` alone, on the full log: one event reading one or two datasets."""
    from threshold.usage.service import UsageRecord, record

    rng = random.Random(7)
    uids = list(built["user_id"].values())
    times = []
    for i in range(n):
        d = rng.randrange(built["datasets"]) + 1
        reads = [(d, ["c1", "c2"], 1)] + ([(d % built["datasets"] + 1, ["c1"], 1)] if i % 7 == 0 else [])
        rec = UsageRecord(
            user_id=rng.choice(uids),
            interface="python",
            purpose="planning",
            fingerprint=f"new-{i % 50}",
            query_text="SELECT c1, count(*) FROM x GROUP BY ?",
            rows=10,
            duration_ms=3.0,
            status="ok",
            reads=reads,
        )
        t = time.perf_counter()
        record(platform, rec)
        times.append(time.perf_counter() - t)
    out = {"p50": ms(percentile(times, 0.5)), "p95": ms(percentile(times, 0.95)), "p99": ms(percentile(times, 0.99))}
    log(f"  usage.service.record alone, {n:,} events: p50 {out['p50']} ms  p95 {out['p95']} ms  p99 {out['p99']} ms")
    return out


def measure_gateway(platform: Any, runs: int, log: Callable[[str], None]) -> dict[str, float]:
    """A real query through the gateway, with and without recording its usage event (interleaved)."""
    import pyarrow as pa

    from threshold.errors import Conflict
    from threshold.gateway import service as gateway
    from threshold.identity.service import ADMIN, add_domain, get_person
    from threshold.sharing.service import share

    try:
        add_domain(platform, "bench", owners=(ADMIN,))
        table = pa.table({"plant": [f"P{i % 5}" for i in range(1000)], "output": list(range(1000))})
        share(platform, table, domain="bench", name="kpis", user=get_person(platform, ADMIN))
    except Conflict:
        pass  # a reused home has it already
    admin = get_person(platform, ADMIN)
    sql = "SELECT plant, sum(output) AS output FROM bench.kpis WHERE output > 10 GROUP BY plant"
    real = gateway.record

    def audit_only(platform: Any, rec: Any, *, audit: Any = None) -> int:
        """What the gateway would write without usage recording: only the audit rows of its decisions."""
        from sqlalchemy import insert

        from threshold.store.models import AuditEntry

        if audit:
            with platform.store.session() as s:
                s.execute(insert(AuditEntry), audit)
        return 0

    with_rec: list[float] = []
    without: list[float] = []
    for i in range(runs * 2 + 20):
        skip = i % 2 == 1
        gateway.record = audit_only if skip else real  # type: ignore[assignment]
        t = time.perf_counter()
        gateway.query(platform, sql, user=admin, purpose="bench", interface="python")
        (without if skip else with_rec).append(time.perf_counter() - t)
    gateway.record = real  # type: ignore[assignment]
    with_rec, without = with_rec[10:], without[10:]  # warm-up
    out = {
        "with_p50": ms(percentile(with_rec, 0.5)),
        "with_p95": ms(percentile(with_rec, 0.95)),
        "without_p50": ms(percentile(without, 0.5)),
        "without_p95": ms(percentile(without, 0.95)),
    }
    out["added_p50"] = round(out["with_p50"] - out["without_p50"], 2)
    out["added_p95"] = round(out["with_p95"] - out["without_p95"], 2)
    log(
        f"  gateway query, {len(with_rec)} runs each: with recording p50 {out['with_p50']} / p95 {out['with_p95']} ms; "
        f"without p50 {out['without_p50']} / p95 {out['without_p95']} ms; added p50 {out['added_p50']} ms, "
        f"p95 {out['added_p95']} ms"
    )
    return out


def main() -> None:
    args = parse()
    from threshold.platform import Platform
    from threshold.products import rollup

    log = print
    home = RUNS_DIR / f"e{args.events}-d{args.datasets}-p{args.people}-w{args.weeks}"
    marker = home / "built.json"
    overrides = {"database_url": args.database_url} if args.database_url else {}
    if args.reuse and marker.exists() and not args.database_url:
        built = json.loads(marker.read_text())
        platform = Platform.open(home)
        log(f"reusing {home}: {built['events']:,} events")
    else:
        shutil.rmtree(home, ignore_errors=True)
        platform = Platform.open(home, must_exist=False, **overrides)
        log(
            f"building {args.events:,} usage events over {args.weeks} weeks, {args.datasets:,} datasets, "
            f"{args.people:,} people (bulk insert) …"
        )
        t = time.perf_counter()
        built = build(platform, args, log)
        log(f"  built in {time.perf_counter() - t:.0f} s")
        if not args.database_url:
            marker.write_text(json.dumps(built))
    t = time.perf_counter()
    counted = rollup.refresh(platform)
    build_s = time.perf_counter() - t
    if counted:
        log(f"rollups built from the whole log: {counted:,} events in {build_s:.0f} s (once)")
    log("consumption views (warm):")
    views = measure_views(platform, args, built, log)
    log("recording a usage event:")
    rec = measure_record(platform, built, 5_000, log)
    t = time.perf_counter()
    caught = rollup.refresh(platform)
    log(f"  rollups caught up on {caught:,} new events in {ms(time.perf_counter() - t)} ms (at the next view)")
    gw = measure_gateway(platform, 200, log)
    worst = max(w for _m, w in views.values())
    log("")
    log(f"views: worst {worst} ms (target {TARGET_VIEW_MS:.0f} ms) -> {'OK' if worst <= TARGET_VIEW_MS else 'MISSED'}")
    log(
        f"record p95: {rec['p95']} ms, gateway added p95: {gw['added_p95']} ms (target {TARGET_RECORD_P95_MS} ms) -> "
        f"{'OK' if max(rec['p95'], gw['added_p95']) <= TARGET_RECORD_P95_MS else 'MISSED'}"
    )
    platform.close()


if __name__ == "__main__":
    main()
