"""Limits over HTTP: streamed results within the allowance, 429 with Retry-After, a client that goes away,
and spreadsheet-bound exports neutralised."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

import httpx
import pyarrow as pa
import pytest
from sqlalchemy import select

from threshold.api.app import create_app
from threshold.gateway.service import open_query
from threshold.identity.service import create_token
from threshold.interface.exports import read_arrow_tail
from threshold.sharing.service import share
from threshold.store.models import UsageEvent

KPIS = "manufacturing.plant_kpis"


def call(platform: Any, method: str, url: str, token: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(platform))
        async with httpx.AsyncClient(transport=transport, base_url="http://threshold.test") as client:
            headers = {"Authorization": f"Bearer {token}"} | kwargs.pop("headers", {})
            return await client.request(method, url, headers=headers, **kwargs)

    return asyncio.run(go())


def _last_event(platform: Any) -> UsageEvent:
    with platform.store.session() as s:
        event = s.scalars(select(UsageEvent).order_by(UsageEvent.id.desc()).limit(1)).one()
        s.expunge(event)
        return event


@pytest.fixture
def token(org: Any) -> str:
    return create_token(org.platform, "ben")[1]


def test_max_rows_null_no_longer_bypasses_the_row_limit(limited: Any, token: str) -> None:
    p = limited(query_rows=3)
    for asked in (None, 2_000_000):
        r = call(p, "POST", "/api/v1/query", token, json={"sql": f"SELECT * FROM {KPIS}", "max_rows": asked})
        body = r.json()
        assert r.status_code == 200 and body["row_count"] == 3 and body["truncated"] is True
        assert any("THRESHOLD_LIMITS__QUERY_ROWS" in n for n in body["notes"])
        assert (r.headers["x-threshold-row-limit"], r.headers["x-threshold-truncated"]) == ("3", "true")


def test_every_format_streams_the_same_rows(limited: Any, token: str) -> None:
    p = limited()
    sql = "SELECT i, i * 2 AS twice FROM range(5) t(i) ORDER BY i"
    want = [{"i": i, "twice": 2 * i} for i in range(5)]
    got = {}
    for fmt in ("json", "ndjson", "csv", "arrow"):
        r = call(p, "POST", "/api/v1/query", token, json={"sql": sql, "format": fmt, "max_rows": None})
        assert r.status_code == 200, r.text
        got[fmt] = r
    assert got["json"].json()["rows"] == want
    assert [json.loads(line) for line in got["ndjson"].text.splitlines()] == want
    assert [{k: int(v) for k, v in row.items()} for row in csv.DictReader(io.StringIO(got["csv"].text))] == want
    batches, tail = read_arrow_tail(pa.ipc.open_stream(io.BytesIO(got["arrow"].content)))
    assert pa.Table.from_batches(batches).to_pylist() == want
    assert (tail["row_count"], tail["truncated"]) == (5, False)


def test_a_large_result_streams_and_its_json_says_how_it_ended(limited: Any, token: str) -> None:
    p = limited(query_rows=300_000)
    r = call(p, "POST", "/api/v1/query", token, json={"sql": "SELECT i FROM range(1000000) t(i)", "max_rows": None})
    body = r.json()
    assert "x-threshold-rows" not in r.headers  # larger than the first window: known only at the end
    assert (body["row_count"], len(body["rows"]), body["truncated"]) == (300_000, 300_000, True)
    assert _last_event(p).rows == 300_000


def test_over_the_concurrency_limit_is_429_with_retry_after(limited: Any, clock: Any, org: Any, token: str) -> None:
    p = limited(person_queries=1, query_seconds=30)
    held = open_query(p, f"SELECT * FROM {KPIS}", user=org.ben)
    clock.now += 12
    r = call(p, "POST", "/api/v1/query", token, json={"sql": f"SELECT * FROM {KPIS}"})
    assert r.status_code == 429 and r.headers["retry-after"] == "18"
    assert r.json()["error"] == "Busy" and "ben already has 1 queries running" in r.json()["detail"]
    held.close()
    assert call(p, "POST", "/api/v1/query", token, json={"sql": f"SELECT * FROM {KPIS}"}).status_code == 200


def test_a_client_that_goes_away_cancels_its_query(limited: Any, token: str) -> None:
    """The ASGI app sees the request body, then the disconnect: the runaway query is stopped and recorded."""
    p = limited()
    app = create_app(p)
    body = json.dumps({"sql": "SELECT count(*) FROM range(100000000000000) a"}).encode()
    messages = [{"type": "http.request", "body": body, "more_body": False}, {"type": "http.disconnect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if len(messages) > 1 else messages[0]

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/query",
        "raw_path": b"/api/v1/query",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"authorization", f"Bearer {token}".encode()), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000),
        "server": ("threshold.test", 80),
    }
    asyncio.run(app(scope, receive, send))
    event = _last_event(p)
    assert (event.status, event.rows) == ("cancelled", 0)
    assert p.limits.admission.running() == 0


def test_csv_exports_neutralise_formulas_and_say_so(org: Any, limited: Any, token: str, tmp_path: Any) -> None:
    evil = pa.table(
        {"label": ['=HYPERLINK("http://x","y")', "@SUM(A1)", "+1", "-2", "\tx", "plain"], "n": [1, 2, 3, 4, 5, -6]}
    )
    share(org.platform, evil, domain="finance", name="evil", user=org.ben)
    p = limited()
    r = call(p, "POST", "/api/v1/query", token, json={"sql": "SELECT * FROM finance.evil", "format": "csv"})
    rows = list(csv.reader(io.StringIO(r.text)))
    assert [row[0] for row in rows[1:]] == ['\'=HYPERLINK("http://x","y")', "'@SUM(A1)", "'+1", "'-2", "'\tx", "plain"]
    assert [row[1] for row in rows[1:]] == ["1", "2", "3", "4", "5", "-6"]  # numbers stay numbers
    assert "OWASP" in r.headers["x-threshold-neutralised"]
    arrow = call(p, "POST", "/api/v1/query", token, json={"sql": "SELECT * FROM finance.evil", "format": "arrow"})
    batches, _ = read_arrow_tail(pa.ipc.open_stream(io.BytesIO(arrow.content)))
    assert pa.Table.from_batches(batches).column("label")[0].as_py().startswith("=")  # data formats are exact


# ----------------------------------------------------------------------------------- request bodies


def _upload(size: int) -> dict[str, Any]:
    return {"files": {"file": ("big.csv", b"a,b\n" + b"1,2\n" * (size // 4))}, "data": {"domain": "manufacturing"}}


def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(limited: Any, org: Any, state_of: Any) -> None:
    p = limited(upload_bytes=10_000)
    anna = create_token(p, "anna")[1]
    before = state_of(p)
    r = call(p, "POST", "/api/v1/shares", anna, **_upload(50_000))
    assert r.status_code == 413, r.text
    assert "THRESHOLD_LIMITS__UPLOAD_BYTES" in r.json()["detail"]
    assert state_of(p) == before
    assert call(p, "POST", "/api/v1/shares", anna, **_upload(2_000)).status_code == 200  # under it: shared


def test_an_upload_without_a_length_is_cut_off_as_it_passes_the_limit(limited: Any, org: Any, state_of: Any) -> None:
    """A streamed body (no Content-Length) is counted as it arrives and refused the moment it passes."""
    p = limited(upload_bytes=100_000)
    anna = create_token(p, "anna")[1]
    before = state_of(p)
    sent = []
    boundary = "thresholdboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="domain"\r\n\r\nmanufacturing\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\na,b\r\n"
    ).encode()

    async def body() -> Any:
        yield head
        for _ in range(1000):  # would be 4 MB
            sent.append(1)
            yield b"1,2\r\n" * 800

    r = call(
        p,
        "POST",
        "/api/v1/shares",
        anna,
        content=body(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413 and "the upload is larger than 97.7 KB" in r.json()["detail"]
    assert len(sent) < 1000  # the rest was never read
    assert state_of(p) == before


def test_any_other_request_body_has_its_own_smaller_limit(limited: Any, token: str) -> None:
    p = limited(request_bytes=4096)
    r = call(p, "POST", "/api/v1/query", token, json={"sql": "SELECT 1 " + " " * 10_000})
    assert r.status_code == 413 and "THRESHOLD_LIMITS__REQUEST_BYTES" in r.json()["detail"]


def test_the_web_share_form_refuses_an_upload_over_the_limit(limited: Any, org: Any) -> None:
    from threshold.api.app import create_app as app_of

    p = limited(upload_bytes=1_000)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app_of(p))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            page = await client.get("/login")
            csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
            await client.post("/login", data={"username": "anna", "password": "anna-pass", "csrf": csrf})
            return await client.post(
                "/share", data={"domain": "manufacturing", "csrf": csrf}, **{"files": _upload(5_000)["files"]}
            )

    r = asyncio.run(go())
    assert r.status_code == 413 and "THRESHOLD_LIMITS__UPLOAD_BYTES" in r.text
