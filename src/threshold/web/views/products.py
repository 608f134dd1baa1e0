"""Consumption, producers, candidates and products in the browser; each page has its `.json` twin.

Pages call the services of `threshold.products` and add only the geometry of their charts (inline
SVG drawn by the templates with presentation attributes, so the strict CSP holds). Forms post with
the session's CSRF token and redirect back (post/redirect/get).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from threshold.errors import ThresholdError
from threshold.identity.service import Person
from threshold.interface.permissions import Requires, SignedIn
from threshold.platform import Platform
from threshold.products import candidates, consumption, contracts, lifecycle, owners, patterns, producers
from threshold.web import i18n
from threshold.web.session import check_csrf
from threshold.web.templating import language, page

router = APIRouter()
KnowsDataset = Annotated[Person, Requires("dataset.know", on="dataset")]
Promotes = Annotated[Person, Requires("product.promote")]
Manages = Annotated[Person, Requires("product.manage")]
ACCENT, OWN = "#0f766e", "#98a2b3"
SIGNAL_SHADES = {
    "people": 1.0,
    "domains": 0.85,
    "repeat": 0.7,
    "questions": 0.55,
    "purposes": 0.42,
    "dependents": 0.3,
    "demand": 0.2,
}
Weeks = Annotated[int | None, Query(ge=0, le=520)]
PageNumber = Annotated[int, Query(alias="page", ge=1, le=100_000)]


def _name(name: str) -> str:
    """`domain.dataset` from a path segment that may end in `.json` (the JSON twin)."""
    return name[: -len(".json")] if name.endswith(".json") and name.count(".") >= 2 else name


def _platform(request: Request) -> Platform:
    return request.app.state.platform  # type: ignore[no-any-return]


# --- Organisation: /consumption ---------------------------------------------------------------------


@router.get("/consumption")
@router.get("/consumption.json")
def consumption_page(request: Request, person: SignedIn, weeks: Weeks = None) -> Response:
    data = patterns.org_patterns(_platform(request), viewer=person, weeks=weeks).to_json()
    data["chart"] = matrix_chart(data["reuse_matrix"])
    for key in ("rising", "falling"):
        for item in data[key]:
            item["bar"] = _change_bar(item)
    return page(request, "consumption.html", data, person=person, title=i18n.Text("Consumption"), nav="consumption")


def matrix_chart(m: dict[str, Any]) -> dict[str, Any]:
    """Heatmap geometry: one cell per (consumer, producer) domain, shaded by distinct people."""
    cell_w, cell_h, left, top = 104, 34, 124, 30
    producers_, consumers_ = m["producers"], m["consumers"]
    by = {(c["consumer"], c["producer"]): c for c in m["cells"]}
    top_people = max((c["people"] for c in m["cells"] if not c["own"]), default=1) or 1
    cells = []
    for i, consumer in enumerate(consumers_):
        for j, producer in enumerate(producers_):
            c = by.get((consumer, producer))
            people = c["people"] if c else 0
            own = consumer == producer
            cells.append(
                {
                    "x": left + j * cell_w + 2,
                    "y": top + i * cell_h + 2,
                    "width": cell_w - 4,
                    "height": cell_h - 4,
                    "fill": OWN if own else ACCENT,
                    "opacity": 0.0 if not people else round(0.15 + 0.85 * min(people / top_people, 1.0), 2),
                    "label": str(people) if people else "",
                    "dark": people > top_people * 0.55 and not own,
                    "cx": left + j * cell_w + cell_w / 2,
                    "cy": top + i * cell_h + cell_h / 2 + 4,
                    "title": f"{consumer} reads {producer}'s data: {people} people, {c['reads'] if c else 0} reads"
                    + (" (own domain)" if own else ""),
                }
            )
    return {
        "width": left + cell_w * len(producers_) + 8,
        "height": top + cell_h * len(consumers_) + 8,
        "cells": cells,
        "columns": [{"x": left + j * cell_w + cell_w / 2, "label": p[:15]} for j, p in enumerate(producers_)],
        "rows": [{"y": top + i * cell_h + cell_h / 2 + 4, "label": c[:16]} for i, c in enumerate(consumers_)],
        "left": left,
        "top": top,
        "max": top_people,
    }


def _change_bar(item: dict[str, Any]) -> dict[str, Any]:
    top = max(item["prior_queries"], item["recent_queries"], 1)
    return {
        "prior": round(100 * item["prior_queries"] / top, 1),
        "recent": round(100 * item["recent_queries"] / top, 1),
    }


def sparkline(weekly: list[dict[str, Any]], width: int = 120, height: int = 28) -> dict[str, Any]:
    values = [w["queries"] for w in weekly] or [0]
    top = max(values) or 1
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{round(i * step, 1)},{round(height - 2 - (height - 4) * v / top, 1)}" for i, v in enumerate(values)
    )
    return {
        "width": width,
        "height": height,
        "points": points,
        "stroke": ACCENT,
        "total": sum(values),
        "title": ", ".join(f"{w['week']}: {w['queries']}" for w in weekly),
    }


# --- Producers: /domains/{name} ---------------------------------------------------------------------


@router.get("/domains/{name}")
def domain_page(
    request: Request, person: SignedIn, name: str, weeks: Weeks = None, page_number: PageNumber = 1
) -> Response:
    domain = name[: -len(".json")] if name.endswith(".json") else name
    data = producers.domain_view(_platform(request), domain, viewer=person, weeks=weeks, page=page_number).to_json()
    for item in data["datasets"]:
        item["spark"] = sparkline(item["weekly"])
    return page(request, "domain.html", data, person=person, title=data["title"], nav="consumption")


@router.get("/consumers/{dataset}")
def consumers_page(
    request: Request,
    person: Annotated[Person, Requires("dataset.usage.counts", on="dataset")],
    dataset: str,
    weeks: Weeks = None,
) -> Response:
    platform = _platform(request)
    data = consumption.dataset_consumers(platform, _name(dataset), viewer=person, weeks=weeks).to_json()
    data["spark"] = sparkline(data["weekly"], width=360, height=60)
    return page(
        request,
        "products_consumers.html",
        data,
        person=person,
        title=i18n.Text("Who uses %(dataset)s", {"dataset": data["dataset"]}),
        nav="consumption",
    )


# --- Candidates: /candidates --------------------------------------------------------------------------


@router.get("/candidates")
@router.get("/candidates.json")
def candidates_page(
    request: Request, person: SignedIn, weeks: Weeks = None, all: bool = False, page_number: PageNumber = 1
) -> Response:
    platform = _platform(request)
    include = ("open", "dismissed", "promoted") if all else ("open",)
    listing = candidates.list_candidates(platform, viewer=person, include=include, weeks=weeks, page=page_number)
    data = listing.to_json()  # the page draws each candidate's score bar and owners beside its JSON form
    for c in data["candidates"]:
        c["bar"] = score_bar(c["reasons"], c["threshold"])
        c["owners"] = _owners_or_none(platform, person, c["dataset"]) if c["status"] == "open" else None
    data["message"] = request.query_params.get("done")
    return page(request, "candidates.html", data, person=person, title=i18n.Text("Candidates"), nav="candidates")


def _owners_or_none(platform: Platform, person: Person, dataset: str) -> dict[str, Any] | None:
    try:
        found = owners.suggest(platform, dataset, viewer=person)
    except ThresholdError:
        return None
    shown = found.to_json()  # the candidates page's twin sends it with the first five and the viewer's own
    shown["suggestions"] = shown["suggestions"][:5]
    shown["mine"] = next((s for s in shown["suggestions"] if s["user"] == person.name), None)
    return shown


def score_bar(reasons: list[dict[str, Any]], threshold: float, width: int = 300) -> dict[str, Any]:
    """A stacked bar of the points each signal earned, with the threshold marked."""
    x, parts = 0.0, []
    for r in reasons:
        if r["points"] <= 0:
            continue
        w = width * r["points"] / 100
        parts.append(
            {
                "x": round(x, 1),
                "width": round(w, 1),
                "opacity": SIGNAL_SHADES.get(r["signal"], 0.5),
                "title": f"{r['signal']}: {r['points']:g} of {r['weight']:g} points — {r['text']}",
            }
        )
        x += w
    return {
        "width": width,
        "height": 16,
        "parts": parts,
        "threshold_x": round(width * threshold / 100, 1),
        "fill": ACCENT,
    }


# --- Products: /products, /products/{dataset} -------------------------------------------------------


@router.get("/products")
@router.get("/products.json")
def products_page(request: Request, person: SignedIn) -> Response:
    data = {"products": [p.to_json() for p in lifecycle.list_products(_platform(request), viewer=person)]}
    return page(request, "products.html", data, person=person, title=i18n.Text("Data products"), nav="products")


@router.get("/products/{dataset}/contract.yaml")
def contract_yaml(request: Request, person: KnowsDataset, dataset: str) -> Response:
    text = contracts.export(_platform(request), dataset, viewer=person)
    filename = f"{dataset.replace('.', '_')}_contract.yaml"
    return PlainTextResponse(
        text, media_type="application/yaml", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get("/products/{dataset}")
def product_page(request: Request, person: Annotated[Person, Requires("product.know")], dataset: str) -> Response:
    platform = _platform(request)
    data = lifecycle.product_view(platform, _name(dataset), viewer=person).to_json()  # with the page's extras
    data["message"] = request.query_params.get("done")
    usage = consumption.dataset_consumers(platform, data["dataset"], viewer=person).to_json()
    data["usage"] = {k: usage[k] for k in ("queries", "people", "people_outside", "domains", "purposes", "last_used")}
    return page(request, "products_product.html", data, person=person, title=data["dataset"], nav="products")


# --- Actions (forms) --------------------------------------------------------------------------------


def _back(request: Request, person: Person, path: str, text: i18n.Text, anchor: str = "") -> RedirectResponse:
    """Back to the page with what was done, in the person's language."""
    message = text.into(language(request, person))
    return RedirectResponse(f"{path}?done={quote(message[:300])}" + (f"#{anchor}" if anchor else ""), status_code=303)


Text = Annotated[str, Form(max_length=5000)]
Name = Annotated[str, Form(max_length=127)]
Csrf = Annotated[str, Form(max_length=200)]


@router.post("/candidates/nominate")
def nominate_form(
    request: Request,
    person: Annotated[Person, Requires("dataset.know")],
    dataset: Name,
    reason: Text = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    r = candidates.nominate(_platform(request), person, dataset, reason=reason)
    return _back(
        request,
        person,
        "/candidates",
        i18n.Text("You nominated %(dataset)s; its domain's owners will review it.", {"dataset": r.dataset}),
        r.dataset,
    )


@router.post("/candidates/dismiss")
def dismiss_form(request: Request, person: Promotes, dataset: Name, reason: Text = "", csrf: Csrf = "") -> Response:
    check_csrf(request, csrf)
    r = candidates.dismiss(_platform(request), person, dataset, reason=reason)
    return _back(
        request,
        person,
        "/candidates",
        i18n.Text("%(dataset)s dismissed: %(reason)s", {"dataset": r.dataset, "reason": r.reason}),
    )


@router.post("/owners/propose")
def propose_form(
    request: Request,
    person: Annotated[Person, Requires("product.propose_owner")],
    dataset: Name,
    to: Annotated[str, Form(max_length=63)] = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    r = owners.propose(_platform(request), person, dataset, to=to.strip() or None)
    return _back(
        request,
        person,
        "/candidates",
        i18n.Text("Ownership of %(dataset)s proposed to %(to)s.", {"dataset": r.dataset, "to": r.proposed_to}),
        r.dataset,
    )


@router.post("/owners/accept")
def accept_form(
    request: Request,
    person: Annotated[Person, Requires("dataset.know")],
    dataset: Name,
    reason: Text = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    r = owners.accept(_platform(request), person, dataset, reason=reason)
    return _back(
        request,
        person,
        "/candidates",
        i18n.Text("You accepted ownership of %(dataset)s.", {"dataset": r.dataset}),
        r.dataset,
    )


@router.post("/owners/decline")
def decline_form(
    request: Request,
    person: Annotated[Person, Requires("dataset.know")],
    dataset: Name,
    reason: Text = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    r = owners.decline(_platform(request), person, dataset, reason=reason)
    text = (
        i18n.Text(
            "You declined ownership of %(dataset)s. It was proposed to %(to)s next.",
            {"dataset": r.dataset, "to": r.next.proposed_to},
        )
        if r.next
        else i18n.Text("You declined ownership of %(dataset)s.", {"dataset": r.dataset})
    )
    return _back(request, person, "/candidates", text, r.dataset)


@router.post("/products/promote")
def promote_form(
    request: Request,
    person: Promotes,
    dataset: Name,
    owner: Annotated[str, Form(max_length=63)] = "",
    description: Text = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    r = lifecycle.promote(
        _platform(request), person, dataset, owner=owner.strip() or None, description=description.strip() or None
    )
    return _back(
        request,
        person,
        f"/products/{r.dataset}",
        i18n.Text("%(dataset)s is a data product now, owned by %(owner)s.", {"dataset": r.dataset, "owner": r.owner}),
    )


@router.post("/products/deprecate")
def deprecate_form(
    request: Request, person: Manages, dataset: Name, replacement: Name = "", reason: Text = "", csrf: Csrf = ""
) -> Response:
    check_csrf(request, csrf)
    r = lifecycle.deprecate(_platform(request), person, dataset, replacement=replacement.strip() or None, reason=reason)
    return _back(
        request,
        person,
        f"/products/{r.dataset}",
        i18n.Text(
            "Deprecated; %(people)s people who used it were told.", {"people": r.notified.people if r.notified else 0}
        ),
    )


@router.post("/products/retire")
def retire_form(request: Request, person: Manages, dataset: Name, reason: Text = "", csrf: Csrf = "") -> Response:
    check_csrf(request, csrf)
    r = lifecycle.retire(_platform(request), person, dataset, reason=reason)
    return _back(request, person, f"/products/{r.dataset}", i18n.Text("Retired: no longer served outside its domain."))


@router.post("/products/check")
def check_form(request: Request, person: Manages, dataset: Name, csrf: Csrf = "") -> Response:
    check_csrf(request, csrf)
    r = contracts.recheck(_platform(request), person, dataset)
    return _back(
        request,
        person,
        f"/products/{r.dataset}",
        i18n.Text("Contract %(version)s checked: %(status)s.", {"version": r.version, "status": r.status}),
    )
