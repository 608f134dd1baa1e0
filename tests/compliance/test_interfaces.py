"""The register and retention from every interface: the REST API (over ASGI), the `threshold` command (its entry
point, in-process) and the Python client; the same service answers, restricted datasets hidden alike."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
from typing import Any

import httpx

import inprocess
from threshold.api.app import create_app
from threshold.governance.controls import set_visibility
from threshold.identity.service import create_token

CUSTOMERS = """Customer Name,E-Mail,Country,Signed Up
Anna Schmidt,anna.schmidt@example.com,DE,2024-01-03
Jean Dupont,jean.dupont@example.fr,FR,2025-03-04
"""
COLLECTION = {
    "legal_basis": "consent",
    "subjects": ["customers"],
    "retention": "2y",
    "retention_column": "signed_up",
    "source_system": "SAP",
    "controller": "dpo@example.com",
}


def test_the_rest_api(org: Any) -> None:
    p = org.platform
    p.settings.compliance.register_required = True
    app = create_app(p)
    tokens = {n: create_token(p, n)[1] for n in ("anna", "ben", "carla")}

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:

            def h(who: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {tokens[who]}"}

            upload = {"file": ("customers.csv", CUSTOMERS.encode())}
            form = {"domain": "manufacturing", "collection": json.dumps({"legal_basis": "consent"})}
            r = await c.post("/api/v1/shares", headers=h("anna"), data=form, files=upload)
            assert r.status_code == 422
            assert (
                "needs purpose, subjects, retention, retention column, source system, controller" in r.json()["detail"]
            )
            form = {"domain": "manufacturing", "purpose": "orders", "collection": json.dumps(COLLECTION)}
            r = await c.post("/api/v1/shares", headers=h("anna"), data=form, files=upload)
            assert r.status_code == 200, r.text
            r = await c.get("/api/v1/compliance/register/manufacturing.customers", headers=h("carla"))
            assert (r.json()["legal_basis"], r.json()["retention_days"]) == ("consent", 730)
            r = await c.put(
                "/api/v1/compliance/register/manufacturing.customers", headers=h("carla"), json={"retention": "1y"}
            )
            assert r.status_code == 403
            r = await c.put(
                "/api/v1/compliance/register/manufacturing.customers", headers=h("anna"), json={"retention": "1y"}
            )
            assert r.json()["retention_days"] == 365
            r = await c.get("/api/v1/compliance/register/manufacturing.customers/history", headers=h("anna"))
            assert [x["note"] for x in r.json()] == ["edited", "recorded at share"]
            set_visibility(p, org.anna, "manufacturing.customers", "restricted")
            r = await c.get("/api/v1/compliance/register.csv", headers=h("carla"))
            assert r.headers["content-type"].startswith("text/csv") and "customers" not in r.text
            r = await c.get("/api/v1/compliance/register/manufacturing.customers", headers=h("carla"))
            assert r.status_code == 404
            r = await c.get("/api/v1/compliance/register", headers=h("anna"), params={"legal_basis": "consent"})
            assert [x["dataset"] for x in r.json()] == ["manufacturing.customers"]
            r = await c.post("/api/v1/compliance/retention/run", headers=h("carla"), json={"dry_run": True})
            assert r.status_code == 403
            assert (await c.get("/api/v1/compliance/register")).status_code == 401

    asyncio.run(go())


def _threshold(home: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return inprocess.threshold(*args, home=home, columns=100)


def test_the_command_line(org: Any, tmp_path: Any) -> None:
    home = org.platform.settings.home_dir
    path = tmp_path / "customers.csv"
    path.write_text(CUSTOMERS, encoding="utf-8")
    org.platform.close()
    base = ("share", str(path), "--domain", "manufacturing", "--as", "anna")
    r = _threshold(home, *base, "--legal-basis", "because")
    assert r.returncode != 0 and r.stderr.strip().startswith("error: unknown legal basis 'because'")
    assert len(r.stderr.strip().splitlines()) == 1
    full = ("--legal-basis", "consent", "--retention", "2y", "--retention-column", "signed_up")
    more = ("--subjects", "customers", "--controller", "dpo@example.com", "--source-system", "SAP")
    r = _threshold(home, *base, *full, *more, "--format", "json")
    assert r.returncode == 0, r.stderr
    shown = json.loads(_threshold(home, "register", "show", "manufacturing.customers", "--format", "json").stdout)
    assert (shown["legal_basis"], shown["subjects"], shown["source_system"]) == ("consent", ["customers"], "SAP")
    r = _threshold(home, "register", "set", "manufacturing.customers", "--retention", "18m", "--as", "anna")
    assert r.returncode == 0 and "register entry saved" in r.stdout
    history = json.loads(_threshold(home, "register", "history", "manufacturing.customers", "--format", "json").stdout)
    assert history[0]["changes"] == {"retention": ["2y", "18m"]}
    rows = list(csv.DictReader(io.StringIO(_threshold(home, "register", "export").stdout)))
    assert {r["dataset"]: r["retention"] for r in rows} == {
        "manufacturing.customers": "18m",
        "manufacturing.plant_kpis": "",
    }
    dry = json.loads(_threshold(home, "retention", "run", "--dry-run", "--format", "json").stdout)
    assert [(o["dataset"], o["dry_run"]) for o in dry] == [("manufacturing.customers", True)]


def test_the_embedded_python_client(org: Any, tmp_path: Any) -> None:
    import threshold

    path = tmp_path / "customers.csv"
    path.write_text(CUSTOMERS, encoding="utf-8")
    anna = threshold.connect(home=org.platform.settings.home_dir, user="anna")
    try:
        anna.share(path, domain="manufacturing", collection=COLLECTION)
        assert anna.register_entry("manufacturing.customers")["controller"] == "dpo@example.com"
        assert anna.set_register_entry("manufacturing.customers", subjects=["customers", "prospects"])["subjects"] == [
            "customers",
            "prospects",
        ]
        assert len(anna.register_history("manufacturing.customers")) == 2
        assert json.loads(anna.export_register("json"))[0]["dataset"] == "manufacturing.customers"
    finally:
        anna.close()
