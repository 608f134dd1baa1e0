"""Eight appenders at once, three rounds, on SQLite and PostgreSQL: every row lands exactly once.

Appends to one dataset are serialised by its writer lock (flock on SQLite, an advisory lock on
PostgreSQL), so none is lost to a commit conflict and the published row count is exact.
"""

from __future__ import annotations

import threading

import pyarrow as pa

from threshold.catalog.service import describe
from threshold.gateway.service import query
from threshold.identity.service import ADMIN, add_domain, get_person
from threshold.platform import Platform
from threshold.sharing.service import share

WRITERS = 8
ROUNDS = 3
ROWS = 25


def _rows(writer: int, round_: int) -> pa.Table:
    first = (writer * ROUNDS + round_) * 1000
    return pa.table({"id": pa.array(range(first, first + ROWS), pa.int64()), "writer": [writer] * ROWS})


def test_eight_concurrent_appenders_three_rounds_land_every_row_exactly_once(any_platform: Platform) -> None:
    add_domain(any_platform, "d")
    admin = get_person(any_platform, ADMIN)
    share(any_platform, _rows(99, 0).slice(0, 1), domain="d", name="t", user=admin)
    failures: list[BaseException] = []

    for round_ in range(ROUNDS):
        start = threading.Barrier(WRITERS)

        def append(writer: int, r: int = round_, barrier: threading.Barrier = start) -> None:
            barrier.wait()
            try:
                share(any_platform, _rows(writer, r), domain="d", name="t", mode="append", user=admin)
            except BaseException as e:
                failures.append(e)

        threads = [threading.Thread(target=append, args=(w,)) for w in range(WRITERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert not failures, failures

    expected = 1 + WRITERS * ROUNDS * ROWS
    per_writer = query(
        any_platform,
        "SELECT writer, count(*) AS n, count(DISTINCT id) AS ids FROM d.t GROUP BY writer ORDER BY 1",
        user=admin,
    ).table.to_pylist()
    assert per_writer == [{"writer": w, "n": ROUNDS * ROWS, "ids": ROUNDS * ROWS} for w in range(WRITERS)] + [
        {"writer": 99, "n": 1, "ids": 1}
    ]
    record = describe(any_platform, "d.t")
    assert record.rows == expected and len(record.history) == 1 + WRITERS * ROUNDS
    assert len(any_platform.lake.load("d.t").snapshots()) == 1 + WRITERS * ROUNDS
