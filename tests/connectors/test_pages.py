"""The sources pages over the ASGI app, each with its `.json` twin: connect a database by form (the password is
never in any page), set up a sync, run it, see its last run; someone else sees the source but not its page."""

from __future__ import annotations

import asyncio
import sqlite3
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx

from threshold.api.app import create_app


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Tags:
    p = _Tags()
    p.feed(html)
    return p


def test_connect_set_up_and_run_a_sync_from_the_browser(org: Any, tmp_path: Path) -> None:
    shop = tmp_path / "shop.db"
    with sqlite3.connect(shop) as c:
        c.execute("create table orders (id integer primary key, status text)")
        c.executemany("insert into orders values (?, ?)", [(1, "new"), (2, "paid")])
    app = create_app(org.platform)
    secret = "Web-Secret-55"

    async def go() -> None:
        clients = {}
        for name in ("anna", "ben"):
            c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
            login = _parse((await c.get("/login")).text)
            csrf = next(a.get("value", "") for t, a in login.tags if t == "input" and a.get("name") == "csrf")
            r = await c.post("/login", data={"username": name, "password": f"{name}-pass", "csrf": csrf})
            assert r.status_code == 303
            clients[name] = c
        anna, ben = clients["anna"], clients["ben"]

        async def csrf(c: httpx.AsyncClient) -> str:
            page = _parse((await c.get("/sources")).text)
            return next(a["content"] for t, a in page.tags if t == "meta" and a.get("name") == "csrf-token")

        page = _parse((await anna.get("/sources")).text)
        assert any(t == "form" and a.get("action") == "/sources" for t, a in page.tags)
        r = await anna.post(
            "/sources",
            data={
                "name": "erp",
                "url": "postgresql://reader@127.0.0.1:1/erp",
                "password": secret,
                "csrf": await csrf(anna),
            },
        )
        assert r.status_code == 303 and r.headers["location"] == "/sources/erp"
        r = await anna.post("/sources", data={"name": "shop", "url": f"sqlite:///{shop}", "csrf": await csrf(anna)})
        assert r.status_code == 303
        r = await anna.post(
            "/sources/shop/syncs",
            data={"dataset": "manufacturing.orders", "table": "orders", "mode": "full", "csrf": await csrf(anna)},
        )
        assert r.status_code == 303
        r = await anna.post(
            "/sources/shop/syncs/run", data={"dataset": "manufacturing.orders", "csrf": await csrf(anna)}
        )
        assert r.status_code == 303
        twin = (await anna.get("/sources/shop.json")).json()
        (sync,) = twin["data"]["source"]["syncs"] if "data" in twin else twin["source"]["syncs"]
        assert (sync["dataset"], sync["last_status"], sync["last_rows"]) == ("manufacturing.orders", "ok", 2)
        html = (await anna.get("/sources/shop")).text
        rows = [a for t, a in _parse(html).tags if t == "tr" and a.get("class") == "sync"]
        assert [a["data-dataset"] for a in rows] == ["manufacturing.orders"]
        for url in ("/sources", "/sources.json", "/sources/erp", "/sources/erp.json"):
            r = await anna.get(url)
            assert r.status_code == 200 and secret not in r.text
        # The connection test fails in one line, without the password.
        r = await anna.post("/sources/erp/test", data={"csrf": await csrf(anna)})
        assert r.status_code >= 400 and secret not in r.text and "source erp:" in r.text
        # Ben sees that the sources exist, not their connection.
        listing = (await ben.get("/sources.json")).json()
        rows = listing["data"]["sources"] if "data" in listing else listing["sources"]
        assert {s["name"]: s["url"] for s in rows} == {"erp": None, "shop": None}
        assert (await ben.get("/sources/shop")).status_code == 403
        for c in clients.values():
            await c.aclose()

    asyncio.run(go())
