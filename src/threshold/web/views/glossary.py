"""The glossary's pages (`/glossary`, `/glossary/<term>`, each with its `.json` twin): terms in force, the
review queue with the change word by word, the propose and review forms. The glossary service decides
who may see and do what (docs/glossary.md); the pages only render and translate forms."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from threshold.glossary import service
from threshold.interface.permissions import SignedIn
from threshold.web import i18n
from threshold.web.session import check_csrf
from threshold.web.templating import page

router = APIRouter()


@router.get("/glossary")
@router.get("/glossary.json")
def glossary_page(
    request: Request,
    person: SignedIn,
    q: Annotated[str, Query(max_length=200)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    platform = request.app.state.platform
    found = service.listing(platform, person, search=q or None, status=status or None)
    queue = service.listing(platform, person, status="in_review")
    data = asdict(found) | {"q": q, "status": status, "queue": asdict(queue)["terms"]}
    return page(request, "glossary.html", data, person=person, title=i18n.Text("Glossary"), nav="glossary")


@router.post("/glossary")
def propose(
    request: Request,
    person: SignedIn,
    term: Annotated[str, Form(min_length=1, max_length=service.MAX_TITLE)],
    definition: Annotated[str, Form(min_length=1, max_length=service.MAX_DEFINITION)],
    domain: Annotated[str, Form(max_length=100)] = "",
    synonyms: Annotated[str, Form(max_length=service.MAX_SYNONYMS * (service.MAX_SYNONYM + 2))] = "",
    note: Annotated[str, Form(max_length=service.MAX_NOTE)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The propose form (a new term, or an edit from a term's page): to review at once."""
    check_csrf(request, csrf)
    words = [w for w in synonyms.split(";") if w.strip()] if synonyms.strip() else None
    shown = service.propose(
        request.app.state.platform,
        person,
        term,
        definition=definition,
        domain=domain or None,
        synonyms=words,
        note=note,
    )
    return RedirectResponse(f"/glossary/{quote(shown.key, safe='')}", status_code=303)


@router.get("/glossary/{term}")
def term_page(request: Request, person: SignedIn, term: str) -> Response:
    """`/glossary/<term>` or its twin `/glossary/<term>.json`."""
    if term.endswith(".json"):
        term = term[: -len(".json")]
    shown = service.show(request.app.state.platform, person, term)
    return page(request, "glossary_term.html", asdict(shown), person=person, title=shown.title, nav="glossary")


@router.post("/glossary/{term}/review")
def review(
    request: Request,
    person: SignedIn,
    term: str,
    verdict: Annotated[str, Form(pattern="^(approve|reject)$")],
    note: Annotated[str, Form(max_length=service.MAX_NOTE)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(request, csrf)
    shown = service.review(request.app.state.platform, person, term, approve=verdict == "approve", note=note)
    return RedirectResponse(f"/glossary/{quote(shown.key, safe='')}", status_code=303)
