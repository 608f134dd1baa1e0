"""The router's shortcut (`api.route_table._Prefiltered`): an included router answers "no match" from one
regular expression of its routes' paths, without trying each route. It must answer exactly as the router
would: for every route of the app (its path with values filled in, with and without a trailing slash, every
method) and paths no route takes."""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import Match

from threshold.api.app import create_app
from threshold.api.route_table import _Prefiltered, route_table
from threshold.interface.permissions import routes

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ELSEWHERE = ("/", "/nowhere", "/api/v1/nowhere/at/all", "/datasets/a.b/nothing", "/static/x.css", "/api/v1/")


def _scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], "query_string": b""}


def test_every_included_router_answers_as_its_own_matching_would(platform: Any) -> None:
    app = create_app(platform)
    table = route_table()
    shortcuts = [r.__dict__["matches"] for r in table.routes if isinstance(r.__dict__.get("matches"), _Prefiltered)]
    assert len(shortcuts) >= 30 and all(s.pattern() is not None for s in shortcuts)
    paths = {re.sub(r"\{[^}:]+(:path)?\}", "x1.y", p) for _, p in routes(app)} | set(ELSEWHERE)
    paths |= {p + "/" for p in paths if not p.endswith("/")}
    compared = matched = 0
    for path in sorted(paths):
        for method in METHODS:
            for shortcut in shortcuts:
                fast, slow = shortcut(_scope(method, path)), shortcut.matches(_scope(method, path))
                assert fast[0] == slow[0], f"{method} {path}: {fast[0]} but the router says {slow[0]}"
                compared += 1
                matched += slow[0] != Match.NONE
    assert compared > 10_000 and matched > 300  # the comparison met real matches, not only refusals
