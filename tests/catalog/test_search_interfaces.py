"""Every interface searches the same way (they all call `catalog.search.search`): the CLI, the Python
client and the REST API find `plant_kpis` for the typo "scarp rates" (the web search box: tests/e2e)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

import inprocess
import threshold
from threshold.api.app import create_app
from threshold.identity.service import create_token

KPIS = "manufacturing.plant_kpis"
TYPO = "scarp rates"


def test_cli_client_api_and_page_find_a_dataset_by_a_typo(org: Any) -> None:
    home = str(org.platform.settings.home_dir)
    cli = inprocess.threshold("datasets", "--search", TYPO, "--as", "ben", "--home", home, "--format", "json")
    assert cli.returncode == 0, cli.stderr
    assert [d["name"] for d in json.loads(cli.stdout)] == [KPIS]

    found = threshold.connect(home, user="ben").datasets(search=TYPO)
    assert [(d["name"], d["match"]) for d in found] == [(KPIS, "column “rates”; column “scrap” (for “scarp”)")]

    app = create_app(org.platform)
    token = create_token(org.platform, "ben")[1]

    async def get(url: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            return await c.get(url, params={"q": TYPO}, headers={"Authorization": f"Bearer {token}"})

    api = asyncio.run(get("/api/v1/datasets")).json()
    assert [(r["name"], r["matched_columns"]) for r in api["results"]] == [(KPIS, ["scrap_rate"])]
    assert api["results"][0]["why"] == [
        {"word": "rates", "field": "columns", "kind": "word", "term": "rates"},
        {"word": "scarp", "field": "columns", "kind": "typo", "term": "scrap"},
    ]
