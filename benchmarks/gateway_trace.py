"""Where a gateway query's time goes: `bench_gateway.py --trace` wraps the gateway's phases with timers.

A benchmark shim, not product code: it replaces module attributes of `threshold.gateway.service`,
the engine and the usage record with timing wrappers, and records

- per query and side, the wall time of each gateway phase (parse, resolve, decide, bind, engine start,
  batches, usage record...), so a slow run says which phase carries the extra milliseconds;
- Python's garbage collections (time spent, and which side's queries they fell in);
- at the end, the CPU time of every thread of the process (DuckDB's workers, the flusher, the watchdog).
"""

from __future__ import annotations

import gc
import os
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

PHASES = (
    "metadata_version",
    "admit",
    "check",
    "resolve",
    "decide",
    "bind",
    "fingerprint",
    "columns_read",
    "ensure_views",
    "engine.prepare",
    "engine.start",
    "engine.batches",
    "record",
    "publish",
)


class Trace:
    def __init__(self) -> None:
        self.side: str | None = None
        self.query: str | None = None
        self.current: dict[str, float] = defaultdict(float)
        self.phases: dict[tuple[str, str], list[dict[str, float]]] = defaultdict(list)
        self.intervals: dict[str, list[tuple[float, float, str]]] = defaultdict(list)  # side -> (t0, t1, q)
        self.gcs: list[tuple[float, float, int]] = []  # (t0, t1, generation)
        self._gc_start: float | None = None
        self._main = threading.get_ident()

    # -- installing -------------------------------------------------------------------------------

    def wrap(self, owner: Any, attr: str, phase: str) -> None:
        fn = getattr(owner, attr)
        trace = self

        def timed(*a: Any, **k: Any) -> Any:
            if threading.get_ident() != trace._main:
                return fn(*a, **k)
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                trace.current[phase] += time.perf_counter() - t

        setattr(owner, attr, timed)

    def install(self, client: Any) -> None:
        from threshold import events
        from threshold.engines import duckdb as engine_mod
        from threshold.gateway import service

        platform = client.platform
        self.wrap(platform.store, "metadata_version", "metadata_version")
        self.wrap(platform.limits, "admit", "admit")
        for attr, phase in (
            ("check", "check"),
            ("_resolve", "resolve"),
            ("decide", "decide"),
            ("_bind", "bind"),
            ("fingerprint", "fingerprint"),
            ("columns_read_cached", "columns_read"),
            ("record_soon", "record"),
        ):
            self.wrap(service, attr, phase)
        self.wrap(events, "publish", "publish")
        engine = platform.engine
        self.wrap(engine, "ensure_views", "ensure_views")
        self.wrap(engine, "prepare", "engine.prepare")
        self.wrap(engine_mod.Running, "start", "engine.start")
        self.wrap(engine_mod.Running, "next_batch", "engine.batches")

        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        elif self._gc_start is not None:
            self.gcs.append((self._gc_start, time.perf_counter(), info.get("generation", -1)))
            self._gc_start = None

    # -- around each timed query --------------------------------------------------------------------

    def around(self, side: str, name: str, run: Callable[[str], Any]) -> Callable[[str], Any]:
        def traced(sql: str) -> Any:
            self.current = defaultdict(float)
            t = time.perf_counter()
            try:
                return run(sql)
            finally:
                t1 = time.perf_counter()
                self.intervals[side].append((t, t1, name))
                if side == "threshold":
                    row = dict(self.current)
                    row["total"] = t1 - t
                    self.phases[(side, name)].append(row)

        return traced

    # -- reporting ----------------------------------------------------------------------------------

    def overlap(self, spans: list[tuple[float, float, Any]], side: str) -> float:
        total = 0.0
        for a0, a1, _ in spans:
            for b0, b1, _ in self.intervals[side]:
                total += max(0.0, min(a1, b1) - max(a0, b0))
        return total

    def report(self, plain: dict[str, float]) -> None:
        """Print medians per phase (ms per query) and what ran beside the queries."""
        print("\n--trace: gateway phases, median ms per query (engine.* is DuckDB; 'python' is the rest)")
        names = sorted({q for _, q in self.phases})
        shown = [p for p in PHASES if any(p in r for rows in self.phases.values() for r in rows)]
        head = "".join(f"{p.split('.')[-1][:9]:>10}" for p in shown)
        print(f"{'query':<6}{head}{'python':>9}{'gateway':>9}{'duckdb':>9}")
        sums: dict[str, float] = defaultdict(float)
        for q in names:
            rows = self.phases[("threshold", q)]
            med = {p: statistics.median(r.get(p, 0.0) for r in rows) * 1000 for p in shown}
            total = statistics.median(r["total"] for r in rows) * 1000
            engine = sum(v for p, v in med.items() if p.startswith("engine."))
            python = total - engine
            for p, v in med.items():
                sums[p] += v
            sums["python"] += python
            sums["gateway"] += total
            sums["duckdb"] += plain[q] * 1000
            cells = "".join(f"{med[p]:>10.2f}" for p in shown)
            print(f"{q:<6}{cells}{python:>9.2f}{total:>9.1f}{plain[q] * 1000:>9.1f}")
        cells = "".join(f"{sums[p]:>10.1f}" for p in shown)
        print(f"{'sum':<6}{cells}{sums['python']:>9.1f}{sums['gateway']:>9.1f}{sums['duckdb']:>9.1f}")
        engine_sum = sum(v for p, v in sums.items() if p.startswith("engine."))
        print(
            f"engine (start + batches) {engine_sum:.1f} ms vs plain DuckDB {sums['duckdb']:.1f} ms: "
            f"{engine_sum - sums['duckdb']:+.1f} ms in DuckDB itself; {sums['python']:.1f} ms around it"
        )
        gc_wall = sum(t1 - t0 for t0, t1, _ in self.gcs)
        by_gen: defaultdict[int, int] = defaultdict(int)
        for *_, g in self.gcs:
            by_gen[g] += 1
        print(
            f"Python GC: {len(self.gcs)} collections {dict(sorted(by_gen.items()))}, {gc_wall * 1000:.1f} ms; "
            f"inside gateway queries {self.overlap(self.gcs, 'threshold') * 1000:.1f} ms, "
            f"inside plain queries {self.overlap(self.gcs, 'duckdb') * 1000:.1f} ms"
        )
        print("CPU time per thread of this process (s):")
        for name, cpu in thread_cpu():
            print(f"  {name:<24}{cpu:>8.2f}")


def thread_cpu() -> list[tuple[str, float]]:
    """(thread name, user + system CPU seconds) of every thread, from /proc (Linux); busiest first."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    out = []
    for task in Path("/proc/self/task").glob("*"):
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        out.append((f"{name} [{task.name}]", (int(fields[11]) + int(fields[12])) / tick))
    return sorted(out, key=lambda x: -x[1])
