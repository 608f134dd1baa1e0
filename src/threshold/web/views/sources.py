"""Databases as sources, in the browser, each page with its `.json` twin: `/sources` (the sources with a database
connection, and the form that registers one) and `/sources/<name>` (its connection, never the password; its
syncs with their last run; the forms that test it, set up a sync and run one). The service decides who may
do what (docs/sources.md); the pages translate forms and render."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from threshold.connectors import service
from threshold.interface.permissions import SignedIn
from threshold.web.session import check_csrf
from threshold.web.templating import page

router = APIRouter()
Csrf = Annotated[str, Form(max_length=200)]
Name = Annotated[str, Form(min_length=1, max_length=63)]


@router.get("/sources")
@router.get("/sources.json")
def sources_page(request: Request, person: SignedIn) -> Response:
    connections = service.listing(request.app.state.platform, user=person)
    data = {"sources": [asdict(c) for c in connections]}
    return page(request, "sources.html", data, person=person, title="Sources", nav="sources")


@router.post("/sources")
def add_source(
    request: Request,
    person: SignedIn,
    name: Name,
    url: Annotated[str, Form(min_length=1, max_length=2000)],
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    service.add(request.app.state.platform, name, url, owner=person.name, user=person, password=password or None)
    return RedirectResponse(f"/sources/{quote(name, safe='')}", status_code=303)


@router.get("/sources/{name}")
def source_page(request: Request, person: SignedIn, name: str) -> Response:
    """`/sources/<name>` or its twin `/sources/<name>.json`."""
    if name.endswith(".json"):
        name = name.removesuffix(".json")
    platform = request.app.state.platform
    info = service.show(platform, name, user=person)
    data = {"source": asdict(info), "tested": None}
    return page(request, "sources_source.html", data, person=person, title=name, nav="sources")


@router.post("/sources/{name}/test")
def test_source(request: Request, person: SignedIn, name: str, csrf: Csrf = "") -> Response:
    check_csrf(request, csrf)
    platform = request.app.state.platform
    tested = service.test(platform, name, user=person)
    data = {"source": asdict(service.show(platform, name, user=person)), "tested": asdict(tested)}
    return page(request, "sources_source.html", data, person=person, title=name, nav="sources")


@router.post("/sources/{name}/syncs")
def set_up_sync(
    request: Request,
    person: SignedIn,
    name: str,
    dataset: Annotated[str, Form(min_length=3, max_length=127)],
    table: Annotated[str, Form(max_length=255)] = "",
    query: Annotated[str, Form(max_length=100_000)] = "",
    mode: Annotated[str, Form(pattern="^(full|incremental)$")] = "full",
    cursor: Annotated[str, Form(max_length=255)] = "",
    keys: Annotated[str, Form(max_length=2000)] = "",
    schedule: Annotated[str, Form(max_length=100)] = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    platform = request.app.state.platform
    service.configure(
        platform,
        name,
        dataset=dataset,
        user=person,
        table=table or None,
        query=query or None,
        mode=mode,
        cursor=cursor or None,
        keys=[k.strip() for k in keys.split(",") if k.strip()],
        schedule=schedule or None,
    )
    return RedirectResponse(f"/sources/{quote(name, safe='')}", status_code=303)


@router.post("/sources/{name}/syncs/run")
def run_sync(
    request: Request,
    person: SignedIn,
    name: str,
    dataset: Annotated[str, Form(min_length=3, max_length=127)],
    full: Annotated[bool, Form()] = False,
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    service.run(request.app.state.platform, dataset, user=person, full=full)
    return RedirectResponse(f"/sources/{quote(name, safe='')}", status_code=303)
