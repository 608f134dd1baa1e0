"""Benchmark: catalog search latency at 10,000 datasets.

Fills a fresh home's metadata store with `--datasets` datasets (names, titles, descriptions and twelve
labelled columns each, drawn from the demo catalogue's vocabulary, one tag on a third of them), written
through the ORM in transactions of 500 so the search index is kept up the way shares keep it. Then runs
the labelled queries of `tests/fixtures/search/queries.tsv` (typos, plurals, business and German words)
as a reader outside most domains (the visibility filter applies), `--rounds` times, and prints the
median and p95 latency of `catalog.search.search` (first page of 20). Baseline in the same run: the
empty search (the first page of the listing, no index involved). Target: p95 <= 100 ms.

    .venv/bin/python benchmarks/bench_search.py [--datasets 10000] [--rounds 3] [--backend sqlite|postgres]

`--backend postgres` needs THRESHOLD_TEST_POSTGRES_URL (a database is created and dropped).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from threshold.catalog.search import search
from threshold.demo.catalog import DATASETS, VARIANT_SITES
from threshold.identity.service import add_domain, add_user, get_person
from threshold.platform import Platform
from threshold.store.models import Column, Dataset, Domain, Tag
from threshold.store.search_index import words

QUERIES = Path(__file__).parents[1] / "tests" / "fixtures" / "search" / "queries.tsv"
TAGS = ("personal.email", "personal.name", "personal.phone", "confidential", "finance.iban")


def _vocabulary() -> list[str]:
    found = {w for spec in DATASETS for w in words(f"{spec.description} {spec.purpose}") if len(w) > 2}
    return sorted(found)


def fill(platform: Platform, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    vocab = _vocabulary()
    domains = sorted({spec.domain for spec in DATASETS})
    for d in domains:
        add_domain(platform, d)
    with platform.store.session() as s:
        domain_ids = {d.name: d.id for d in s.query(Domain).all()}
    made = 0
    while made < n:
        with platform.store.session() as s:
            for _ in range(min(500, n - made)):
                spec = DATASETS[made % len(DATASETS)]
                site = VARIANT_SITES[(made // len(DATASETS)) % len(VARIANT_SITES)]
                name = f"{spec.name}_{site}_{made}"
                cols = [f"{rng.choice(vocab)}_{rng.choice(vocab)}" for _ in range(12)]
                d = Dataset(
                    domain_id=domain_ids[spec.domain],
                    name=name,
                    full_name=f"{spec.domain}.{name}",
                    title=name.replace("_", " ").capitalize(),
                    description=f"{spec.description} Site {site}.",
                    purpose=spec.purpose,
                    visibility="restricted" if made % 10 == 0 else None,
                    snapshot_id=made + 1,
                )
                d.columns = [
                    Column(position=i, name=c, label=c.replace("_", " ").title(), type="VARCHAR", field_id=i + 1)
                    for i, c in enumerate(dict.fromkeys(cols))
                ]
                if made % 3 == 0:
                    d.tags = [Tag(tag=rng.choice(TAGS), column_name=d.columns[0].name)]
                s.add(d)
                made += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = ap.parse_args()
    queries = [
        line.split("\t")[0]
        for line in QUERIES.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    with tempfile.TemporaryDirectory() as tmp:
        overrides: dict[str, object] = {}
        pg_admin = None
        if args.backend == "postgres":
            import sqlalchemy as sa

            base = os.environ["THRESHOLD_TEST_POSTGRES_URL"]
            db = f"bench_search_{uuid.uuid4().hex[:8]}"
            pg_admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
            with pg_admin.connect() as c:
                c.execute(sa.text(f"CREATE DATABASE {db}"))
            overrides["database_url"] = base.rsplit("/", 1)[0] + f"/{db}"
        platform = Platform.open(Path(tmp) / "home", must_exist=False, **overrides)
        try:
            platform.init()
            started = time.perf_counter()
            fill(platform, args.datasets)
            fill_s = time.perf_counter() - started
            add_user(platform, "reader", password="reader-pass")
            reader = get_person(platform, "reader")
            timings: list[float] = []
            listing: list[float] = []
            for _ in range(args.rounds):
                for q in queries:
                    t0 = time.perf_counter()
                    search(platform, q, per_page=20, viewer=reader)
                    timings.append((time.perf_counter() - t0) * 1000)
                    t0 = time.perf_counter()
                    search(platform, None, per_page=20, viewer=reader)
                    listing.append((time.perf_counter() - t0) * 1000)
        finally:
            platform.close()
            if pg_admin is not None:
                with pg_admin.connect() as c:
                    c.execute(sa.text(f"DROP DATABASE {db} WITH (FORCE)"))
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]
    load = os.getloadavg()
    print(f"backend {args.backend}: {args.datasets:,} datasets indexed in {fill_s:.1f} s")
    print(f"search ({len(queries)} labelled queries x {args.rounds} rounds, reader outside the domains):")
    print(
        f"  median {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms "
        "(target p95 <= 100 ms)"
    )
    print(f"  listing baseline (empty search, first page): median {statistics.median(listing):.1f} ms")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
