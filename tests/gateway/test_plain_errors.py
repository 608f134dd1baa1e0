"""A query's errors in plain words: what is wrong, where in the query as written, what was meant; in no
interface's words (each interface adds its own way to act); never suggesting what the person may not see."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pyarrow as pa
import pytest

from threshold.api.app import create_app
from threshold.cli import _cli_hint
from threshold.errors import Denied, InvalidInput, ThresholdError
from threshold.gateway.service import query
from threshold.governance.controls import set_visibility
from threshold.identity.service import create_token
from threshold.sharing.service import share

KPIS = "manufacturing.plant_kpis"

# (query, the message, the suggestions)
CASES: list[tuple[str, str, tuple[str, ...]]] = [
    (
        f"SELECT scrpa_rate FROM {KPIS}",
        "there is no column “scrpa_rate” in what the query reads (line 1, column 8)",
        ("scrap_rate",),
    ),
    (
        f"SELECT plant,\n  avg(Scrap_Rte)\nFROM {KPIS}",
        "there is no column “Scrap_Rte” in what the query reads (line 2, column 7)",
        ("scrap_rate",),
    ),
    (
        f"SELECT k.plnt FROM {KPIS} AS k",
        "there is no column “plnt” in what the query reads (line 1, column 10)",
        ("plant",),
    ),
    (
        f"SELECT nothing_like_it FROM {KPIS}",
        "there is no column “nothing_like_it” in what the query reads (line 1, column 8)",
        (),
    ),
    ("SELECT * FROM manufacturing.plant_kpi", "unknown dataset manufacturing.plant_kpi", (KPIS,)),
    ("SELECT * FROM manufacturing.zzzz_qqqq", "unknown dataset manufacturing.zzzz_qqqq", ()),
    ("SELECT * FROM plant_kpis", "unknown table 'plant_kpis': write datasets as domain.dataset", (KPIS,)),
    ("SELEC plant FROM x", "a query starts with SELECT (or WITH, FROM): “SELEC” (line 1, column 1)", ("SELECT",)),
    (
        f"SELECT plant FROM {KPIS} WHERE",
        "the query cannot be read: something is missing after “WHERE” (line 1, column 44)",
        (),
    ),
    (
        f"SELECT sum(plant) FROM {KPIS}",
        "sum() cannot take varchar: convert the value first, e.g. CAST(column AS DOUBLE) (line 1, column 8)",
        (),
    ),
]


@pytest.mark.parametrize(("sql", "message", "suggestions"), CASES)
def test_query_errors_in_plain_words(sql: str, message: str, suggestions: tuple[str, ...], module_org: Any) -> None:
    with pytest.raises(InvalidInput) as e:
        query(module_org.platform, sql, user=module_org.ben)
    assert (str(e.value), e.value.suggestions) == (message, suggestions)
    for jargon in ("Error:", "InvalidInput", "threshold ", "Candidate", "LINE 1", "__thr"):
        assert jargon not in str(e.value)


def test_did_you_mean_never_names_a_dataset_the_person_may_not_see(org: Any) -> None:
    share(org.platform, pa.table({"salary_band": ["B3"]}), domain="finance", name="payroll_bands", user=org.ben)
    set_visibility(org.platform, org.ben, "finance.payroll_bands", "restricted")
    for sql in ("SELECT * FROM finance.payroll_band", "SELECT * FROM payroll_bands"):
        with pytest.raises(InvalidInput) as outsider:
            query(org.platform, sql, user=org.carla)
        assert outsider.value.suggestions == (), sql
        with pytest.raises(InvalidInput) as member:
            query(org.platform, sql, user=org.ben)
        assert member.value.suggestions == ("finance.payroll_bands",), sql


def _api(org: Any, method: str, url: str, **kw: Any) -> httpx.Response:
    app = create_app(org.platform)
    token = create_token(org.platform, "ben")[1]

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            return await c.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kw)

    return asyncio.run(go())


def test_each_interface_says_what_to_do_in_its_own_words(org: Any) -> None:
    # The API: the same message, and the actions as fields.
    r = _api(org, "POST", "/api/v1/query", json={"sql": f"SELECT scrpa_rate FROM {KPIS}"})
    assert (r.status_code, r.json()["suggestions"]) == (422, ["scrap_rate"])
    r = _api(org, "GET", "/api/v1/datasets/manufacturing.plant_kpi")
    assert r.status_code == 404
    assert r.json() == {  # the one refusal of a missing (or hidden) dataset (`access.no_dataset`), and the near ones
        "detail": "no dataset 'manufacturing.plant_kpi'",
        "error": "NotFound",
        "suggestions": [KPIS],
    }
    set_visibility(org.platform, org.anna, KPIS, "on-request")
    r = _api(org, "POST", "/api/v1/query", json={"sql": f"SELECT plant FROM {KPIS}"})
    assert r.status_code == 403
    assert r.json()["request_access"] == {"dataset": KPIS, "href": "/api/v1/requests"}
    assert "threshold" not in r.json()["detail"]
    # The CLI: its own commands.
    with pytest.raises(Denied) as refused:
        query(org.platform, f"SELECT plant FROM {KPIS}", user=org.ben)
    assert _cli_hint(refused.value) == f"; request access: threshold request {KPIS} --purpose ..."
    assert _cli_hint(ThresholdError("x", suggestions=["a.b", "a.c"])) == "; did you mean a.b or a.c?"
    # A restricted dataset does not exist for an outsider: unknown, nothing offers to ask, no suggestion names it.
    set_visibility(org.platform, org.anna, KPIS, "restricted")
    with pytest.raises(InvalidInput) as restricted:
        query(org.platform, f"SELECT plant FROM {KPIS}", user=org.ben)
    assert str(restricted.value) == f"unknown dataset {KPIS}"
    assert restricted.value.request_access is None
    assert KPIS not in restricted.value.suggestions
