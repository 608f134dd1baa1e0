"""Formula injection: text that a spreadsheet would run, and how every spreadsheet-bound export keeps it text.

OWASP's advice for CSV injection: a text value (or column name) that starts with `=`, `+`, `-`, `@`, a tab
or a carriage return gets a leading `'`, so Excel, LibreOffice and Google Sheets show it instead of running
it (`=HYPERLINK(...)`, `@SUM(...)`). Every export a spreadsheet opens (CSV, XLSX: query results, insights)
applies this one rule and says that it did (`NEUTRALISED`).
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISED = "text starting with = + - @ tab or CR is prefixed with ' (OWASP CSV injection)"
"""What `X-Threshold-Neutralised` and an XLSX's About sheet say."""


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text
