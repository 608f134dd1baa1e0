"""The ASGI app: REST API under /api/v1, web pages at /, one error mapping for both."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.middleware.sessions import SessionMiddleware

from threshold.api.route_table import CAPABILITY_ROUTERS, docs, route_table
from threshold.errors import ThresholdError
from threshold.interface.bodies import BodyLimit
from threshold.interface.errors import error_body, error_headers
from threshold.interface.permissions import enforce
from threshold.interface.unrouted import Unrouted
from threshold.platform import Platform

__all__ = ["CAPABILITY_ROUTERS", "create_app", "docs"]


@asynccontextmanager
async def _serving(app: FastAPI) -> AsyncIterator[None]:
    """While the app is served: the jobs scheduler runs (unless `THRESHOLD_JOBS__SCHEDULER` is off), and
    the heap built at start-up (modules, settings, the app) is frozen, so Python's full garbage
    collections skip those ~200k long-lived objects (without it a full collection costs ~100 ms and
    lands in one request in five of the lineage graph views, BENCHMARKS.md)."""
    from threshold.jobs.scheduler import Scheduler

    gc.collect()
    gc.freeze()
    platform: Platform = app.state.platform
    scheduler = Scheduler(platform).start() if platform.settings.jobs.scheduler else None
    try:
        yield
    finally:
        if scheduler is not None:
            scheduler.stop()
        platform.limits.refusals.flush()  # busy refusals counted in memory are written before the server stops
        gc.unfreeze()  # an app served and stopped inside a longer process (tests) leaves nothing pinned


def create_app(platform: Platform) -> FastAPI:
    app = FastAPI(
        lifespan=_serving,
        title="Threshold",
        version="0.1.0",
        description="Share data into one governed lake, query it through one gateway, see who used what.",
        dependencies=[Depends(enforce)],  # refuses a route that declares no permission (interface/permissions.py)
        openapi_url=None,  # the documentation routes are ours (`docs`), declared like every other route
        docs_url=None,
        redoc_url=None,
    )
    app.state.platform = platform
    # Innermost: a path no route matches is answered 404 without the router's scan of every route.
    app.add_middleware(Unrouted, routes_of=app)
    # Inside the session middleware (added after it), so a refused upload still gets a signed-in error page.
    app.add_middleware(BodyLimit, routes_of=app, settings=platform.settings.limits)
    app.add_middleware(
        SessionMiddleware,
        secret_key=platform.settings.session_secret(),
        session_cookie="threshold_session",
        same_site="lax",
        https_only=platform.settings.environment == "production",
        max_age=12 * 3600,
    )

    @app.exception_handler(ThresholdError)
    async def _threshold_error(request: Request, exc: ThresholdError) -> Response:
        if not request.scope["path"].startswith("/api/") and hasattr(app.state, "render_error"):
            return app.state.render_error(request, exc)  # type: ignore[no-any-return]
        return JSONResponse(error_body(exc), status_code=exc.status, headers=error_headers(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return JSONResponse({"detail": f"{where}: {first.get('msg', 'invalid input')}"}, status_code=422)

    # The routes are the process's shared table (route_table.py): built by the first app, reused by the
    # next ones; this app's own list, so a route added to it stays its own.
    table = route_table()
    app.router.routes.extend(table.routes)
    from threshold.web.routes import install as install_web

    install_web(app)  # how this app's pages show errors
    app.state.route_rules = dict(table.rules)
    return app
