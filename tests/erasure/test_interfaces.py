"""Erasure from the REST API and the CLI: plan, confirm with the plan's token, certificate, subject access;
only the governance group."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx

import inprocess
from threshold.api.app import create_app
from threshold.identity.service import create_token

from .test_erasure import ADA, _build


def test_the_rest_api(org: Any, tmp_path: Path) -> None:
    p = org.platform
    _build(org, tmp_path)
    app = create_app(p)
    tokens = {n: create_token(p, n)[1] for n in ("greta", "carla")}
    body = {"subjects": [f"personal.email={ADA}"]}

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:

            def h(who: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {tokens[who]}"}

            r = await c.post("/api/v1/erasure/plan", json=body, headers=h("carla"))
            assert r.status_code == 403
            r = await c.post("/api/v1/erasure/plan", json={"subjects": ["nonsense"]}, headers=h("greta"))
            assert r.status_code in (400, 422)
            r = await c.post("/api/v1/erasure/plan", json=body, headers=h("greta"))
            assert r.status_code == 200, r.text
            plan = r.json()
            assert plan["rows"] == 21 and ADA not in r.text
            r = await c.post("/api/v1/subject-access", json=body | {"format": "csv"}, headers=h("greta"))
            assert r.status_code == 200 and ADA in r.text and r.text.startswith("dataset,purpose,legal_basis")
            r = await c.post("/api/v1/erasure", json=body | {"reason": "r", "confirm": "0" * 16}, headers=h("greta"))
            assert r.status_code == 409
            r = await c.post(
                "/api/v1/erasure", json=body | {"reason": "ticket 9", "confirm": plan["token"]}, headers=h("greta")
            )
            assert r.status_code == 200, r.text
            cert = r.json()
            assert cert["status"] == "completed" and ADA not in r.text
            r = await c.get(f"/api/v1/erasure/certificates/{cert['id']}", headers=h("greta"))
            assert r.json()["tables"] == cert["tables"]
            r = await c.get("/api/v1/erasure/certificates", headers=h("carla"))
            assert r.status_code == 403

    asyncio.run(go())


def test_the_cli(org: Any, tmp_path: Path) -> None:
    p = org.platform
    _build(org, tmp_path)
    home = p.settings.home_dir
    p.close()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        """The command in this process (`tests/inprocess.py`): its exit code, stdout and stderr."""
        return inprocess.threshold(*args, "--as", "greta", home=home)

    report = tmp_path / "ada.csv"
    access = run("erasure", "access", "--subject", f"personal.email={ADA}", "--export", str(report))
    assert access.returncode == 0, access.stderr
    assert "3 of 4 datasets searched hold the subject" in access.stdout
    assert report.read_text().count(ADA) == 21
    dry = run("erase", "--subject", f"personal.email={ADA}", "--dry-run", "--format", "json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["token"] and sum(i["rows"] for i in json.loads(dry.stdout)["items"]) == 21
    refused = run("erase", "--subject", f"personal.email={ADA}", "--reason", "x", "--format", "json")
    assert refused.returncode != 0 and "--yes" in refused.stderr
    done = run("erase", "--subject", f"personal.email={ADA}", "--reason", "ticket 9", "--yes", "--format", "json")
    assert done.returncode == 0, done.stderr
    cert = json.loads(done.stdout)
    assert cert["status"] == "completed" and ADA not in done.stdout
    export = tmp_path / "cert.json"
    shown = run("erasure", "certificate", str(cert["id"]), "--export", str(export))
    assert shown.returncode == 0 and "completed" in shown.stdout
    assert json.loads(export.read_text())["id"] == cert["id"]


def test_the_python_client_embedded_and_remote(org: Any, tmp_path: Path, serve: Any) -> None:
    import threshold
    from threshold.client import LocalClient

    p = org.platform
    _build(org, tmp_path)
    subject = [f"personal.email={ADA}"]
    from threshold.identity.service import get_person

    local = LocalClient.__new__(LocalClient)  # on the home the test holds open
    local.platform, local.user = p, get_person(p, "greta")
    with serve(create_app(p), lifespan="off", ws="none") as url:
        remote = threshold.connect(url=url, token=create_token(p, "greta")[1])
        plan = remote.plan_erasure(subject)  # type: ignore[attr-defined]
        assert plan == local.plan_erasure(subject)
        assert "customer_email" in remote.subject_access(subject, format="csv")  # type: ignore[attr-defined]
        cert = remote.erase(subject, reason="ticket 12", confirm=plan["token"])  # type: ignore[attr-defined]
        assert cert["status"] == "completed"
        assert local.erasure_certificate(cert["id"]) == remote.erasure_certificate(cert["id"])  # type: ignore[attr-defined]
        assert [c["id"] for c in local.erasure_certificates()] == [cert["id"]]
        assert local.subject_access(subject)["holdings"] == []
