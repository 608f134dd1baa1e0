"""Web test fixtures: an in-process browser-like client (httpx over ASGI) and a small HTML tree.

Pages are checked through the parsed HTML (stdlib `html.parser`), never with regular expressions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from threshold.api.app import create_app

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        """The text inside, as a browser joins it, whitespace collapsed."""
        return " ".join("".join(c if isinstance(c, str) else c.text() for c in self.children).split())

    def iter(self) -> Iterator[Node]:
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.iter()

    def find_all(self, tag: str | None = None, *, class_: str | None = None, **attrs: str) -> list[Node]:
        """Descendants with `tag`, the CSS class `class_`, and exactly these attribute values."""
        return [
            n
            for n in self.iter()
            if (tag is None or n.tag == tag)
            and (class_ is None or class_ in n.attrs.get("class", "").split())
            and all(n.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]

    def find(self, tag: str | None = None, *, class_: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, class_=class_, **attrs)
        assert found, f"no <{tag or '*'}> with class={class_} {attrs} in the page"
        return found[0]

    def form_values(self) -> dict[str, str]:
        """What a browser would submit from this <form> as is (inputs, selects, textareas)."""
        values: dict[str, str] = {}
        for n in self.iter():
            name = n.attrs.get("name")
            if not name:
                continue
            if n.tag == "input" and n.attrs.get("type") not in ("checkbox", "radio", "file", "submit"):
                values[name] = n.attrs.get("value", "")
            elif n.tag == "input" and n.attrs.get("type") in ("checkbox", "radio") and "checked" in n.attrs:
                values[name] = n.attrs.get("value", "on")
            elif n.tag == "textarea":
                values[name] = "".join(c for c in n.children if isinstance(c, str)).removeprefix("\n")
            elif n.tag == "select":
                options = n.find_all("option")
                chosen = [o for o in options if "selected" in o.attrs] or options[:1]
                if chosen:
                    values[name] = chosen[0].attrs.get("value", chosen[0].text())
        return values

    def table_rows(self) -> list[list[str]]:
        """Texts of the body cells of this <table>, row by row."""
        return [[td.text() for td in tr.find_all("td")] for tr in self.find("tbody").find_all("tr")]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v if v is not None else "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v if v is not None else "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html(text: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


class Browser:
    """A cookie-keeping client for the ASGI app, usable from sync tests (one event loop per browser)."""

    def __init__(self, app: Any) -> None:
        self._runner = asyncio.Runner()
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")

    parse = staticmethod(parse_html)

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self._runner.run(self._client.get(url, **kw))

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self._runner.run(self._client.post(url, **kw))

    def page(self, url: str) -> Node:
        """GET an HTML page that must answer 200, parsed."""
        r = self.get(url)
        assert r.status_code == 200, (url, r.status_code, r.text[:500])
        assert r.headers["content-type"].startswith("text/html")
        return parse_html(r.text)

    def csrf(self, url: str = "/") -> str:
        """The CSRF token as the pages put it in their forms."""
        return self.page(url).find("meta", name="csrf-token").attrs["content"]

    def sign_in(self, user: str, password: str, next: str = "/") -> httpx.Response:
        """Fill and send the login form as a person would."""
        form = self.page(f"/login?next={next}").find("form", action="/login")
        values = form.form_values() | {"username": user, "password": password}
        return self.post("/login", data=values)

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its cheapest parameters: the org fixture hashes three passwords per test.

    Autouse, so it runs before `org`. Verification reads the parameters from each hash.
    """
    from argon2 import PasswordHasher, profiles

    from threshold.identity import service as identity

    monkeypatch.setattr(identity, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture
def app(org: Any) -> Any:
    return create_app(org.platform)


@pytest.fixture
def anonymous(app: Any) -> Iterator[Browser]:
    browser = Browser(app)
    yield browser
    browser.close()


@pytest.fixture
def anna(app: Any) -> Iterator[Browser]:
    """A browser signed in as anna (member and owner of manufacturing)."""
    browser = Browser(app)
    r = browser.sign_in("anna", "anna-pass")
    assert r.status_code == 303 and r.headers["location"] == "/"
    yield browser
    browser.close()
