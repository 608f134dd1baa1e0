"""The simulated calendar and the facts every generated table and question agrees on.

Plants, lines, machines, suppliers, customers and products are drawn once from the seed, so a
question about plant 'Lyon' or supplier 'SUP-0042' finds rows, and joins between generated
datasets match. The calendar is `weeks` seven-day slices ending now; people query on working
days between 07:30 and 18:00 (UTC, the plants' core hours).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from threshold.demo.company import SITES

LINES_PER_PLANT = {"Darmstadt": 4, "Gernsheim": 3, "Lyon": 4, "Porto": 3, "Tempe": 4}
PLANT_CODE = {"Darmstadt": "DA", "Gernsheim": "GE", "Lyon": "LY", "Porto": "PO", "Tempe": "TE"}
COUNTRIES = ("DE", "FR", "PT", "US", "NL", "IT", "ES", "PL", "CN", "JP", "KR", "TW", "IN", "GB", "CH", "SE")
_SUPPLIER_WEIGHTS = (30, 8, 4, 10, 6, 6, 4, 6, 10, 4, 3, 3, 3, 2, 2, 2)
_CUSTOMER_WEIGHTS = (20, 8, 3, 18, 5, 6, 5, 4, 9, 6, 6, 6, 4, 5, 3, 2)
"""How suppliers and customers spread over `COUNTRIES`."""
PRODUCTS = (
    ("PR-110", "Photoresist PR-110", "semiconductor"),
    ("PR-240", "Photoresist PR-240", "semiconductor"),
    ("SP-3", "Silicon precursor SP-3", "semiconductor"),
    ("SP-7", "Silicon precursor SP-7", "semiconductor"),
    ("CS-2", "CMP slurry CS-2", "semiconductor"),
    ("CS-9", "CMP slurry CS-9", "semiconductor"),
    ("ST-4", "Sputter target ST-4", "semiconductor"),
    ("LC-57", "Liquid crystal mixture LC-57", "display"),
    ("LC-88", "Liquid crystal mixture LC-88", "display"),
    ("OL-12", "OLED emitter OL-12", "display"),
    ("OL-19", "OLED host OL-19", "display"),
    ("QD-5", "Quantum dot ink QD-5", "display"),
    ("EP-9", "Effect pigment EP-9", "surface"),
    ("EP-14", "Effect pigment EP-14", "surface"),
    ("FP-2", "Functional pigment FP-2", "surface"),
    ("CO-6", "Cosmetic pearl CO-6", "surface"),
    ("AC-1", "Anti-reflective coating AC-1", "surface"),
    ("HT-3", "Heat transfer fluid HT-3", "surface"),
)
MATERIALS = (
    "photoresist",
    "silicon precursor",
    "cmp slurry",
    "liquid crystal",
    "oled emitter",
    "quantum dot",
    "effect pigment",
    "coating",
    "solvent",
    "polymer binder",
)
DEPARTMENTS = (
    "Manufacturing",
    "Supply Chain",
    "Sales",
    "Finance",
    "Human Resources",
    "Research & Development",
)


@dataclass(frozen=True)
class Timeline:
    now: datetime
    weeks: int

    @property
    def start(self) -> datetime:
        """When the simulated usage begins: midnight of the day 7 x `weeks` - 1 days ago."""
        first = self.now.date() - timedelta(days=7 * self.weeks - 1)
        return _day_start(first)

    def week(self, k: int) -> tuple[datetime, datetime]:
        """Week `k` (from 0) as [begin, end); the last one ends now."""
        begin = self.start + timedelta(days=7 * k)
        return begin, min(begin + timedelta(days=7), self.now)

    def working_days(self, k: int) -> list[date]:
        """Mondays to Fridays whose working hours overlap week `k`."""
        begin, end = self.week(k)
        out, d = [], begin.date()
        while d <= end.date():
            lo, hi = _hours(d, begin, end)
            if d.weekday() < 5 and lo < hi:
                out.append(d)
            d += timedelta(days=1)
        return out

    def moment(self, rng: random.Random, day: date, k: int) -> datetime:
        """A time on `day` in working hours (mornings busiest), inside week `k` and never in the future."""
        begin, end = self.week(k)
        lo, hi = _hours(day, begin, end)
        at = _day_start(day) + timedelta(hours=rng.triangular(7.5, 18.0, 10.5))
        if not lo <= at < hi:
            at = lo + (hi - lo) * rng.random()
        return at.replace(microsecond=0)


def _hours(d: date, begin: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Working hours of day `d` clipped to [begin, end)."""
    return max(_day_start(d) + timedelta(hours=7.5), begin), min(_day_start(d) + timedelta(hours=18), end)


def _day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


@dataclass
class World:
    """Facts shared by the generated tables and the questions asked of them."""

    seed: int
    rows: float
    """Row factor: 1.0 at scale >= 1, smaller for small test builds."""
    timeline: Timeline
    operators: dict[str, list[str]] = field(default_factory=dict)
    """Plant -> shift leads (their names are in plant_kpis.operator_name)."""
    technicians: dict[str, list[str]] = field(default_factory=dict)
    machines: dict[str, list[str]] = field(default_factory=dict)
    """Plant -> machine ids, e.g. DA-L2-M03."""
    suppliers: list[str] = field(default_factory=list)
    supplier_countries: list[str] = field(default_factory=list)
    customers: list[int] = field(default_factory=list)
    customer_countries: list[str] = field(default_factory=list)
    cost_centers: list[str] = field(default_factory=list)
    employees: list[tuple[str, str, str, str]] = field(default_factory=list)
    """(employee id, display name, department, site) of everyone on the payroll."""

    @property
    def plants(self) -> tuple[str, ...]:
        return SITES

    def n(self, full: int, minimum: int = 20) -> int:
        """A table size: `full` rows at scale 1, fewer in small builds."""
        return max(minimum, int(full * self.rows))

    def days(self) -> list[date]:
        """Every calendar day of the generated history, up to yesterday."""
        first = self.timeline.now.date() - timedelta(days=max(60, int(365 * self.rows)) + 7 * self.timeline.weeks)
        last = self.timeline.now.date() - timedelta(days=1)
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def make_world(seed: int, scale: float, timeline: Timeline, staff: list[tuple[str, str, str]]) -> World:
    """Draw the shared facts. `staff` is (display name, department, site) of the demo's own people."""
    from threshold.demo.company import SITE_LOCALE, random_name

    rng = random.Random(seed)
    world = World(seed=seed, rows=max(0.05, min(1.0, scale)), timeline=timeline)
    for plant in SITES:
        locale = SITE_LOCALE[plant]
        world.operators[plant] = _distinct_names(rng, locale, 10)
        world.technicians[plant] = _distinct_names(rng, locale, 4, avoid=world.operators[plant])
        code = PLANT_CODE[plant]
        world.machines[plant] = [
            f"{code}-L{line}-M{m:02d}" for line in range(1, LINES_PER_PLANT[plant] + 1) for m in range(1, 3)
        ]
    n_suppliers = world.n(250, 40)
    world.suppliers = [f"SUP-{i:04d}" for i in range(1, n_suppliers + 1)]
    world.supplier_countries = rng.choices(COUNTRIES, weights=_SUPPLIER_WEIGHTS, k=len(world.suppliers))
    n_customers = world.n(2000, 60)
    world.customers = list(range(10001, 10001 + n_customers))
    world.customer_countries = rng.choices(COUNTRIES, weights=_CUSTOMER_WEIGHTS, k=len(world.customers))
    world.cost_centers = [f"CC-{4100 + 10 * i}" for i in range(48)]
    employees: list[tuple[str, str, str, str]] = []
    people = [(name, "Manufacturing", plant) for plant in SITES for name in world.operators[plant]]
    people += [(name, "Manufacturing", plant) for plant in SITES for name in world.technicians[plant]]
    people += staff
    target = world.n(800, 80)
    while len(people) < target:
        site = rng.choices(SITES, weights=(45, 15, 15, 10, 15))[0]
        dept = rng.choices(DEPARTMENTS, weights=(45, 15, 14, 9, 5, 12))[0]
        people.append((random_name(rng, SITE_LOCALE[site]), dept, site))
    for i, (name, dept, site) in enumerate(people):
        employees.append((f"E{10001 + i}", name, dept, site))
    world.employees = employees
    return world


def _distinct_names(rng: random.Random, locale: str, n: int, avoid: list[str] | None = None) -> list[str]:
    from threshold.demo.company import random_name

    out: list[str] = []
    while len(out) < n:
        name = random_name(rng, locale)
        if name not in out and name not in (avoid or []):
            out.append(name)
    return out
