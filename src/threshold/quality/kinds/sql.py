"""The custom SQL kind: a query that returns the failing rows, through the same parse wall as anyone's."""

from __future__ import annotations

from typing import Any

from threshold.errors import InvalidInput
from threshold.quality.kinds.base import Kind, _tolerance


class CustomSql(Kind):
    """A query returning failing rows (or, with --min/--max or `value`, one number that must be in bounds:
    a contract's `sql` rule measures a value even when it states no threshold)."""

    name = "sql"
    label = "custom SQL"
    on_append = "baseline"

    def normalise(self, options: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
        sql = str(options.get("sql") or "").strip().rstrip(";")
        if not sql:
            raise InvalidInput("give the query that returns the failing rows with --sql")
        out: dict[str, Any] = {"sql": sql} | ({"value": True} if options.get("value") else {})
        for bound in ("min", "max"):
            if options.get(bound) not in (None, ""):
                try:
                    out[bound] = float(options[bound])
                except ValueError:
                    raise InvalidInput(f"--{bound} of a SQL assertion is a number") from None
        return out | _tolerance(options)

    def columns(self, options: dict[str, Any]) -> list[str]:
        return []

    def needs_rows(self, options: dict[str, Any]) -> bool:
        return False

    def title(self, options: dict[str, Any]) -> str:
        text = " ".join(options["sql"].split())
        return (text[:77] + "…") if len(text) > 78 else text

    @staticmethod
    def value_mode(options: dict[str, Any]) -> bool:
        return "min" in options or "max" in options or bool(options.get("value"))
