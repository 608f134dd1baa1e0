"""A hand-built usage history: who read what, in which week, for which purpose — as data.

On top of the `org` of tests/conftest.py (anna owns manufacturing, ben owns finance, carla is in sales)
the fixtures add people, domains and datasets, then record the usage events of `HISTORY` through
`usage.service.record` (the gateway's own recorder) at fixed times in past weeks. Every expected
figure in the tests follows from this table, by hand.

Weeks are counted back from the Monday of the week the history is built for (week 1 = last week); each
dataset is read on its own weekday at 10:00 UTC (+5 minutes per extra query), so datasets are used
"together" only where a row below says so.

The history is built for the instant of the platform's clock when `build_history` starts (`History.built_for`)
and every home holding it runs on `history_clock`: that instant, ticking on, never past the end of its week.
A run that crosses Monday 00:00 UTC (the home is built once per run and copied for each module and test)
still reads the history in the week it was built for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from threshold.identity.service import ADMIN, Person, add_domain, add_user, get_person, join_domain
from threshold.platform import Platform
from threshold.products.rollup import monday
from threshold.runtime import Clock, system_clock
from threshold.store.models import Dataset
from threshold.usage.service import UsageRecord, record

KPIS = "manufacturing.plant_kpis"
SENSORS = "manufacturing.sensors"
OLD = "manufacturing.old_report"
INVOICES = "finance.invoices"
ORDERS = "sales.orders"
SECRET = "sales.secret"
SHIPMENTS = "supply_chain.shipments"

DATASETS = {
    SENSORS: ("gus", "Machine,Temp,Day\nM1,70.5,2026-01-03\nM2,,2026-01-04\nM3,68.0,2026-01-05\n"),
    OLD: ("anna", "Year,Output\n2019,100\n2020,120\n"),
    INVOICES: ("ben", "Invoice Id,Amount,Supplier\nI-1,100.5,S1\nI-2,80.0,S2\n"),
    ORDERS: ("carla", "Order Id,Quantity,Plant\nO-1,5,Lyon\nO-2,7,Porto\n"),
    SECRET: ("carla", "Deal,Margin\nD-1,0.3\n"),
    SHIPMENTS: ("dora", "Shipment,Delay Days\nSH-1,2\nSH-2,0\n"),
}
"""Datasets shared on top of plant_kpis: name -> (who shares it, CSV)."""

WEEKDAY = {KPIS: 1, SENSORS: 2, INVOICES: 3, SHIPMENTS: 4, ORDERS: 0, SECRET: 0}

QUESTIONS = {
    "energy": "SELECT plant, sum(energy_kwh) FROM manufacturing.plant_kpis WHERE day >= ? GROUP BY plant",
    "delivery": "SELECT plant, count(*) FROM manufacturing.plant_kpis WHERE plant = ? GROUP BY plant",
    "capacity": "SELECT day, count(*) FROM manufacturing.plant_kpis GROUP BY day",
    "review": "SELECT plant, avg(scrap_rate) FROM manufacturing.plant_kpis GROUP BY plant",
    "browse": "SELECT * FROM manufacturing.plant_kpis LIMIT ?",
    "health": "SELECT machine, max(temp) FROM manufacturing.sensors GROUP BY machine",
    "both": "SELECT k.plant, s.machine FROM manufacturing.plant_kpis AS k JOIN manufacturing.sensors AS s ON ?",
    "close": "SELECT supplier, sum(amount) FROM finance.invoices GROUP BY supplier",
    "delays": "SELECT avg(delay_days) FROM supply_chain.shipments",
    "orders": "SELECT plant, sum(quantity) FROM sales.orders GROUP BY plant",
}

# (datasets read, person, weeks ago, reads per week, declared purpose, question, columns read)
HISTORY: list[tuple[tuple[str, ...], str, tuple[int, ...], int, str | None, str, tuple[str, ...]]] = [
    ((KPIS,), "ben", (1, 2, 3, 4, 5, 6, 7), 2, "energy cost forecast", "energy", ("plant", "day", "energy_kwh")),
    ((KPIS,), "eve", (1, 2, 3), 1, "energy cost forecast", "energy", ("plant", "day", "energy_kwh")),
    ((KPIS,), "carla", (1, 2), 1, "delivery promise", "delivery", ("plant",)),
    ((KPIS,), "frank", (1,), 1, "delivery promise", "delivery", ("plant",)),
    ((KPIS,), "dora", (4, 5, 6), 1, "capacity planning", "capacity", ("day",)),
    ((KPIS,), "anna", (1, 2, 3, 4, 5, 6, 7), 1, "plant performance review", "review", ("plant", "scrap_rate")),
    ((KPIS,), "sam", (2,), 1, None, "browse", ("plant", "operator_name", "e_mail", "scrap_rate", "energy_kwh", "day")),
    (
        (KPIS,),
        "frank",
        (2,),
        1,
        None,
        "browse",
        ("plant", "operator_name", "e_mail", "scrap_rate", "energy_kwh", "day"),
    ),
    ((SENSORS,), "gus", (1, 2, 3, 4, 5, 6, 7), 1, "monitoring", "health", ("machine", "temp")),
    ((SENSORS,), "hana", (1,), 1, "monitoring", "health", ("machine", "temp")),
    ((KPIS, SENSORS), "gus", (1,), 1, "monitoring", "both", ("plant", "machine")),
    ((INVOICES,), "ben", (1, 2, 3, 4, 5, 6, 7), 2, "month-end close", "close", ("supplier", "amount")),
    ((SHIPMENTS,), "dora", (1, 2, 3, 4, 5, 6, 7), 1, "delivery performance", "delays", ("delay_days",)),
    ((SHIPMENTS,), "carla", (1,), 1, "delivery status", "delays", ("delay_days",)),
    ((ORDERS,), "carla", (1, 2), 1, "sales report", "orders", ("plant", "quantity")),
]
SESSION = ((SENSORS,), "anna", 2, "monitoring", "health", ("machine", "temp"))
"""anna reads sensors ten minutes after her plant_kpis review of two weeks ago: used in the same session."""
DENIED = ((INVOICES,), "dora", 1, 2)
"""dora tries invoices (on request, no grant) twice last week: refused reads, unmet demand."""


def placed(built_for: datetime, weeks_ago: int, weekday: int, minutes: int = 0) -> datetime:
    """`weekday` (0: Monday) of `weeks_ago` weeks before the week of `built_for`, at 10:00 UTC + `minutes`."""
    start = datetime.combine(monday(built_for), time.min, UTC)
    return start - timedelta(weeks=weeks_ago) + timedelta(days=weekday, hours=10, minutes=minutes)


def history_clock(built_for: datetime, wall: Clock = system_clock) -> Clock:
    """The time of a home holding the history built for `built_for`: that instant, moving on with `wall` from
    now (so what waits on the clock sees it move), held at the last microsecond of its week."""
    started = wall()
    last = datetime.combine(monday(built_for) + timedelta(weeks=1), time.min, UTC) - timedelta(microseconds=1)
    return lambda: min(built_for + (wall() - started), last)


@dataclass
class History:
    platform: Platform
    people: dict[str, Person]
    ids: dict[str, int]
    built_for: datetime
    """The instant the history was built for: its weeks are counted back from this one's."""

    def person(self, name: str) -> Person:
        return get_person(self.platform, name)

    def at(self, weeks_ago: int, weekday: int, minutes: int = 0) -> datetime:
        """A time of the history's weeks (`placed`)."""
        return placed(self.built_for, weeks_ago, weekday, minutes)

    def on(self, platform: Platform) -> History:
        """The history in `platform`, a copy of its home, running on the history's clock."""
        platform.clock = history_clock(self.built_for)
        return History(platform, dict(self.people), dict(self.ids), self.built_for)


def _csv(tmp: Path, name: str, text: str) -> Path:
    path = tmp / f"{name.split('.')[1]}.csv"
    path.write_text(text, encoding="utf-8")
    return path


def build_history(platform: Platform, tmp: Path) -> History:
    """The org's people, domains and datasets plus `HISTORY` recorded at its times, counted back from the
    platform's clock now; the platform then runs on the history's clock (`history_clock`)."""
    from threshold.governance.controls import set_visibility
    from threshold.sharing.service import share

    wall = platform.clock
    built_for = wall()
    add_domain(platform, "supply_chain")
    add_domain(platform, "strategy")
    for name, domains in (
        ("dora", ("supply_chain",)),
        ("eve", ("finance",)),
        ("frank", ("sales",)),
        ("gus", ("manufacturing",)),
        ("hana", ("supply_chain", "manufacturing")),
        ("sam", ("strategy",)),
    ):
        add_user(platform, name, display_name=name.title(), domains=domains, password=f"{name}-pass")
    join_domain(platform, "dora", "supply_chain", "owner")
    for full_name, (who, text) in DATASETS.items():
        domain, name = full_name.split(".")
        share(
            platform,
            _csv(tmp, full_name, text),
            domain=domain,
            name=name,
            user=get_person(platform, who),
            description=f"{name} for tests",
            purpose="testing",
        )
    admin = get_person(platform, ADMIN)
    set_visibility(platform, admin, INVOICES, "on-request")
    set_visibility(platform, admin, SECRET, "restricted")
    with platform.store.session() as s:
        ids = dict(s.execute(select(Dataset.full_name, Dataset.id)).all())
    people = {
        n: get_person(platform, n)
        for n in ("admin", "anna", "ben", "carla", "dora", "eve", "frank", "gus", "hana", "sam")
    }

    def rec(
        datasets: tuple[str, ...],
        who: str,
        when: datetime,
        purpose: str | None,
        question: str,
        columns: tuple[str, ...],
        status: str = "ok",
    ) -> None:
        record(
            platform,
            UsageRecord(
                user_id=people[who].id,
                interface="python",
                purpose=purpose,
                fingerprint=f"fp-{question}",
                query_text=QUESTIONS[question],
                rows=1,
                duration_ms=1.0,
                status=status,
                reads=[(ids[d], list(columns) if status == "ok" else [], None) for d in datasets],
                at=when,
            ),
        )

    for datasets, who, weeks, per_week, purpose, question, columns in HISTORY:
        for w in weeks:
            for i in range(per_week):
                minutes = 60 if len(datasets) > 1 else 5 * i
                when = placed(built_for, w, WEEKDAY[datasets[0]], minutes)
                rec(datasets, who, when, purpose, question, columns)
    datasets, who, w, purpose, question, columns = SESSION
    rec(datasets, who, placed(built_for, w, WEEKDAY[KPIS], 10), purpose, question, columns)
    datasets, who, w, times = DENIED
    for i in range(times):
        when = placed(built_for, w, WEEKDAY[INVOICES], 30 + i)
        rec(datasets, who, when, "supplier audit", "close", (), status="denied")
    platform.clock = history_clock(built_for, wall)
    return History(platform, people, ids, built_for)


class Receiver:
    """A local HTTP server that keeps every webhook delivery it receives (body and headers)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.received: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def events(self, timeout: float = 10.0, count: int = 1) -> list[dict[str, Any]]:
        """What was received once the deliveries started so far have finished (background threads,
        joined: no polling); the test asserts there are `count`."""
        import json

        from threshold.runtime import drain

        drain(timeout)
        return [json.loads(body) for _h, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
