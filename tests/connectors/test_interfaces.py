"""Databases as sources over the REST API, the Python client and the CLI: the same service, a password that goes
in and never comes out (responses, listings, JSON output, error lines), and the decision point's answers."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

import inprocess
from threshold.api.app import create_app
from threshold.client import LocalClient
from threshold.identity.service import create_token


def _shop(tmp_path: Path) -> Path:
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as c:
        c.execute("create table orders (id integer primary key, status text, updated_at timestamp)")
        c.executemany(
            "insert into orders values (?, ?, ?)",
            [(1, "new", "2026-01-01 10:00:00"), (2, "paid", "2026-01-02 10:00:00")],
        )
    return db


def test_the_rest_api(org: Any, tmp_path: Path) -> None:
    app = create_app(org.platform)
    tokens = {n: create_token(org.platform, n)[1] for n in ("anna", "ben")}
    secret = "Api-Secret-77"
    shop = _shop(tmp_path)

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:

            def h(who: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {tokens[who]}"}

            r = await c.put(
                "/api/v1/sources/erp/connection",
                headers=h("anna"),
                json={"url": "postgresql://reader@127.0.0.1:1/erp", "password": secret},
            )
            assert r.status_code == 200, r.text
            assert r.json()["url"] == "postgresql+psycopg://reader@127.0.0.1:1/erp" and secret not in r.text
            r = await c.post("/api/v1/sources/erp/test", headers=h("anna"))
            assert r.status_code >= 400 and r.json()["detail"].startswith("source erp:") and secret not in r.text
            r = await c.get("/api/v1/sources/erp/connection", headers=h("ben"))
            assert r.status_code == 403 and "only the owner of source system erp" in r.json()["detail"]
            r = await c.get("/api/v1/source-connections", headers=h("ben"))
            assert r.json() == [
                {
                    "name": "erp",
                    "owner": "anna",
                    "dialect": "postgresql",
                    "url": None,
                    "has_password": True,
                    "syncs": [],
                }
            ]
            r = await c.put("/api/v1/sources/shop/connection", headers=h("anna"), json={"url": f"sqlite:///{shop}"})
            assert r.status_code == 200
            r = await c.put(
                "/api/v1/sources/shop/syncs",
                headers=h("anna"),
                json={
                    "dataset": "manufacturing.orders",
                    "table": "orders",
                    "mode": "incremental",
                    "cursor": "updated_at",
                    "keys": ["id"],
                    "schedule": "daily",
                },
            )
            assert r.status_code == 200 and r.json()["schedule"] == "daily"
            r = await c.post("/api/v1/syncs/manufacturing.orders/run", headers=h("anna"), json={})
            assert r.status_code == 200 and (r.json()["rows_read"], r.json()["rows_total"]) == (2, 2)
            r = await c.post("/api/v1/syncs/manufacturing.orders/run", headers=h("ben"), json={})
            assert r.status_code == 403
            r = await c.put("/api/v1/sources/x/connection", headers=h("anna"), json={"url": "y" * 2001})
            assert r.status_code == 422
            assert (await c.get("/api/v1/source-connections")).status_code == 401
            r = await c.delete("/api/v1/syncs/manufacturing.orders", headers=h("anna"))
            assert r.status_code == 204

    asyncio.run(go())


def test_the_python_client(org: Any, tmp_path: Path) -> None:
    c = LocalClient(org.platform.settings.home_dir, "anna")
    c.add_source_connection("shop", str(_shop(tmp_path)))
    assert c.test_source("shop")["tables"] == ["orders"]
    c.set_up_sync("shop", "manufacturing.orders", table="orders")
    assert c.sync("manufacturing.orders")["rows_total"] == 2
    assert [s["name"] for s in c.source_connections()] == ["shop"]


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`threshold ARGS --home HOME` through the CLI's entry point, in this process."""
    return inprocess.threshold(*args, home=home, columns=100)


def _process(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`threshold ARGS --home HOME` as a real process, `stdin` on its standard input."""
    return subprocess.run(
        [sys.executable, "-m", "threshold.cli", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "100"},
    )


def test_the_cli(org: Any, tmp_path: Path) -> None:
    home = org.platform.settings.home_dir
    shop = _shop(tmp_path)
    secret = "Cli-Secret-99"
    r = _process(  # the password read from the real standard input of the installed command
        home, "source", "add", "erp", "--url", "postgresql://reader@127.0.0.1:1/erp", "--password-stdin",
        "--as", "anna", "--format", "json", stdin=secret + "\n",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["has_password"] is True and secret not in r.stdout
    r = _cli(home, "source", "test", "erp", "--as", "anna")
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and "source erp:" in r.stderr and secret not in r.stderr
    assert "Traceback" not in r.stderr
    r = _cli(home, "source", "add", "shop", "--url", f"sqlite:///{shop}", "--as", "anna")
    assert r.returncode == 0, r.stderr
    r = _cli(
        home, "source", "sync", "shop", "--dataset", "manufacturing.orders", "--table", "orders",
        "--incremental", "--cursor", "updated_at", "--key", "id", "--as", "anna", "--format", "json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (json.loads(r.stdout)["rows_read"], json.loads(r.stdout)["cursor_value"]) == (2, "2026-01-02 10:00:00")
    r = _cli(home, "source", "list", "--as", "anna", "--format", "json")
    assert {row["name"]: row["connection"] for row in json.loads(r.stdout)} == {"erp": "postgresql", "shop": "sqlite"}
    r = _cli(home, "source", "show", "shop", "--as", "anna")
    assert r.returncode == 0 and "manufacturing.orders" in r.stdout
    r = _cli(home, "source", "show", "shop", "--as", "ben")
    assert r.returncode != 0 and "only the owner of source system shop" in r.stderr
