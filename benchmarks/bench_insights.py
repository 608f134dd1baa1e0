"""Benchmark, insights (issue 14): the insight page with a kept result among 1,000 insights, what a rerun
costs on top of its gateway query, and the median time to draw one chart.

    .venv/bin/python benchmarks/bench_insights.py [--insights 1000] [--rows 200000] [--runs 200]

A fresh home (temporary folder): domains manufacturing (anna) and finance (ben), a dataset
`manufacturing.plant_days` of `--rows` rows (plant, line, day, output, energy, operator e-mail), and
`--insights` insights saved by anna through the service (mostly explored specs, a parameter on some).

1. Insight page, kept result: ben (another domain: the e-mail is masked for him) opens one insight's
   HTML page over the ASGI app in-process (`httpx.ASGITransport`), after one warm-up that computes and
   keeps his result. Each request re-decides his read, reuses the kept result (recorded as a governed
   read), formats it, and renders the page with its chart. p50/p95 of `--runs`; target p95 <= 300 ms.
   The JSON twin and the list page (/insights.json, all 1,000 visible) are timed too.
2. Rerun overhead: `runs.rerun` (fresh result, kept, run recorded, subscribers checked) against
   `gateway.query` of the same bound SQL as the same person, alternating; medians; target
   rerun - query <= 50 ms.
3. Charts: `charts.svg` of four results (bar, line, scatter, heat map), median of `--chart-runs` each.
Every figure is printed with the load average: quote it beside the figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa


def _table(rows: int) -> pa.Table:
    plants = ["Berlin", "Lyon", "Porto", "Gernsheim", "Darmstadt"]
    start = date(2025, 1, 1)
    return pa.table(
        {
            "plant": [plants[i % 5] for i in range(rows)],
            "line": [f"L{i % 3 + 1}" for i in range(rows)],
            "day": [start + timedelta(days=i % 400) for i in range(rows)],
            "output_units": [1000 + (i * 37) % 900 for i in range(rows)],
            "energy_kwh": [3000.0 + ((i * 53) % 1700) / 3 for i in range(rows)],
            "operator_email": [f"op{i % 40}@example.com" for i in range(rows)],
        }
    )


def _specs(n: int) -> list[dict[str, Any]]:
    """A mix of what people save: grouped summaries, a time series, raw rows, a parameter."""
    kinds: list[dict[str, Any]] = [
        {"group_by": ["plant"], "aggregates": [{"fn": "sum", "column": "energy_kwh"}]},
        {"group_by": ["day"], "grain": {"day": "month"}, "aggregates": [{"fn": "sum", "column": "output_units"}]},
        {"group_by": ["plant", "line"], "aggregates": [{"fn": "avg", "column": "energy_kwh"}]},
        {"group_by": ["line"], "aggregates": [{"fn": "count"}], "filters": [{"column": "plant", "param": "plant"}]},
        {"columns": ["plant", "operator_email", "energy_kwh"], "limit": 200},
    ]
    return [{"dataset": "manufacturing.plant_days"} | kinds[i % len(kinds)] for i in range(n)]


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f} {five:.1f} {fifteen:.1f}"


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def build(home: Path, rows: int, n: int) -> tuple[Any, list[int]]:
    from threshold.identity.service import add_domain, add_user, ensure_admin, get_person
    from threshold.insights import service
    from threshold.platform import Platform
    from threshold.sharing.service import share

    platform = Platform.open(home, must_exist=False)
    platform.init()
    ensure_admin(platform)
    for name in ("anna", "ben"):
        add_user(platform, name, display_name=name.title(), password=f"{name}-pass")
    add_domain(platform, "manufacturing", owners=("anna",))
    add_domain(platform, "finance", owners=("ben",))
    anna = get_person(platform, "anna")
    share(platform, _table(rows), domain="manufacturing", name="plant_days", user=anna, purpose="benchmark")
    plant = [{"name": "plant", "type": "text", "default": "Lyon"}]
    ids = []
    started = time.perf_counter()
    for i, spec in enumerate(_specs(n)):
        params = plant if spec.get("filters") else None
        ids.append(service.save(platform, anna, title=f"Question {i}", explore=spec, parameters=params).id)
    print(f"saved {n} insights in {time.perf_counter() - started:.1f} s ({_load()})")
    return platform, ids


class Browser:
    def __init__(self, app: Any) -> None:
        self.runner = asyncio.Runner()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.runner.run(self.client.get(url, **kw))

    def sign_in(self, user: str) -> None:
        import re

        page = self.get("/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf, "no CSRF token on the login page"
        r = self.runner.run(
            self.client.post("/login", data={"username": user, "password": f"{user}-pass", "csrf": csrf.group(1)})
        )
        assert r.status_code == 303, r.text[:200]


def time_pages(platform: Any, insight_id: int, runs: int) -> None:
    from threshold.api.app import create_app

    browser = Browser(create_app(platform))
    browser.sign_in("ben")
    for url in (f"/insights/{insight_id}", f"/insights/{insight_id}.json", "/insights.json"):
        first = browser.get(url)
        assert first.status_code == 200, (url, first.status_code, first.text[:200])
        times = []
        for _ in range(runs if "insights/" in url else max(20, runs // 10)):
            t = time.perf_counter()
            r = browser.get(url)
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200
        print(
            f"GET {url:<22} p50 {statistics.median(times):7.1f} ms  p95 {_pct(times, 95):7.1f} ms  "
            f"({len(times)} requests, {_load()})"
        )


def time_rerun(platform: Any, insight_id: int, runs: int) -> None:
    from threshold.gateway.service import query
    from threshold.identity.service import get_person
    from threshold.insights import service
    from threshold.insights.parameters import bind, parse_parameters, values_for
    from threshold.insights.runs import rerun

    anna = get_person(platform, "anna")
    insight, version = service.load_for(platform, anna, insight_id)
    params = parse_parameters(version.parameters)
    sql = bind(version.sql, params, values_for(params, None))
    bare, full = [], []
    for _ in range(runs):
        t = time.perf_counter()
        query(platform, sql, user=anna, purpose=insight.purpose or None, interface="python")
        bare.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        rerun(platform, anna, insight_id)
        full.append((time.perf_counter() - t) * 1000)
    b, f = statistics.median(bare), statistics.median(full)
    print(f"rerun median {f:.1f} ms vs gateway query {b:.1f} ms: overhead {f - b:+.1f} ms (target <= 50; {_load()})")


def time_charts(platform: Any, ids: list[int], runs: int) -> None:
    from threshold.identity.service import get_person
    from threshold.insights import charts, service
    from threshold.insights.results import result_for

    anna = get_person(platform, "anna")
    seen: set[str] = set()
    for insight_id in ids[:5]:
        insight, version = service.load_for(platform, anna, insight_id)
        table = result_for(platform, anna, insight, version, None, interface="python").table
        spec = charts.resolve(table, charts.ChartSpec.from_dict(version.chart))
        if spec.kind in seen or spec.kind == "table":
            continue
        seen.add(spec.kind)
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            charts.svg(table, spec)
            times.append((time.perf_counter() - t) * 1000)
        print(f"chart {spec.kind:<8} {table.num_rows:>4} points: median {statistics.median(times):6.1f} ms ({_load()})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--insights", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--rerun-runs", type=int, default=15)
    ap.add_argument("--chart-runs", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="threshold-bench-insights-") as tmp:
        platform, ids = build(Path(tmp) / "home", args.rows, args.insights)
        try:
            time_pages(platform, ids[len(ids) // 2], args.runs)
            time_rerun(platform, ids[0], args.rerun_runs)
            time_charts(platform, ids, args.chart_runs)
        finally:
            platform.close()


if __name__ == "__main__":
    main()
