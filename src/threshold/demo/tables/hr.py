"""HR's tables: employees (names, birth dates, e-mail addresses), absences and trainings."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

import pyarrow as pa

from threshold.demo.company import MAIL_DOMAIN, fold
from threshold.demo.tables import pick, recent_days, rng_for, rounded, table
from threshold.demo.world import World

_TITLE = {
    "Manufacturing": "Operator",
    "Supply Chain": "Planner",
    "Sales": "Account manager",
    "Finance": "Analyst",
    "Human Resources": "HR specialist",
    "Research & Development": "Scientist",
}
_EMPLOYEE_COLUMNS = (
    "Employee ID",
    "First Name",
    "Last Name",
    "Email",
    "Birth Date",
    "Hire Date",
    "Department",
    "Site",
    "Job Title",
    "FTE",
    "Exit Date",
)
COURSES = (
    "Data literacy basics",
    "SQL for analysts",
    "GMP refresher",
    "Lean six sigma yellow belt",
    "Forklift safety",
    "Export control",
    "Working with Python",
    "Leading teams",
)


def employees(world: World, variant: int = 0) -> pa.Table:
    """Everyone on the payroll: shop floor, offices and the demo's own users."""
    rng = random.Random(f"{world.seed}-employees-{variant}")
    today = world.timeline.now.date()
    rows: dict[str, list[object]] = {k: [] for k in _EMPLOYEE_COLUMNS}
    for emp_id, name, dept, site in world.employees:
        first, last = name.split(" ", 1)
        birth = date(rng.randint(1962, 2003), rng.randint(1, 12), rng.randint(1, 28))
        hired = max(birth + timedelta(days=365 * 19), today - timedelta(days=rng.randrange(30, 365 * 25)))
        rows["Employee ID"].append(emp_id)
        rows["First Name"].append(first)
        rows["Last Name"].append(last)
        rows["Email"].append(f"{re.sub(r'[^a-z0-9]+', '.', fold(name)).strip('.')}@{MAIL_DOMAIN}")
        rows["Birth Date"].append(birth)
        rows["Hire Date"].append(min(hired, today - timedelta(days=7)))
        rows["Department"].append(dept)
        rows["Site"].append(site)
        rows["Job Title"].append(_TITLE[dept])
        rows["FTE"].append(rng.choices((1.0, 0.8, 0.5), weights=(8, 2, 1))[0])
        rows["Exit Date"].append(today - timedelta(days=rng.randrange(1, 300)) if rng.random() < 0.04 else None)
    return table(rows)


def absences(world: World, variant: int = 0) -> pa.Table:
    """Absences by employee: vacation, sickness, parental leave, training."""
    rng = rng_for(world, "absences", variant)
    n = world.n(4000, 60)
    start = recent_days(world, rng, n, recency=0.1)
    kinds = pick(rng, ("vacation", "sick", "parental", "training"), n, p=[60, 28, 3, 9])
    length = [int(rng.integers(1, 15)) if k == "vacation" else int(rng.integers(1, 6)) for k in kinds]
    length = [int(rng.integers(30, 120)) if k == "parental" else x for k, x in zip(kinds, length, strict=True)]
    return table(
        {
            "absence_id": list(range(1, n + 1)),
            "employee_id": pick(rng, [e[0] for e in world.employees], n),
            "start_date": start,
            "end_date": [d + timedelta(days=x - 1) for d, x in zip(start, length, strict=True)],
            "days": length,
            "absence_type": kinds,
        }
    )


def trainings(world: World, variant: int = 0) -> pa.Table:
    """Completed trainings: who, which course, when, hours and test score."""
    rng = rng_for(world, "trainings", variant)
    n = world.n(2000, 40)
    return table(
        {
            "Employee ID": pick(rng, [e[0] for e in world.employees], n),
            "Course": pick(rng, COURSES, n),
            "Completed On": recent_days(world, rng, n, recency=0.0),
            "Hours": pick(rng, (2, 4, 8, 16, 24), n),
            "Score": rounded(rng.uniform(55, 100, n), 0),
        }
    )
