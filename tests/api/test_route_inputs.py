"""Every route validates its input, case by case (issue 9): the inputs that were server errors once are
sent to every route they fit, read from the app's own OpenAPI document, so a route added later is
covered too. The fuzzing test (`test_fuzz.py`) explores at random; this one never misses these edges."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from threshold.api.app import create_app
from threshold.identity.service import create_token

HUGE = (2**63, -(2**63) - 1, 10**30)
"""Integers past 64 bits, both ways: `GET /api/v1/checks/9223372036854775808` was an HTTP 500."""
TEXT_NOT_YAML = ("a: b\x07\n", "\ufeff\x00kind: x", "a: \udcff".encode("utf-8", "surrogatepass"))
"""Contract bodies that are not valid YAML text (`yaml.reader.ReaderError` was an HTTP 500)."""


def _calls(app: Any, token: str, requests: list[tuple[str, str, dict[str, Any]]]) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://threshold.test", headers=headers) as c:
            return [await c.request(method, url, **kw) for method, url, kw in requests]

    return asyncio.run(go())


@pytest.fixture(scope="module")
def api(module_org: Any) -> tuple[Any, str, dict[str, Any]]:
    app = create_app(module_org.platform)
    _, token = create_token(module_org.platform, "admin")
    [spec] = _calls(app, token, [("GET", "/openapi.json", {})])
    return app, token, spec.json()


def _integer(param: dict[str, Any]) -> bool:
    schema = param.get("schema", {})
    kinds = [schema.get("type")] + [s.get("type") for s in schema.get("anyOf", [])]
    return "integer" in kinds


def _one_line_4xx(r: httpx.Response, where: str) -> None:
    assert 400 <= r.status_code < 500, f"{where}: {r.status_code} {r.text[:200]}"
    if r.headers.get("content-type", "").startswith("application/json"):
        detail = r.json().get("detail")
        assert isinstance(detail, str) and detail and "\n" not in detail, f"{where}: {detail!r}"


def test_ids_past_64_bits_are_a_clear_4xx_on_every_get_route(api: Any) -> None:
    app, token, spec = api
    requests, where = [], []
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        params = (get or {}).get("parameters", [])
        in_path = [p for p in params if p["in"] == "path"]
        if not get or not in_path or not all(_integer(p) for p in in_path):
            continue
        for n in HUGE:
            url = path
            for p in in_path:
                url = url.replace("{" + p["name"] + "}", str(n))
            requests.append(("GET", url, {}))
            where.append(url)
    assert any("/checks/" in w for w in where) and len(where) >= 6
    for r, w in zip(_calls(app, token, requests), where, strict=True):
        _one_line_4xx(r, w)


def test_pages_and_offsets_past_64_bits_are_a_clear_4xx(api: Any) -> None:
    app, token, spec = api
    requests, where = [], []
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        params = (get or {}).get("parameters", [])
        if not get or any(p["in"] == "path" for p in params):
            continue
        for p in params:
            if p["in"] == "query" and _integer(p):
                for n in HUGE:
                    requests.append(("GET", path, {"params": {p["name"]: str(n)}}))
                    where.append(f"{path}?{p['name']}={n}")
    assert any("page=" in w for w in where) and any("offset=" in w for w in where)
    for r, w in zip(_calls(app, token, requests), where, strict=True):
        _one_line_4xx(r, w)


def _integer_fields(spec: dict[str, Any], schema: dict[str, Any]) -> list[tuple[str, bool]]:
    """(name, is a list) of a JSON body's integer fields and lists of integers, `$ref`s followed."""
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    found = []
    for name, prop in schema.get("properties", {}).items():
        for kind in [prop, *prop.get("anyOf", [])]:
            if kind.get("type") == "integer":
                found.append((name, False))
            elif kind.get("type") == "array" and kind.get("items", {}).get("type") == "integer":
                found.append((name, True))
    return found


def test_integers_past_64_bits_in_a_json_body_are_a_clear_4xx(api: Any) -> None:
    """`POST /api/v1/notifications/read {"ids": [2**63]}` was an HTTP 500 (SQLite's OverflowError)."""
    app, token, spec = api
    requests, where = [], []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body is None or "{" in path:
                continue
            for name, many in _integer_fields(spec, body):
                for n in HUGE:
                    requests.append((method.upper(), path, {"json": {name: [n] if many else n}}))
                    where.append(f"{method.upper()} {path} {name}={n}")
    assert any("/notifications/read ids" in w for w in where)
    for r, w in zip(_calls(app, token, requests), where, strict=True):
        assert r.status_code < 500, f"{w}: {r.status_code} {r.text[:200]}"


@pytest.mark.parametrize("body", TEXT_NOT_YAML, ids=["control character", "nul after a BOM", "bad utf-8"])
def test_a_contract_that_is_not_yaml_text_is_a_clear_4xx(api: Any, body: str | bytes) -> None:
    app, token, _ = api
    content = body.encode() if isinstance(body, str) else body
    [r] = _calls(
        app,
        token,
        [("PUT", "/api/v1/contracts", {"content": content, "headers": {"content-type": "application/yaml"}})],
    )
    _one_line_4xx(r, "PUT /api/v1/contracts")
    assert "YAML" in r.json()["detail"] or "contract" in r.json()["detail"]
