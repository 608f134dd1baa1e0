"""Sensitive-data detection at share time: which columns hold personal or financial data.

`detect_column` runs every registered detector (`threshold.sharing.detectors`) over one column's
label and a sample of its values and returns what they found. A detection carries a reason a
person can check, and the reason never quotes a value: it is shown to people who may not be
allowed to see the data.
"""

from __future__ import annotations

from collections.abc import Sequence

from threshold.sharing.detectors import DETECTORS
from threshold.sharing.detectors.column import Column, Detection


def detect_column(name: str, values: Sequence[object], dtype: str | None = None) -> list[Detection]:
    """What one column holds, most confident first; empty when nothing sensitive was found.

    `values` is a sample of non-null values (str, int, float, date, datetime); `dtype` the DuckDB type.
    """
    column = Column(name, values, dtype)
    if column.size == 0:
        return []
    found = [d for detector in DETECTORS if (d := detector.detect(column)) is not None]
    return sorted(found, key=lambda d: -d.confidence)
