"""The web UI: `install(app)` adds the pages, the static files and the way pages show errors.

Pages live in `views/` (one module per area), templates in `templates/`, CSS and JS in `static/`.
Every page has a JSON twin at the same path plus `.json` (`/index.json` for the home page).
"""

from __future__ import annotations

import inspect

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (auth, browse, share, query, activity, governance, policy_forms, jobs):
        app.include_router(module.router, include_in_schema=False)
    from threshold.web.views import products  # consumption, producers, candidates, products

    app.include_router(products.router, include_in_schema=False)
    app.include_router(lineage_views.router, include_in_schema=False)
    app.include_router(quality_views.router, include_in_schema=False)
    from threshold.web.views import explore, insights  # explore without SQL, insights and boards

    app.include_router(explore.router, include_in_schema=False)
    app.include_router(insights.router, include_in_schema=False)
    from threshold.web.views import glossary  # the shared vocabulary and its review

    app.include_router(glossary.router, include_in_schema=False)
    from threshold.web.views import erasure  # erasure and subject access, for the governance group

    app.include_router(erasure.router, include_in_schema=False)
    from threshold.web.views import literacy  # learning by doing, my data use, a team's totals

    app.include_router(literacy.router, include_in_schema=False)
    from threshold.web.views import compliance  # the collection register

    app.include_router(compliance.router, include_in_schema=False)
    from threshold.web.views import maturity  # the maturity model and its target picture

    app.include_router(maturity.router, include_in_schema=False)
    from threshold.web.views import sources  # databases as sources: connections and syncs

    app.include_router(sources.router, include_in_schema=False)
    from threshold.web.views import health  # the doctor's report, for admins

    app.include_router(health.router, include_in_schema=False)
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
