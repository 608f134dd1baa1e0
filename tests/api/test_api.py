"""The REST API in-process over ASGI: token auth, the catalog, queries in three formats, shares, errors."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from typing import Any

import httpx
import pyarrow as pa
import pytest
from sqlalchemy import select, update

from threshold.api.app import create_app
from threshold.identity.service import create_token, revoke_token
from threshold.interface.permissions import level_of
from threshold.store.models import ApiToken, UsageEvent

KPIS = "manufacturing.plant_kpis"


class Api:
    """A synchronous face on `httpx.AsyncClient(transport=ASGITransport(app))`: one event loop per call."""

    def __init__(self, org: Any) -> None:
        self.org = org
        self.app = create_app(org.platform)
        self.tokens = {name: create_token(org.platform, name)[1] for name in ("anna", "ben", "carla")}

    def call(self, method: str, url: str, *, as_: str | None = "ben", **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if as_ is not None:
            headers["Authorization"] = f"Bearer {self.tokens.get(as_, as_)}"

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://threshold.test") as client:
                return await client.request(method, url, headers=headers, **kwargs)

        return asyncio.run(go())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.call("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.call("POST", url, **kwargs)


@pytest.fixture(scope="module")
def api(module_org: Any) -> Api:
    """One app for the tests that do not change what others read (no shares, no exact usage counts)."""
    return Api(module_org)


@pytest.fixture
def fresh_api(org: Any) -> Api:
    """An app on a home of its own, for tests that share or count."""
    return Api(org)


def _error(r: httpx.Response, status: int) -> str:
    """The one-line JSON `detail` of an error response with `status`."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail and "\n" not in detail
    return detail


# ----------------------------------------------------------------------------------------- auth


def test_a_token_identifies_the_caller(api: Api) -> None:
    me = api.get("/api/v1/me").json()
    assert (me["name"], me["domains"], me["owner_of"], me["is_admin"]) == (
        "ben",
        ["finance"],
        ["finance"],
        False,
    )


def test_no_token_is_401(api: Api) -> None:
    assert "Authorization: Bearer" in _error(api.get("/api/v1/me", as_=None), 401)


def test_a_wrong_token_is_401(api: Api) -> None:
    assert _error(api.get("/api/v1/datasets", as_="thr_not-a-token"), 401) == "invalid or revoked API token"


def test_a_revoked_token_is_401(api: Api) -> None:
    token_id, token = create_token(api.org.platform, "carla")
    assert api.get("/api/v1/me", as_=token).status_code == 200
    revoke_token(api.org.platform, token_id)
    assert _error(api.get("/api/v1/me", as_=token), 401) == "invalid or revoked API token"


def test_an_expired_token_is_401(api: Api) -> None:
    token_id, token = create_token(api.org.platform, "carla", days=1)
    with api.org.platform.store.session() as s:
        s.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        )
    assert "expired" in _error(api.get("/api/v1/me", as_=token), 401)


def test_every_api_route_needs_a_token(api: Api) -> None:
    paths = api.app.openapi()["paths"]
    checked = 0
    for path, methods in paths.items():
        if not path.startswith("/api/v1/"):
            continue
        url = path.replace("{name}", KPIS)
        for method in methods:
            if level_of(api.app, method.upper(), path) == "public":  # e.g. POST /auth/token: signing in
                continue
            r = api.call(method.upper(), url, as_=None)
            assert r.status_code == 401, f"{method.upper()} {path} answered {r.status_code} without a token"
            checked += 1
    assert checked >= 9


# ----------------------------------------------------------------------------------------- catalog


def test_list_and_search_datasets(api: Api) -> None:
    body = api.get("/api/v1/datasets").json()
    assert (body["total"], body["page"], body["per_page"]) == (1, 1, 50)
    assert [r["name"] for r in body["results"]] == [KPIS]
    found = api.get("/api/v1/datasets", params={"q": "e-mail"}).json()
    assert [(r["name"], r["match"], r["matched_columns"]) for r in found["results"]] == [
        (KPIS, "column “mail”", ["e_mail"])
    ]
    assert api.get("/api/v1/datasets", params={"q": "nothing like it"}).json()["total"] == 0
    assert _error(api.get("/api/v1/datasets", params={"per_page": 5000}), 422) == (
        "query.per_page: Input should be less than or equal to 1000"
    )


def test_one_dataset(api: Api) -> None:
    d = api.get(f"/api/v1/datasets/{KPIS}").json()
    assert d["name"] == KPIS
    assert [c["name"] for c in d["schema"]] == [
        "plant",
        "operator_name",
        "e_mail",
        "scrap_rate",
        "energy_kwh",
        "day",
    ]
    assert len(d["history"]) == 1 and d["history"][0]["by"] == "anna"
    assert _error(api.get("/api/v1/datasets/sales.nope"), 404) == "no dataset 'sales.nope'"


def test_preview_reads_through_the_gateway(api: Api) -> None:
    body = api.get(f"/api/v1/datasets/{KPIS}/preview", params={"limit": 2}).json()
    assert body["columns"][:3] == ["plant", "operator_name", "e_mail"]
    assert [r["plant"] for r in body["rows"]] == ["Berlin", "Lyon"]
    assert body["rows"][0]["day"] == "2026-01-03"
    with api.org.platform.store.session() as s:
        event = s.scalars(select(UsageEvent).order_by(UsageEvent.id.desc()).limit(1)).one()
        assert (event.interface, event.purpose, event.rows, event.user_id) == (
            "api",
            "preview",
            2,
            api.org.ben.id,
        )
    assert _error(api.get("/api/v1/datasets/sales.nope/preview"), 404).startswith("no dataset 'sales.nope'")
    assert _error(api.get(f"/api/v1/datasets/{KPIS}/preview", params={"limit": 0}), 422).startswith("query.limit")


def test_usage_routes(fresh_api: Api) -> None:
    api = fresh_api
    api.post("/api/v1/query", json={"sql": f"SELECT plant FROM {KPIS}", "purpose": "api test"})
    api.post("/api/v1/query", json={"sql": f"SELECT day FROM {KPIS}"}, as_="carla")
    u = api.get(f"/api/v1/datasets/{KPIS}/usage").json()
    assert (u["queries"], u["users"]) == (2, 2)
    assert u["columns"] == [{"column": "day", "queries": 1}, {"column": "plant", "queries": 1}]
    org = api.get("/api/v1/usage").json()
    assert (org["queries"], org["users"]) == (2, 2)
    assert org["most_used"][0]["dataset"] == KPIS
    ben = api.get("/api/v1/users/ben/usage").json()
    assert [(r["query"], r["interface"], r["purpose"]) for r in ben["recent"]] == [
        ("SELECT plant FROM manufacturing.plant_kpis", "api", "api test")
    ]
    assert _error(api.get("/api/v1/users/carla/usage"), 403) == "ben may see only their own usage (rule: usage.self)"
    assert _error(api.get("/api/v1/datasets/sales.nope/usage"), 404) == "no dataset 'sales.nope'"
    assert [d["name"] for d in api.get("/api/v1/domains").json()] == ["finance", "manufacturing", "sales"]


# ----------------------------------------------------------------------------------------- query

SQL = f"SELECT plant, scrap_rate, day FROM {KPIS} WHERE plant <> 'Atlantis' ORDER BY day, plant"
EXPECTED = [
    ("Berlin", 0.12, "2026-01-03"),
    ("Lyon", 0.08, "2026-01-04"),
    ("Berlin", 0.15, "2026-01-05"),
    ("Porto", 0.05, "2026-01-05"),
    ("Lyon", 0.11, "2026-01-06"),
]


def test_query_as_json(api: Api) -> None:
    r = api.post("/api/v1/query", json={"sql": SQL, "purpose": "api test"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["columns"] == ["plant", "scrap_rate", "day"]
    assert [(row["plant"], row["scrap_rate"], row["day"]) for row in body["rows"]] == EXPECTED
    assert (body["row_count"], body["truncated"], body["datasets"], body["notes"]) == (5, False, [KPIS], [])
    assert body["duration_ms"] >= 0
    assert (r.headers["x-threshold-rows"], r.headers["x-threshold-truncated"]) == ("5", "false")


def test_query_as_csv(api: Api) -> None:
    r = api.post("/api/v1/query", json={"sql": SQL, "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    records = list(csv.reader(io.StringIO(r.text)))
    assert records[0] == ["plant", "scrap_rate", "day"]
    assert [(p, float(s), d) for p, s, d in records[1:]] == EXPECTED


def test_query_as_arrow(api: Api) -> None:
    r = api.post("/api/v1/query", json={"sql": SQL, "format": "arrow"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.apache.arrow.stream"
    with pa.ipc.open_stream(io.BytesIO(r.content)) as reader:
        table = reader.read_all()
    assert table.schema.types == [pa.string(), pa.float64(), pa.date32()]
    assert [(p, s, d.isoformat()) for p, s, d in zip(*(c.to_pylist() for c in table.columns), strict=True)] == EXPECTED


def test_query_truncation_is_reported(api: Api) -> None:
    r = api.post("/api/v1/query", json={"sql": SQL, "max_rows": 2})
    body = r.json()
    assert (body["row_count"], body["truncated"], body["notes"]) == (2, True, ["showing the first 2 rows"])
    assert (r.headers["x-threshold-rows"], r.headers["x-threshold-truncated"]) == ("2", "true")
    arrow = api.post("/api/v1/query", json={"sql": SQL, "max_rows": 3, "format": "arrow"})
    assert arrow.headers["x-threshold-truncated"] == "true"
    assert pa.ipc.open_stream(io.BytesIO(arrow.content)).read_all().num_rows == 3


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"sql": "SELECT * FROM"}, 422, "the query cannot be read"),
        ({"sql": "SELECT * FROM read_csv('/etc/passwd')"}, 422, "table functions are not allowed (read_csv)"),
        ({"sql": "DROP TABLE manufacturing.plant_kpis"}, 422, "only read-only queries"),
        ({"sql": "SELECT * FROM sales.nope"}, 422, "unknown dataset sales.nope"),
        ({"sql": f"SELECT * FROM {KPIS} FOR VERSION AS OF 1"}, 404, f"{KPIS} has no snapshot 1"),
        (
            {"sql": f"SELECT nope FROM {KPIS}"},
            422,
            "there is no column “nope” in what the query reads (line 1, column 8)",
        ),
        ({"sql": "SELECT 1", "format": "xml"}, 422, "format:"),
        ({"sql": "SELECT 1", "max_rows": 0}, 422, "max_rows:"),
        ({"purpose": "no sql"}, 422, "sql: Field required"),
    ],
)
def test_query_errors(body: dict[str, Any], status: int, detail: str, api: Api) -> None:
    assert detail in _error(api.post("/api/v1/query", json=body), status)


def test_query_errors_never_echo_a_path(api: Api) -> None:
    detail = _error(api.post("/api/v1/query", json={"sql": "SELECT current_setting('temp_directory')"}), 422)
    settings = api.org.platform.settings
    assert str(settings.home_dir) not in detail and str(settings.warehouse_dir) not in detail


# ----------------------------------------------------------------------------------------- shares


def test_share_an_upload(fresh_api: Api) -> None:
    api = fresh_api
    r = api.post(
        "/api/v1/shares",
        as_="carla",
        data={"domain": "sales", "description": "Orders by region", "purpose": "forecasting"},
        files={"file": ("Regional Orders.csv", b"Region,Orders\nnorth,12\nsouth,30\n", "text/csv")},
    )
    assert r.status_code == 200, r.text
    [result] = r.json()["results"]
    assert (result["dataset"], result["mode"], result["rows_added"], result["columns"]) == (
        "sales.regional_orders",
        "create",
        2,
        ["region", "orders"],
    )
    d = api.get("/api/v1/datasets/sales.regional_orders").json()
    assert (d["description"], d["purpose"], d["shared_by"], d["source"]["name"]) == (
        "Orders by region",
        "forecasting",
        "carla",
        "Regional Orders.csv",
    )
    body = api.post("/api/v1/query", json={"sql": "SELECT sum(orders) AS n FROM sales.regional_orders"}).json()
    assert body["rows"] == [{"n": 42}]
    staging = api.org.platform.settings.staging_dir
    assert not any(staging.iterdir()), "the upload must not stay in staging"


def test_share_with_a_name_and_append(fresh_api: Api) -> None:
    api = fresh_api
    upload = {"file": ("x.csv", b"a,b\n1,2\n")}
    first = api.post("/api/v1/shares", data={"domain": "finance", "name": "budget"}, files=upload)
    assert first.json()["results"][0]["dataset"] == "finance.budget"
    again = api.post("/api/v1/shares", data={"domain": "finance", "name": "budget", "mode": "append"}, files=upload)
    assert again.json()["results"][0]["rows_total"] == 2


SHARE_ERRORS: list[tuple[dict[str, str], str, int, str]] = [
    # (form fields, file name, status, fragment of the detail); ben is in finance only
    ({"domain": "finance", "name": "taken"}, "x.csv", 409, "finance.taken exists already"),
    ({"domain": "sales"}, "x.csv", 403, "ben is not a member of domain 'sales'"),
    ({"domain": "nowhere"}, "x.csv", 404, "no domain 'nowhere'"),
    ({}, "x.csv", 422, "domain: choose the domain the data belongs to"),
    ({"domain": "finance", "name": "Bad Name"}, "x.csv", 422, "invalid dataset name"),
    ({"domain": "finance", "name": "absent", "mode": "append"}, "x.csv", 404, "does not exist yet"),
    ({"domain": "finance", "mode": "upsert"}, "x.csv", 422, "unknown mode 'upsert'"),
    ({"domain": "finance"}, ".hidden", 422, "needs a file name"),
]


def test_share_errors(fresh_api: Api) -> None:
    api = fresh_api
    api.post("/api/v1/shares", data={"domain": "finance", "name": "taken"}, files={"file": ("x.csv", b"a\n1\n")})
    for data, filename, status, detail in SHARE_ERRORS:
        r = api.post("/api/v1/shares", data=data, files={"file": (filename, b"a,b\n1,2\n")})
        assert r.status_code == status, f"{data} {filename}: {r.status_code} {r.text}"
        assert detail in _error(r, status), f"{data} {filename}"
    assert [d["name"] for d in api.get("/api/v1/datasets").json()["results"]] == ["finance.taken", KPIS]
