"""The web UI: `page_routers()` and `static_files()` are its routes (added to every app by
`threshold.api.route_table`), `install(app)` the way an app's pages show errors.

Pages live in `views/` (one module per area), templates in `templates/`, CSS and JS in `static/`.
Every page has a JSON twin at the same path plus `.json` (`/index.json` for the home page).
"""

from __future__ import annotations

import inspect
from types import ModuleType

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Mount

from threshold.errors import ThresholdError, Unauthenticated
from threshold.interface.deps import session_person
from threshold.interface.errors import error_headers
from threshold.web import i18n
from threshold.web.session import login_url
from threshold.web.templating import STATIC, page, wants_json
from threshold.web.views import activity, auth, browse, governance, jobs, policy_forms, query, share
from threshold.web.views import lineage as lineage_views
from threshold.web.views import quality as quality_views

_HTTP_TITLES = {
    404: i18n.N_("Not found"),
    405: i18n.N_("Not allowed here"),
    403: i18n.N_("Not allowed"),
    413: i18n.N_("Too large"),
}


def page_routers() -> list[APIRouter]:
    """The routers of the pages, in the order the app tries them (what `threshold.api.route_table` adds)."""
    from threshold.web.views import (  # explore without SQL, insights and boards
        compliance,  # the collection register
        erasure,  # erasure and subject access, for the governance group
        explore,
        glossary,  # the shared vocabulary and its review
        health,  # the doctor's report, for admins
        insights,
        literacy,  # learning by doing, my data use, a team's totals
        maturity,  # the maturity model and its target picture
        products,  # consumption, producers, candidates, products
        sources,  # databases as sources: connections and syncs
    )

    modules: tuple[ModuleType, ...] = (auth, browse, share, query, activity, governance, policy_forms, jobs)
    modules += (products, lineage_views, quality_views, explore, insights, glossary, erasure, literacy)
    modules += (compliance, maturity, sources, health)
    return [module.router for module in modules]


def static_files() -> Mount:
    """The static files (CSS, JS) under /static."""
    return Mount("/static", app=StaticFiles(directory=STATIC), name="static")


def install(app: FastAPI) -> None:
    """What belongs to one app: the way its pages show errors (the routes come from the shared route table)."""
    app.state.render_error = render_error
    api_validation_error = app.exception_handlers.get(RequestValidationError)

    @app.exception_handler(RequestValidationError)
    async def _invalid_input(request: Request, exc: RequestValidationError) -> Response:
        """Bad query or form values: the API keeps its JSON answer, a page shows the first problem."""
        if request.url.path.startswith("/api/") and api_validation_error is not None:
            answer = api_validation_error(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        first = exc.errors()[0] if exc.errors() else {}
        where = " ".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
        return _error_page(request, 422, f"{where}: {first.get('msg', 'invalid input')}", "InvalidInput")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith(("/api/", "/static/", "/docs", "/openapi")):
            return await http_exception_handler(request, exc)
        message = exc.detail if isinstance(exc.detail, str) else _HTTP_TITLES.get(exc.status_code, i18n.N_("Error"))
        return _error_page(request, exc.status_code, message, _HTTP_TITLES.get(exc.status_code, i18n.N_("Error")))


def render_error(request: Request, exc: ThresholdError) -> Response:
    """A ThresholdError on a page: sign-in redirect for 401, else its one-line message and status."""
    if isinstance(exc, Unauthenticated) and not wants_json(request):
        return RedirectResponse(login_url(request), status_code=303)
    response = _error_page(
        request,
        exc.status,
        str(exc),
        type(exc).__name__,
        suggestions=exc.suggestions,
        request_access=exc.request_access,
    )
    response.headers.update(error_headers(exc))
    return response


def _error_page(
    request: Request,
    status: int,
    message: str,
    kind: str,
    *,
    suggestions: tuple[str, ...] = (),
    request_access: str | None = None,
) -> Response:
    if wants_json(request):
        body: dict[str, object] = {"detail": message, "error": kind}
        if suggestions:
            body["suggestions"] = list(suggestions)
        if request_access:
            body["request_access"] = {"dataset": request_access}
        return JSONResponse(body, status_code=status)
    titles = {
        "NotFound": i18n.N_("Not found"),
        "Denied": i18n.N_("Not allowed"),
        "InvalidInput": i18n.N_("Cannot do that"),
        "Conflict": i18n.N_("Conflict"),
        "TransientError": i18n.N_("Try again"),
        "Busy": i18n.N_("Too busy: try again shortly"),
        "LimitExceeded": i18n.N_("Stopped by a limit"),
        "TooLarge": i18n.N_("Too large"),
    }
    data = {
        "status": status,
        "message": message,
        "error": kind,
        "kind": kind,
        "suggestions": list(suggestions),
        "request_access": request_access,
    }
    person = session_person(request)
    return page(request, "error.html", data, person=person, status=status, title=i18n.Text(titles.get(kind, kind)))
