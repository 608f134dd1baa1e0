"""Apps in one process share the route table (built once, `api/route_table.py`) and nothing else: each
answers from its own home, with its own settings, and a route added to one is that app's alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import s3homes
from threshold.api.app import create_app
from threshold.api.route_table import route_table
from threshold.identity.service import ADMIN, create_token
from threshold.interface.permissions import Public, route_rules
from threshold.platform import Platform

KPIS = "manufacturing.plant_kpis"


def _call(app: Any, method: str, url: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await client.request(method, url, headers=headers, **kwargs)

    return asyncio.run(go())


@pytest.fixture
def small(tmp_path: Path, prepared_homes: Any) -> Iterator[Platform]:
    """A second home (admin only) whose request bodies may be at most 4 KiB."""
    for copied in prepared_homes.copy("empty", "sqlite", tmp_path / "small"):
        home = copied.settings.home_dir
        platform = Platform.open(home, **s3homes.overrides(home), limits={"request_bytes": 4096})
        try:
            yield platform
        finally:
            platform.close()


def test_two_apps_in_one_process_answer_from_their_own_home_and_settings(org: Any, small: Platform) -> None:
    big_app, small_app = create_app(org.platform), create_app(small)
    assert big_app.state.platform is org.platform and small_app.state.platform is small
    anna = create_token(org.platform, "anna")[1]
    admin = create_token(small, ADMIN)[1]

    assert [d["name"] for d in _call(big_app, "GET", "/api/v1/datasets", anna).json()["results"]] == [KPIS]
    assert _call(small_app, "GET", "/api/v1/datasets", admin).json()["total"] == 0
    assert _call(small_app, "GET", "/api/v1/datasets", anna).status_code == 401  # not a person of that home
    assert _call(big_app, "GET", "/api/v1/datasets", admin).status_code == 401

    body = {"sql": "SELECT 1 AS one" + " " * 5000}
    assert _call(big_app, "POST", "/api/v1/query", anna, json=body).json()["rows"] == [{"one": 1}]
    refused = _call(small_app, "POST", "/api/v1/query", admin, json=body)
    assert refused.status_code == 413 and "THRESHOLD_LIMITS__REQUEST_BYTES" in refused.json()["detail"]


def test_a_route_added_to_one_app_is_its_own(platform: Platform) -> None:
    first, second = create_app(platform), create_app(platform)
    shared = len(route_table().routes)
    assert [r is s for r, s in zip(first.routes[-shared:], second.routes[-shared:], strict=True)] == [True] * shared

    @first.get("/api/v1/probe")
    def probe(person: Public) -> dict[str, str]:
        return {"app": "first"}

    first.state.route_rules = route_rules(first)
    assert ("GET", "/api/v1/probe") in first.state.route_rules
    assert ("GET", "/api/v1/probe") not in second.state.route_rules
    assert ("GET", "/api/v1/probe") not in route_table().rules
    assert _call(first, "GET", "/api/v1/probe").json() == {"app": "first"}
    assert _call(second, "GET", "/api/v1/probe").status_code == 404
    assert len(second.routes) == len(first.routes) - 1
    assert create_app(platform).state.route_rules == second.state.route_rules


def test_the_route_table_is_built_once_per_process() -> None:
    table = route_table()
    assert route_table() is table
    assert ("POST", "/api/v1/query") in table.rules and ("GET", "/") in table.rules
    with pytest.raises(TypeError):
        table.rules[("GET", "/nowhere")] = table.rules[("GET", "/")]  # type: ignore[index]
