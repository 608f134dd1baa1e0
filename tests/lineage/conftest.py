"""Lineage fixtures: the `org` of tests/conftest.py, a running server, an OpenLineage receiver, a browser.

- `server(platform)`: the real app under uvicorn on 127.0.0.1 and a free port, in a thread.
- `receiver`: a small HTTP server that records every POSTed JSON body (gzip or not), in a thread.
- `browser(platform, user)`: an in-process client signed in through the login form; pages parsed as HTML.
- `chain`: a small supply chain of shared and derived datasets on top of `org`.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from prepared import on_org
from threshold.api.app import create_app
from threshold.gateway.service import query
from threshold.lineage.derive import derive
from threshold.lineage.sources import add_source
from threshold.platform import Platform
from threshold.runtime import drain
from threshold.sharing.service import share


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its cheapest parameters (the org fixture hashes three passwords)."""
    from argon2 import PasswordHasher, profiles

    from threshold.identity import service as identity

    monkeypatch.setattr(identity, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str


@pytest.fixture
def server(serve: Any) -> Iterator[Callable[[Platform], Server]]:
    """`server(platform)` starts the app under uvicorn; every server started is stopped afterwards."""
    with ExitStack() as running:

        def start(platform: Platform) -> Server:
            return Server(running.enter_context(serve(create_app(platform), lifespan="on")))

        yield start


@dataclass
class Receiver:
    url: str
    bodies: list[Any] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    status: int = 201

    def wait_for(self, n: int, timeout: float = 15.0) -> list[Any]:
        """What was received once the deliveries started so far have finished (they run on background
        threads: joined, not polled); the test asserts there are `n`."""
        drain(timeout)
        return list(self.bodies)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP endpoint standing in for Marquez: it records what is POSTed to it."""
    port = free_port()
    rec = Receiver(f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            raw = self.rfile.read(int(self.headers.get("content-length", "0")))
            if self.headers.get("content-encoding") == "gzip":
                raw = gzip.decompress(raw)
            rec.headers.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
            if rec.status < 300:
                rec.bodies.append(json.loads(raw))
            self.send_response(rec.status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield rec
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


# --- a small browser ---------------------------------------------------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Any] = field(default_factory=list)

    def text(self) -> str:
        return " ".join("".join(c if isinstance(c, str) else c.text() for c in self.children).split())

    def iter(self) -> Iterator[Node]:
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.iter()
            if (tag is None or n.tag == tag) and all(n.attrs.get(k) == v for k, v in attrs.items())
        ]

    def find(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag}> {attrs} in the page"
        return found[0]


class _Tree(HTMLParser):
    VOID = {"br", "hr", "img", "input", "link", "meta", "source", "wbr", "col", "area", "base", "embed", "track"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html(text: str) -> Node:
    tree = _Tree()
    tree.feed(text)
    tree.close()
    return tree.root


class Browser:
    def __init__(self, app: Any) -> None:
        self._runner = asyncio.Runner()
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self._runner.run(self._client.get(url, **kw))

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self._runner.run(self._client.post(url, **kw))

    def page(self, url: str) -> Node:
        r = self.get(url)
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("text/html")
        return parse_html(r.text)

    def sign_in(self, user: str) -> None:
        form = self.page("/login").find("form", action="/login")
        values = {n.attrs["name"]: n.attrs.get("value", "") for n in form.find_all("input") if n.attrs.get("name")}
        r = self.post("/login", data=values | {"username": user, "password": f"{user}-pass"})
        assert r.status_code == 303, r.text[:300]

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


@pytest.fixture
def browser() -> Iterator[Callable[[Any, str], Browser]]:
    opened: list[Browser] = []

    def open_as(platform: Platform, user: str) -> Browser:
        b = Browser(create_app(platform))
        b.sign_in(user)
        opened.append(b)
        return b

    yield open_as
    for b in opened:
        b.close()


# --- a supply chain -----------------------------------------------------------------------------

PLANTS_CSV = "Plant,Country\nBerlin,DE\nLyon,FR\nPorto,PT\n"
KPIS = "manufacturing.plant_kpis"


@on_org("chain")
def _prepare_chain(org: Any, tmp: Path) -> Any:
    return build_chain(org, tmp)


@pytest.fixture
def chain(org: Any, tmp_path: Path, prepared_homes: Any) -> Any:
    """The supply chain of `build_chain` on a fresh `org`, for tests that change it (a copy of its home,
    built once per session)."""
    return org if prepared_homes.adopt(org, _prepare_chain) else build_chain(org, tmp_path)


@pytest.fixture(scope="module")
def module_chain(module_org: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The supply chain built once per module, for tests that only read it."""
    return build_chain(module_org, tmp_path_factory.mktemp("chain"))


def build_chain(org: Any, tmp_path: Path) -> Any:
    """A small supply chain on top of `org` (SQLite), for the supply-chain, impact and page tests.

        plant_kpis.csv (file) ─► manufacturing.plant_kpis ─┬─► manufacturing.plant_scrap ─► sales.scrap_by_country
        mes (source system) ──► manufacturing.plants ──────┘
                                 manufacturing.plant_kpis ─┬─► finance.all_kpis (SELECT *) ─► sales.from_all
                                                           └─► sales.energy (filters on scrap_rate)

    Owners: manufacturing anna; finance ben; sales has no domain owner, so its derived datasets are
    answered for by carla, who derived them. ben read plant_kpis.scrap_rate once (a recent consumer).
    """
    p = org.platform
    add_source(p, "mes", owner="anna", kind="application", description="the plants' MES", user=org.admin)
    plants = tmp_path / "plants.csv"
    plants.write_text(PLANTS_CSV, encoding="utf-8")
    share(p, plants, domain="manufacturing", user=org.anna, source_system="mes")
    derive(
        p,
        "plant_scrap",
        domain="manufacturing",
        user=org.anna,
        sql="SELECT k.plant, p.country, avg(k.scrap_rate) AS avg_scrap FROM manufacturing.plant_kpis k "
        "JOIN manufacturing.plants p ON p.plant = k.plant GROUP BY k.plant, p.country",
    )
    derive(
        p,
        "scrap_by_country",
        domain="sales",
        user=org.carla,
        sql="SELECT country, max(avg_scrap) AS worst FROM manufacturing.plant_scrap GROUP BY country",
    )
    derive(p, "all_kpis", domain="finance", user=org.ben, sql=f"SELECT * FROM {KPIS}")
    derive(p, "from_all", domain="sales", user=org.carla, sql="SELECT plant, scrap_rate FROM finance.all_kpis")
    derive(
        p, "energy", domain="sales", user=org.carla, sql=f"SELECT plant, energy_kwh FROM {KPIS} WHERE scrap_rate > 0.1"
    )
    query(p, f"SELECT avg(scrap_rate) FROM {KPIS}", user=org.ben, purpose="budget")
    return org
