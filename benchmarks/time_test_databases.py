"""What a PostgreSQL-parametrised test pays for its own metadata database, and what a pool saves.

    set -a; . ./.test-env; set +a; .venv/bin/python benchmarks/time_test_databases.py --runs 15

Builds the test suite's `org` home on PostgreSQL once (as `tests/conftest.py` does), then times, with the
ways alternating round by round, what a test waits for before its home opens and after it closes:

- `create`: `CREATE DATABASE x TEMPLATE org` (the default WAL_LOG strategy), then `DROP DATABASE`,
  both on the test's thread (the suite before the pool);
- `file_copy`: the same with `STRATEGY FILE_COPY`;
- `pool`: take a copy a background thread made ahead (`tests/pgpool.py`) and hand the used one back to
  be dropped there: what the test waits for when the pool keeps up.

Prints the median wait per way and the ratio to `create`. The server does the same work either way:
the pool moves it off the test's thread, into time the test spends elsewhere. Not named
`bench_*.py`: `make bench` does not run it (it needs THRESHOLD_TEST_POSTGRES_URL, from scripts/test-services.sh).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--work", type=float, default=0.5, help="seconds a test 'runs' between taking and giving back")
    args = parser.parse_args()
    url = os.environ.get("THRESHOLD_TEST_POSTGRES_URL")
    if not url:
        sys.exit("THRESHOLD_TEST_POSTGRES_URL not set: run scripts/test-services.sh and source .test-env")

    import conftest  # the suite's own PreparedHomes and database helpers
    import pgpool

    with tempfile.TemporaryDirectory(prefix="bench-test-db-") as tmp:
        homes = conftest.PreparedHomes(Path(tmp))
        _, template, _ = homes._prepare("org", "postgres")
        assert template
        name = template.rsplit("/", 1)[1]
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            size = c.execute(sa.text(f"SELECT pg_database_size('{name}')")).scalar_one()
        print(f"template database {name}: {size / 1e6:.1f} MB; load average {os.getloadavg()[0]:.1f}")

        def plain(strategy: str = "") -> float:
            start = time.perf_counter()
            copy = conftest._postgres_database(template=template, strategy=strategy)
            waited = time.perf_counter() - start
            time.sleep(args.work)  # the test
            start = time.perf_counter()
            conftest._drop_postgres_database(copy)
            return waited + time.perf_counter() - start

        pool = pgpool.DatabasePool(url)

        def pooled() -> float:
            start = time.perf_counter()
            copy = pool.take(template)
            waited = time.perf_counter() - start
            time.sleep(args.work)
            start = time.perf_counter()
            pool.give_back(copy)
            return waited + time.perf_counter() - start

        ways = {"create": plain, "file_copy": lambda: plain("FILE_COPY"), "pool": pooled}
        pool.take(template)  # the first take makes its copy on the spot and starts keeping spares
        times: dict[str, list[float]] = {w: [] for w in ways}
        for _ in range(args.runs):
            for way, run in ways.items():
                times[way].append(run())
        pool.close()
        homes.close()
        admin.dispose()
    base = statistics.median(times["create"])
    print(f"{'way':<10} {'median wait (s)':>16} {'ratio':>7}")
    for way, ts in times.items():
        print(f"{way:<10} {statistics.median(ts):>16.3f} {statistics.median(ts) / base:>7.2f}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
